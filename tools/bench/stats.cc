#include "tools/bench/stats.h"

#include <algorithm>
#include <cmath>

namespace infrakit::tools::bench {

absl::Duration Percentile(const std::vector<absl::Duration>& sorted, double p) {
  if (sorted.empty()) return absl::ZeroDuration();
  // Nearest rank: ceil(p/100 * n), 1-based, clamped to [1, n].
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const size_t index =
      static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted.size()))) - 1;
  return sorted[index];
}

Summary Summarize(std::vector<absl::Duration> samples) {
  Summary summary;
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  summary.count = static_cast<int>(samples.size());
  summary.min = samples.front();
  summary.p50 = Percentile(samples, 50);
  summary.p95 = Percentile(samples, 95);
  summary.p99 = Percentile(samples, 99);
  summary.max = samples.back();
  absl::Duration total;
  for (absl::Duration d : samples) total += d;
  summary.mean = total / static_cast<int64_t>(samples.size());
  return summary;
}

absl::Duration Median(std::vector<absl::Duration> samples) {
  std::sort(samples.begin(), samples.end());
  return Percentile(samples, 50);
}

}  // namespace infrakit::tools::bench
