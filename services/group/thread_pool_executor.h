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

// Runs posted tasks on up to `threads` threads, in posting order. The number of threads bounds
// the number of plugin calls under way at once. Threads start when a task finds none free and
// then stay: a group service that has nothing to do has none (each costs ~40 KiB resident;
// docs/benchmarks.md). The destructor waits for running tasks to finish and drops queued ones
// (the controller's tasks tolerate that; see controller.h).
class ThreadPoolExecutor : public Executor {
 public:
  explicit ThreadPoolExecutor(int threads);
  ~ThreadPoolExecutor() override;

  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  void Post(std::function<void()> task) override;

 private:
  void Loop();
  // Starts a thread when a queued task finds none free and the bound allows one more.
  void StartThreadIfNeededLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_threads_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  // Threads waiting for a task.
  int idle_threads_ ABSL_GUARDED_BY(mu_) = 0;
  // Every thread started; only added to (under mu_) before stopping_, joined by the destructor.
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_THREAD_POOL_EXECUTOR_H_
