// A Clock for deterministic tests: time moves only when the test says so.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_FAKE_CLOCK_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_FAKE_CLOCK_H_

#include <functional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/group/clock.h"

namespace infrakit::services::group::testing {

// Starts at a fixed instant. Advance() moves time forward, firing due timers in deadline order
// on the calling thread (with the clock's time set to each timer's deadline as it fires).
class FakeClock : public Clock {
 public:
  FakeClock() = default;

  absl::Time Now() override;
  TimerId Schedule(absl::Time when, std::function<void()> fn) override;
  void Cancel(TimerId id) override;

  // Moves time forward by `d`, firing every timer due by then (including timers scheduled by
  // fired timers). Returns the number of timers fired.
  int Advance(absl::Duration d);

  // Moves time to the next pending timer's deadline and fires it (and every other timer due
  // then). False when no timer is pending.
  bool AdvanceToNextTimer();

  // Moves time forward by `d` at once, then fires every timer due by then, each seeing the
  // new time: a clock that jumps (a suspended machine resuming), unlike Advance. Returns the
  // number of timers fired.
  int Jump(absl::Duration d);

  // The deadline of the earliest pending timer, InfiniteFuture when none.
  absl::Time NextDeadline();

  // Timers pending.
  int pending();

 private:
  int FireDue();

  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1700000000);
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::btree_map<std::pair<absl::Time, TimerId>, std::function<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TimerId, absl::Time> deadlines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_FAKE_CLOCK_H_
