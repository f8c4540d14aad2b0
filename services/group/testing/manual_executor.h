// An Executor for deterministic tests: tasks run only when the test runs them.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_MANUAL_EXECUTOR_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_MANUAL_EXECUTOR_H_

#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/group/executor.h"

namespace infrakit::services::group::testing {

// Queues posted tasks; RunOne / RunAll run them on the calling thread in posting order.
class ManualExecutor : public Executor {
 public:
  ~ManualExecutor() override;

  void Post(std::function<void()> task) override;

  // Runs the oldest queued task. False when none is queued.
  bool RunOne();

  // Runs tasks (including the ones they post) until none is queued, calling `after_each`
  // after every task. Returns how many ran. Stops (returning -1) after `limit` tasks, which
  // only a livelock can reach.
  int RunAll(const std::function<void()>& after_each = nullptr, int limit = 1000000);

  // Tasks queued.
  int pending();

  // Drops every queued task without running it.
  void Clear();

 private:
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_MANUAL_EXECUTOR_H_
