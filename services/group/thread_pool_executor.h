// The production Executor: a fixed number of threads over a queue.
#ifndef INFRAKIT_SERVICES_GROUP_THREAD_POOL_EXECUTOR_H_
#define INFRAKIT_SERVICES_GROUP_THREAD_POOL_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/group/executor.h"

namespace infrakit::services::group {

// Runs posted tasks on `threads` threads, in posting order. The number of threads bounds the
// number of plugin calls under way at once. The destructor waits for running tasks to finish
// and drops queued ones (the controller's tasks tolerate that; see controller.h).
class ThreadPoolExecutor : public Executor {
 public:
  explicit ThreadPoolExecutor(int threads);
  ~ThreadPoolExecutor() override;

  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  void Post(std::function<void()> task) override;

 private:
  void Loop();

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_THREAD_POOL_EXECUTOR_H_
