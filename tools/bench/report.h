// The benchmark's results: rows of figures with their targets, printed as a table and written
// as JSON.
#ifndef INFRAKIT_TOOLS_BENCH_REPORT_H_
#define INFRAKIT_TOOLS_BENCH_REPORT_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tools/bench/machine.h"

namespace infrakit::tools::bench {

// One figure.
struct Row {
  // What was measured, e.g. "heal" / "p50 (120 removals)".
  std::string section;
  std::string metric;
  // The value, in `unit`; nullopt when the measurement failed (`note` says why).
  std::optional<double> value;
  // "ms", "s", "MiB", "% core", "x", "instances", "us", ...
  std::string unit;
  // The target: value <= limit (or >= when `at_least`). Rows without a target are information.
  std::optional<double> limit;
  bool at_least = false;
  // Anything worth knowing about the figure (an error, a caveat).
  std::string note;
  // With repeated runs (MergeRuns): each run's value, in run order (a run that could not measure
  // it is left out); `value` is then their median.
  std::vector<double> runs;

  // PASS / MISS for a row with a target; "-" otherwise. A failed measurement MISSes.
  std::string Verdict() const;
};

// Collects rows in order. Thread-compatible.
class Report {
 public:
  // The command line and the machine, stated with the numbers; `load_*` are the 1-minute load
  // averages when the run started and ended.
  void SetContext(std::string command, MachineInfo machine);
  void SetEndLoad(double load1) { end_load1_ = load1; }
  // A line about the run's setup, printed under the machine (e.g. where instance files live).
  void AddContext(std::string line) { context_.push_back(std::move(line)); }

  void Add(Row row);
  // Shorthands: a duration shown in `unit` ("us", "ms" or "s").
  void AddDuration(std::string section, std::string metric, absl::Duration value, std::string unit,
                   std::optional<absl::Duration> limit = std::nullopt, std::string note = "");
  // A failed measurement of a row that has a target (MISS) or not.
  void AddFailure(std::string section, std::string metric, std::string unit,
                  std::optional<double> limit, const absl::Status& error);

  const std::vector<Row>& rows() const { return rows_; }
  const MachineInfo& machine() const { return machine_; }
  double end_load1() const { return end_load1_; }
  const std::vector<std::string>& context() const { return context_; }
  // Rows with a target, and how many of them pass.
  int targets() const;
  int passed() const;

  // Aligned text: the machine, then one line per row (section, metric, value, target, verdict,
  // note), then "targets: P of T passed".
  std::string Table() const;
  // {"command", "machine": {...}, "context": [...], "rows": [{"section", "metric", "value",
  // "unit", "limit", "comparison", "verdict", "note"}], "targets", "passed"}, pretty-printed.
  std::string Json() const;

 private:
  friend Report MergeRuns(const std::vector<Report>& runs);

  std::string command_;
  MachineInfo machine_;
  double end_load1_ = -1;
  std::vector<std::string> context_;
  std::vector<Row> rows_;
};

// Several runs of the same scenarios as one report: a row per (section, metric) in the order
// they first appear, its value the median of the runs that measured it (the upper one of an even
// count), `runs` every value, and the spread (min-max over n runs) ahead of the first run's
// note; a row no run measured stays failed. The context is the first run's, plus one line per
// run with its load at start and end. Empty `runs`: an empty report. Thread-compatible (pure).
Report MergeRuns(const std::vector<Report>& runs);

// The value of `d` in `unit` ("ns", "us", "ms", "s"). Thread-compatible (pure).
double InUnit(absl::Duration d, const std::string& unit);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_REPORT_H_
