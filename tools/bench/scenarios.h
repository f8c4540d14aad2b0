// The benchmark's measurements: each scenario starts its own Stack, measures, and
// adds its rows to the Report.
#ifndef INFRAKIT_TOOLS_BENCH_SCENARIOS_H_
#define INFRAKIT_TOOLS_BENCH_SCENARIOS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tools/bench/report.h"
#include "tools/bench/stack.h"

namespace infrakit::tools::bench {

struct BenchOptions {
  // Heal: a group of `heal_size`, `heal_removals` removals one after another.
  int heal_size = 100;
  int heal_removals = 120;
  // The process scenario: kill -9s of an instance's process, one after another.
  int process_kills = 20;
  // The tutorial's 5 -> 3 update, repeated on fresh groups.
  int tutorial_runs = 5;
  // The medium and large groups.
  int medium_size = 1000;
  int large_size = 10000;
  // Timed unary calls per RPC figure (after a tenth as many untimed warm-up calls).
  int rpc_calls = 5000;
  // Describe calls per Describe figure (the median is reported).
  int describe_calls = 10;
  // `infrakitctl group inspect` runs (the median is reported).
  int cli_runs = 7;
  // Idle footprint: each binary started this many times (the median is reported).
  int idle_runs = 3;
  // Footprint: the idle window measured, after a settling pause once the group converged.
  absl::Duration idle_window = absl::Seconds(10);
  absl::Duration settle = absl::Seconds(2);
  // The ha scenario: failovers timed, the group services' lease TTL, fenced writes timed.
  int ha_runs = 5;
  absl::Duration ha_lease_ttl = absl::Seconds(3);
  int fenced_writes = 1000;
  // The readers scenario: its runs, and per run the convergence of large_size members
  // without readers and then with each count of readers.
  std::vector<int> reader_counts = {50, 100};
  int reader_runs = 3;
  // Each reader's pause between two calls, and each call's deadline.
  absl::Duration reader_pause = absl::Milliseconds(100);
  absl::Duration reader_deadline = absl::Seconds(5);
  // For each process of each scenario.
  StackOptions stack;
};

// A row with a target that a scenario promises. When the scenario fails before measuring it,
// the row is added as a failure (MISS) so that the table always shows every target.
struct Target {
  std::string section;
  std::string metric;
  std::string unit;
  double limit;
  bool at_least = false;
};

// One scenario: a name (selectable with --only), the targets it measures, and the run.
struct Scenario {
  std::string name;
  std::string description;
  std::vector<Target> targets;
  absl::Status (*run)(const Binaries&, const BenchOptions&, Report*);
  // Runs only when named in --only (not in the default run of every scenario).
  bool only_when_named = false;
};

// Every scenario, in the order they run: idle (every plugin's memory doing nothing), heal,
// tutorial, rpc (Info against a raw round trip),
// medium (converge 1,000, footprint, Describe, CLI, rolling update), large (converge 10,000,
// idle footprint, Describe, scale to 0); then zookeeper (a real 3-member ensemble: start, the
// leader's kill -9, a rolling update) and swarm (3 managers + 2 workers: formation, a worker's
// kill -9, a rolling update of the managers) and process (1,000 real processes under
// instance-process: convergence, a kill -9 to the replacement exec'd, every plugin's idle RSS),
// ha (three group services on a 3-member etcd: failover, the cost of a fenced write) and
// readers (ListGroups, InspectGroup and Describe by concurrent clients during the convergence
// of 10,000), which run only when named.
const std::vector<Scenario>& Scenarios();

// Runs `scenario` and, should it fail, adds its error and a MISS for each target it did not
// measure. Returns the scenario's status.
absl::Status RunScenario(const Scenario& scenario, const Binaries& binaries,
                         const BenchOptions& options, Report* report);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_SCENARIOS_H_
