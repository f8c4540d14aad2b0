// Waiting on a condition with a deadline: the only way tests wait (never sleep-and-hope).
#ifndef INFRAKIT_TESTS_TESTING_WAIT_FOR_H_
#define INFRAKIT_TESTS_TESTING_WAIT_FOR_H_

#include <functional>

#include "absl/time/time.h"

namespace infrakit::testing {

// Default pause between two evaluations of a condition.
inline constexpr absl::Duration kDefaultPollPause = absl::Milliseconds(5);

// Evaluates `condition` until it returns true (returns true) or `deadline` has passed since the
// call (returns false). `condition` is evaluated once more at the deadline, so a condition that
// becomes true at the last moment still counts. Pauses `pause` between evaluations. Runs
// `condition` on the calling thread.
bool WaitFor(const std::function<bool()>& condition, absl::Duration deadline,
             absl::Duration pause = kDefaultPollPause);

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_TESTING_WAIT_FOR_H_
