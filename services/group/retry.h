// Exponential backoff of a failing kind of work (creations, destructions, listings, state
// writes): the one retry state every part of the group controller keeps per group.
//
// Attempts are counted per wave: calls started while `failures()` was N are one attempt, so a
// wave of parallel calls that all fail grows the backoff once, and a success ends the failures
// only when no failure came since its own call started.
//
// Threading: none; guarded by the controller's lock like the rest of the group's state.
#ifndef INFRAKIT_SERVICES_GROUP_RETRY_H_
#define INFRAKIT_SERVICES_GROUP_RETRY_H_

#include <algorithm>

#include "absl/time/time.h"

namespace infrakit::services::group {

// Doubles from `initial` up to `max`.
struct BackoffPolicy {
  absl::Duration initial = absl::Seconds(1);
  absl::Duration max = absl::Seconds(60);

  // The wait after `failures` failures in a row (>= 1).
  absl::Duration After(int failures) const {
    absl::Duration d = initial;
    for (int i = 1; i < failures && d < max; ++i) d *= 2;
    return std::min(d, max);
  }
};

class RetryState {
 public:
  // Failures in a row; the attempt number a call started now belongs to.
  int failures() const { return failures_; }
  // Before this moment, new attempts wait (InfinitePast when not failing).
  absl::Time retry_at() const { return retry_at_; }
  bool Waiting(absl::Time now) const { return now < retry_at_; }

  // A call of attempt `attempt` failed. When no call of the same wave failed before (this is
  // news), counts the failure, sets the next try at `now` + the backoff and returns true; else
  // returns false (the wave's failure is counted already).
  bool Fail(int attempt, absl::Time now, const BackoffPolicy& policy) {
    if (failures_ > attempt) return false;
    ++failures_;
    retry_at_ = now + policy.After(failures_);
    return true;
  }

  // A call of attempt `attempt` succeeded: ends the failures (and their wait) unless one came
  // since that call started. Returns whether it did (false: a newer failure stands).
  bool Succeed(int attempt) {
    if (failures_ > attempt) return false;
    Reset();
    return true;
  }

  void Reset() {
    failures_ = 0;
    retry_at_ = absl::InfinitePast();
  }

 private:
  int failures_ = 0;
  absl::Time retry_at_ = absl::InfinitePast();
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_RETRY_H_
