// Where the group controller runs its work (plugin calls, reconciles, state writes), injected so
// that tests run queued work step by step.
#ifndef INFRAKIT_SERVICES_GROUP_EXECUTOR_H_
#define INFRAKIT_SERVICES_GROUP_EXECUTOR_H_

#include <functional>

namespace infrakit::services::group {

class Executor {
 public:
  virtual ~Executor() = default;

  // Runs `task` later on a thread of the executor; never inline, since the caller may hold a
  // lock. Tasks may block (plugin calls). Thread-safe.
  virtual void Post(std::function<void()> task) = 0;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_EXECUTOR_H_
