#include "tests/testing/wait_for.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace infrakit::testing {

bool WaitFor(const std::function<bool()>& condition, absl::Duration deadline,
             absl::Duration pause) {
  const absl::Time end = absl::Now() + deadline;
  while (true) {
    if (condition()) return true;
    absl::Time now = absl::Now();
    if (now >= end) return false;
    absl::SleepFor(std::min(pause, end - now));
  }
}

}  // namespace infrakit::testing
