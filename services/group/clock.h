// Time for the group controller: the current time and one-shot timers, injected so that tests
// drive time by hand.
#ifndef INFRAKIT_SERVICES_GROUP_CLOCK_H_
#define INFRAKIT_SERVICES_GROUP_CLOCK_H_

#include <cstdint>
#include <functional>

#include "absl/time/time.h"

namespace infrakit::services::group {

// Identifies a timer of a Clock; 0 is never a valid timer.
using TimerId = uint64_t;

// Threading: all methods are thread-safe and never block for long, so they may be called while
// holding a lock (a Clock never calls back into its caller from inside these methods).
class Clock {
 public:
  virtual ~Clock() = default;

  // The current time.
  virtual absl::Time Now() = 0;

  // Calls `fn` once, at or after `when`, on a thread of the clock (never from inside Schedule).
  // `fn` must be quick and must not block: it posts work elsewhere. Returns the timer's ID.
  virtual TimerId Schedule(absl::Time when, std::function<void()> fn) = 0;

  // Cancels a timer. Once Cancel returns, `fn` will not be started (it may be running right now;
  // Cancel never waits for it). Unknown or already fired IDs are ignored.
  virtual void Cancel(TimerId id) = 0;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_CLOCK_H_
