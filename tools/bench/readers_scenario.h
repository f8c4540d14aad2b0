// The benchmark's `readers` scenario: read latency under load. A group of --large_size members
// converges from empty while N concurrent clients (each on connections of its own) call
// ListGroups and InspectGroup on the group service and Describe on instance-file, one after
// another; the same convergence without readers is the baseline.
#ifndef INFRAKIT_TOOLS_BENCH_READERS_SCENARIO_H_
#define INFRAKIT_TOOLS_BENCH_READERS_SCENARIO_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tools/bench/report.h"
#include "tools/bench/stack.h"

namespace infrakit::tools::bench {

struct ReadersOptions {
  // The group's size.
  int size = 10000;
  // The counts of readers measured, and how many runs of each measurement.
  std::vector<int> reader_counts = {50, 100};
  int runs = 3;
  // Each reader's pause between two calls, and each call's deadline.
  absl::Duration pause = absl::Milliseconds(100);
  absl::Duration deadline = absl::Seconds(5);
  StackOptions stack;
};

inline constexpr char kReadersSection[] = "readers";
// The targets' rows, for `readers` readers.
std::string ReaderP99Metric(int readers, const std::string& rpc);
std::string ReaderErrorsMetric(int readers);
std::string ReaderSlowdownMetric(int readers);
// p99 of each RPC <= this; slowdown of the convergence <= this.
inline constexpr double kReaderP99LimitMs = 100;
inline constexpr double kReaderSlowdownLimit = 2;

// For each of options.runs runs: the convergence of options.size members from empty without
// readers, then with each count of options.reader_counts readers, each on a fresh stack. Adds per
// count: p50 / p95 / p99 / max of each RPC over every run, errors by status code and
// DEADLINE_EXCEEDED, the median convergence with and without readers and their ratio (the
// slowdown), each with the load average when the measurement started.
absl::Status RunReaders(const Binaries& binaries, const ReadersOptions& options, Report* report);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_READERS_SCENARIO_H_
