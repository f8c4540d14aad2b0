#include "common/metrics.h"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/exposition_checker.h"

namespace infrakit::metrics {
namespace {

using ::infrakit::testing::Exposition;
using ::infrakit::testing::ParseExposition;

TEST(MetricsTest, RendersEveryKindAsTheTextFormatSays) {
  Registry registry;
  CounterFamily* calls = registry.AddCounter("ik_calls_total", "Calls.\nSecond line \\.", {"m"});
  calls->WithLabels({"Watch"})->Increment();
  calls->WithLabels({"Describe"})->Increment(2);
  calls->WithLabels({"Describe"})->Increment(-5);  // ignored: counters never go down
  registry.AddGauge("ik_size", "Size.", {})->WithLabels({})->Set(-2.5);
  HistogramFamily* latency = registry.AddHistogram("ik_seconds", "Latency.", {"m"}, {0.1, 1});
  latency->WithLabels({"a"})->Observe(0.05);
  latency->WithLabels({"a"})->Observe(0.1);  // le is inclusive
  latency->WithLabels({"a"})->Observe(7);

  EXPECT_EQ(registry.Render(),
            "# HELP ik_calls_total Calls.\\nSecond line \\\\.\n"
            "# TYPE ik_calls_total counter\n"
            "ik_calls_total{m=\"Describe\"} 2\n"
            "ik_calls_total{m=\"Watch\"} 1\n"
            "# HELP ik_seconds Latency.\n"
            "# TYPE ik_seconds histogram\n"
            "ik_seconds_bucket{m=\"a\",le=\"0.1\"} 2\n"
            "ik_seconds_bucket{m=\"a\",le=\"1\"} 2\n"
            "ik_seconds_bucket{m=\"a\",le=\"+Inf\"} 3\n"
            "ik_seconds_sum{m=\"a\"} 7.15\n"
            "ik_seconds_count{m=\"a\"} 3\n"
            "# HELP ik_size Size.\n"
            "# TYPE ik_size gauge\n"
            "ik_size -2.5\n");
  EXPECT_TRUE(ParseExposition(registry.Render()).ok());
}

TEST(MetricsTest, EscapesLabelValuesAndFormatsSpecialValues) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(EscapeHelp("a\"b\\c\nd"), "a\"b\\\\c\\nd");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatValue(NAN), "NaN");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(-3), "-3");

  Registry registry;
  registry.AddGauge("g", "G.", {"path"})->WithLabels({"C:\\dir \"x\"\nnext"})->Set(1);
  absl::StatusOr<Exposition> e = ParseExposition(registry.Render());
  ASSERT_TRUE(e.ok()) << e.status() << "\n" << registry.Render();
  EXPECT_EQ(e->Sum("g", {{"path", "C:\\dir \"x\"\nnext"}}), 1);
}

TEST(MetricsTest, CollectedGaugesKeepTheFirstSampleOfASeries) {
  Registry registry;
  registry.AddCollectedGauge("ik_group_size", "Members.", {"group"}, [](GaugeSink* sink) {
    sink->Add({"b"}, 2);
    sink->Add({"a"}, 1);
    sink->Add({"a"}, 9);  // a duplicate series: dropped
  });
  registry.AddCollectedGauge("ik_empty", "Nothing yet.", {}, [](GaugeSink*) {});
  int hooks = 0;
  registry.AddRenderHook([&] { ++hooks; });
  const std::string text = registry.Render();
  EXPECT_EQ(text,
            "# HELP ik_empty Nothing yet.\n"
            "# TYPE ik_empty gauge\n"
            "# HELP ik_group_size Members.\n"
            "# TYPE ik_group_size gauge\n"
            "ik_group_size{group=\"a\"} 1\n"
            "ik_group_size{group=\"b\"} 2\n");
  EXPECT_TRUE(ParseExposition(text).ok());
  EXPECT_EQ(hooks, 1);
}

TEST(MetricsTest, SeriesAreStableAndCountedExactlyUnderContention) {
  Registry registry;
  CounterFamily* counter = registry.AddCounter("c_total", "C.", {"t"});
  HistogramFamily* histogram = registry.AddHistogram("h", "H.", {}, DefaultLatencyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        counter->WithLabels({std::to_string(i % 3)})->Increment();
        histogram->WithLabels({})->Observe(0.001 * t);
        if (i % 100 == 0) registry.Render();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::StatusOr<Exposition> e = ParseExposition(registry.Render());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->Sum("c_total"), 40000);
  EXPECT_EQ(e->Sum("h_count"), 40000);
  EXPECT_EQ(e->Sum("h_bucket", {{"le", "+Inf"}}), 40000);
  EXPECT_EQ(counter->WithLabels({"0"}), counter->WithLabels({"0"}));
}

TEST(MetricsDeathTest, RejectsBadNamesAndDuplicates) {
  Registry registry;
  registry.AddCounter("ok_total", "", {});
  EXPECT_DEATH(registry.AddCounter("ok_total", "", {}), "declared twice");
  EXPECT_DEATH(registry.AddGauge("1bad", "", {}), "bad metric name");
  EXPECT_DEATH(registry.AddGauge("g", "", {"__reserved"}), "bad label name");
  EXPECT_DEATH(registry.AddHistogram("h", "", {"le"}, {1}), "bad label name");
  EXPECT_DEATH(registry.AddHistogram("h", "", {}, {2, 1}), "strictly increasing");
}

}  // namespace
}  // namespace infrakit::metrics
