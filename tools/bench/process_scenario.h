// The benchmark's `process` scenario: real processes under infrakit-instance-process (1,000
// `sleep`s in a cattle group). Runs only when named (--only=process).
#ifndef INFRAKIT_TOOLS_BENCH_PROCESS_SCENARIO_H_
#define INFRAKIT_TOOLS_BENCH_PROCESS_SCENARIO_H_

#include <string>

#include "absl/status/status.h"
#include "tools/bench/report.h"
#include "tools/bench/stack.h"

namespace infrakit::tools::bench {

// Target rows of the scenario (section "process").
inline constexpr char kProcessSection[] = "process";
inline constexpr char kConvergeProcesses[] =
    "converge 1,000 processes: watch -> 1,000 members (converged)";
inline constexpr char kKillReplaceP50[] = "kill -9 -> replacement exec'd p50";

// Times `group watch` of a cattle group of 1,000 (`exec sleep 3600` under instance-process,
// flavor-vanilla) until the group lists 1,000 members and until instance-process describes 1,000
// RUNNING; then, `kills` times, SIGKILL of one instance's process until its replacement's
// process has exec'd `sleep` (p50 / p99); destroys the group and counts the processes left.
// The group service's state directory goes under `state_root` unless it is empty.
absl::Status RunProcess(const Binaries& binaries, int kills, const std::string& state_root,
                        Report* report);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_PROCESS_SCENARIO_H_
