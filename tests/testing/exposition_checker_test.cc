#include "tests/testing/exposition_checker.h"

#include "gtest/gtest.h"

namespace infrakit::testing {
namespace {

TEST(ExpositionCheckerTest, ReadsAWellFormedPage) {
  const char* text =
      "# HELP a_total Things.\n"
      "# TYPE a_total counter\n"
      "a_total{k=\"x\\\"y\\\\z\\n\"} 3\n"
      "a_total{k=\"w\"} 1 1700000000000\n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"0.5\"} 1\n"
      "h_bucket{le=\"+Inf\"} 2\n"
      "h_sum 3.5\n"
      "h_count 2\n";
  absl::StatusOr<Exposition> e = ParseExposition(text);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->Sum("a_total"), 4);
  EXPECT_EQ(e->Sum("a_total", {{"k", "x\"y\\z\n"}}), 3);
  EXPECT_EQ(e->Count("h_bucket"), 2);
  EXPECT_EQ(e->types.at("h"), "histogram");
}

TEST(ExpositionCheckerTest, RejectsBrokenRules) {
  const char* broken[] = {
      "# TYPE a counter\na 1",                                     // no final newline
      "a 1\n",                                                     // no TYPE
      "# TYPE a counter\na 1\na 2\n",                              // duplicate series
      "# TYPE a counter\na -1\n",                                  // negative counter
      "# TYPE a gauge\na{k=\"\\t\"} 1\n",                          // bad escape
      "# TYPE a gauge\na{k=\"x\",k=\"y\"} 1\n",                    // label twice
      "# TYPE a gauge\n# TYPE b gauge\na 1\n",                     // interleaved
      "# TYPE a gauge\n# TYPE a gauge\n",                          // TYPE twice
      "# TYPE a gauge\na one\n",                                   // bad value
      "# TYPE 1a gauge\n",                                         // bad name
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n",  // no _sum
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
  };
  for (const char* text : broken) {
    EXPECT_FALSE(ParseExposition(text).ok()) << text;
  }
}

}  // namespace
}  // namespace infrakit::testing
