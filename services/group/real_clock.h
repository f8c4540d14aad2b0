// The production Clock: absl::Now() and a timer thread.
#ifndef INFRAKIT_SERVICES_GROUP_REAL_CLOCK_H_
#define INFRAKIT_SERVICES_GROUP_REAL_CLOCK_H_

#include <functional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/group/clock.h"

namespace infrakit::services::group {

// Wall-clock time; timers fire on one thread owned by the clock, in deadline order. The thread
// starts with the first Schedule (a service that never sets a timer, e.g. a group service with
// no group, does not keep an idle thread's stack and TLS resident). The destructor stops it
// (timers not yet fired never fire).
class RealClock : public Clock {
 public:
  RealClock();
  ~RealClock() override;

  RealClock(const RealClock&) = delete;
  RealClock& operator=(const RealClock&) = delete;

  absl::Time Now() override;
  TimerId Schedule(absl::Time when, std::function<void()> fn) override;
  void Cancel(TimerId id) override;

 private:
  void Loop();

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Pending timers by (deadline, ID), and each timer's deadline by ID for Cancel.
  absl::btree_map<std::pair<absl::Time, TimerId>, std::function<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TimerId, absl::Time> deadlines_ ABSL_GUARDED_BY(mu_);
  // Not joinable until the first Schedule.
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_REAL_CLOCK_H_
