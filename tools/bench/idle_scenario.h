// The benchmark's `idle` scenario: what every plugin binary costs in memory doing nothing, each
// running alone in a fresh plugins directory.
#ifndef INFRAKIT_TOOLS_BENCH_IDLE_SCENARIO_H_
#define INFRAKIT_TOOLS_BENCH_IDLE_SCENARIO_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/bench/report.h"
#include "tools/bench/stack.h"

namespace infrakit::tools::bench {

// Target rows of the scenario (section "idle").
inline constexpr char kIdleSection[] = "idle";
inline constexpr double kIdleRssLimitMiB = 10;

// The plugins measured, by name: the group service and every bundled plugin that starts
// without an outside system (all but instance-vagrant and instance-terraform).
std::vector<std::string> IdlePluginNames();

// The metric of the idle RSS row of the plugin `name` (e.g. "flavor-vanilla").
std::string IdleRssMetric(const std::string& name);

// For each plugin of IdlePluginNames(), `runs` times: starts it alone in a fresh plugins
// directory, waits until it answers Info, lets it settle a second and reads its VmRSS (and
// RssAnon, PSS, threads), then stops it. One row per plugin: the median VmRSS, the runs' range
// in the note.
absl::Status RunIdle(const Binaries& binaries, int runs, Report* report);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_IDLE_SCENARIO_H_
