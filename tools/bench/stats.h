// Summaries of latency samples: percentiles the way the benchmark reports them.
#ifndef INFRAKIT_TOOLS_BENCH_STATS_H_
#define INFRAKIT_TOOLS_BENCH_STATS_H_

#include <vector>

#include "absl/time/time.h"

namespace infrakit::tools::bench {

// p50 / p95 / p99 / max / mean of a set of samples. All zero for an empty set.
struct Summary {
  int count = 0;
  absl::Duration min;
  absl::Duration p50;
  absl::Duration p95;
  absl::Duration p99;
  absl::Duration max;
  absl::Duration mean;
};

// The nearest-rank percentile `p` (0 < p <= 100) of `sorted` (ascending): the smallest sample
// such that at least p% of the samples are <= it. So p99 of 100 samples is the 99th smallest,
// not an interpolation, and never a value that was not measured. Zero for an empty vector.
// Thread-compatible (pure).
absl::Duration Percentile(const std::vector<absl::Duration>& sorted, double p);

// Sorts a copy of `samples` and summarises it. Thread-compatible (pure).
Summary Summarize(std::vector<absl::Duration> samples);

// The median of `samples` (nearest rank, as Percentile(.., 50)). Zero for an empty vector.
absl::Duration Median(std::vector<absl::Duration> samples);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_STATS_H_
