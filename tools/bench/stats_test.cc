#include "tools/bench/stats.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"

namespace infrakit::tools::bench {
namespace {

std::vector<absl::Duration> Millis(int from, int to) {
  std::vector<absl::Duration> out;
  for (int i = from; i <= to; ++i) out.push_back(absl::Milliseconds(i));
  return out;
}

TEST(PercentileTest, NearestRankOfOneToHundred) {
  const std::vector<absl::Duration> sorted = Millis(1, 100);
  EXPECT_EQ(Percentile(sorted, 50), absl::Milliseconds(50));
  EXPECT_EQ(Percentile(sorted, 99), absl::Milliseconds(99));
  EXPECT_EQ(Percentile(sorted, 100), absl::Milliseconds(100));
  EXPECT_EQ(Percentile(sorted, 0.1), absl::Milliseconds(1));
}

TEST(PercentileTest, SmallSetsNeverInterpolate) {
  const std::vector<absl::Duration> sorted = {absl::Milliseconds(1), absl::Milliseconds(10)};
  EXPECT_EQ(Percentile(sorted, 50), absl::Milliseconds(1));
  EXPECT_EQ(Percentile(sorted, 99), absl::Milliseconds(10));
}

TEST(PercentileTest, EmptyIsZero) { EXPECT_EQ(Percentile({}, 50), absl::ZeroDuration()); }

TEST(SummarizeTest, SortsAndSummarises) {
  std::vector<absl::Duration> samples = Millis(1, 200);
  std::reverse(samples.begin(), samples.end());
  const Summary s = Summarize(samples);
  EXPECT_EQ(s.count, 200);
  EXPECT_EQ(s.min, absl::Milliseconds(1));
  EXPECT_EQ(s.p50, absl::Milliseconds(100));
  EXPECT_EQ(s.p95, absl::Milliseconds(190));
  EXPECT_EQ(s.p99, absl::Milliseconds(198));
  EXPECT_EQ(s.max, absl::Milliseconds(200));
  EXPECT_EQ(s.mean, absl::Microseconds(100500));
}

TEST(SummarizeTest, EmptyIsAllZero) {
  const Summary s = Summarize({});
  EXPECT_EQ(s.count, 0);
  EXPECT_EQ(s.max, absl::ZeroDuration());
}

TEST(MedianTest, UnsortedInput) {
  EXPECT_EQ(Median({absl::Seconds(3), absl::Seconds(1), absl::Seconds(2)}), absl::Seconds(2));
}

}  // namespace
}  // namespace infrakit::tools::bench
