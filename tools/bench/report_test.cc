#include "tools/bench/report.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace infrakit::tools::bench {
namespace {

using ::testing::HasSubstr;

Report Sample() {
  Report report;
  MachineInfo machine;
  machine.cpus = 2;
  machine.cpu_model = "Test CPU";
  machine.kernel = "Linux 6.1 x86_64";
  machine.memory_kib = 4 * 1024 * 1024;
  machine.load1 = 0.5;
  report.SetContext("bench --out=x.json", machine);
  report.AddContext("instance files: /tmp (ext4)");
  report.AddDuration("heal", "p50", absl::Microseconds(1500), "ms", absl::Milliseconds(5));
  report.AddDuration("heal", "p99", absl::Milliseconds(25), "ms", absl::Milliseconds(20));
  report.AddDuration("rpc", "Describe 1,000", absl::Milliseconds(3), "ms");
  Row peak;
  peak.section = "update";
  peak.metric = "peak";
  peak.value = 1100;
  peak.unit = "instances";
  peak.limit = 1100;
  report.Add(peak);
  report.AddFailure("converge", "10,000", "s", 2.5, absl::DeadlineExceededError("too slow"));
  report.SetEndLoad(0.7);
  return report;
}

TEST(RowTest, Verdicts) {
  Row row;
  EXPECT_EQ(row.Verdict(), "-");
  row.limit = 10;
  EXPECT_EQ(row.Verdict(), "MISS");  // no value: the measurement failed
  row.value = 10;
  EXPECT_EQ(row.Verdict(), "PASS");
  row.value = 10.5;
  EXPECT_EQ(row.Verdict(), "MISS");
  row.at_least = true;
  EXPECT_EQ(row.Verdict(), "PASS");
}

TEST(ReportTest, CountsTargets) {
  const Report report = Sample();
  EXPECT_EQ(report.rows().size(), 5u);
  EXPECT_EQ(report.targets(), 4);
  EXPECT_EQ(report.passed(), 2);
}

TEST(ReportTest, TableShowsMachineValuesTargetsAndVerdicts) {
  const std::string table = Sample().Table();
  EXPECT_THAT(table, HasSubstr("2 CPUs, Test CPU, Linux 6.1 x86_64, 4 GiB RAM"));
  EXPECT_THAT(table, HasSubstr("0.500 at start, 0.700 at end"));
  EXPECT_THAT(table, HasSubstr("command: bench --out=x.json"));
  EXPECT_THAT(table, HasSubstr("instance files: /tmp (ext4)"));
  EXPECT_THAT(table, HasSubstr("1.50 ms"));
  EXPECT_THAT(table, HasSubstr("<= 5 ms"));
  EXPECT_THAT(table, HasSubstr("PASS"));
  EXPECT_THAT(table, HasSubstr("MISS"));
  EXPECT_THAT(table, HasSubstr("error"));
  EXPECT_THAT(table, HasSubstr("too slow"));
  EXPECT_THAT(table, HasSubstr("targets: 2 of 4 passed"));
}

TEST(ReportTest, JsonCarriesEveryRow) {
  const std::string json = Sample().Json();
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  const auto& fields = parsed.fields();
  EXPECT_EQ(fields.at("command").string_value(), "bench --out=x.json");
  EXPECT_EQ(fields.at("machine").struct_value().fields().at("cpus").number_value(), 2);
  ASSERT_EQ(fields.at("context").list_value().values_size(), 1);
  EXPECT_EQ(fields.at("context").list_value().values(0).string_value(),
            "instance files: /tmp (ext4)");
  const auto& rows = fields.at("rows").list_value().values();
  ASSERT_EQ(rows.size(), 5);
  const auto& first = rows[0].struct_value().fields();
  EXPECT_EQ(first.at("metric").string_value(), "p50");
  EXPECT_DOUBLE_EQ(first.at("value").number_value(), 1.5);
  EXPECT_DOUBLE_EQ(first.at("limit").number_value(), 5);
  EXPECT_EQ(first.at("comparison").string_value(), "<=");
  EXPECT_EQ(first.at("verdict").string_value(), "PASS");
  const auto& failed = rows[4].struct_value().fields();
  EXPECT_TRUE(failed.at("value").has_null_value());
  EXPECT_EQ(failed.at("verdict").string_value(), "MISS");
  EXPECT_EQ(fields.at("passed").number_value(), 2);
}

TEST(InUnitTest, Units) {
  EXPECT_DOUBLE_EQ(InUnit(absl::Milliseconds(1500), "s"), 1.5);
  EXPECT_DOUBLE_EQ(InUnit(absl::Milliseconds(2), "us"), 2000);
  EXPECT_DOUBLE_EQ(InUnit(absl::Microseconds(2), "ns"), 2000);
}

// One run of two rows; `heal` in ms (nullopt: not measured), `load` at start and end.
Report OneRun(std::optional<double> heal, double start_load, double end_load) {
  Report report;
  MachineInfo machine;
  machine.cpus = 2;
  machine.load1 = start_load;
  report.SetContext("bench --repeat=3", machine);
  report.AddContext("instance files: /dev/shm (tmpfs)");
  if (heal.has_value()) {
    report.AddDuration("heal", "p50", absl::Microseconds(*heal * 1000), "ms", absl::Milliseconds(5),
                       "120 removals");
  } else {
    report.AddFailure("heal", "p50", "ms", 5, absl::DeadlineExceededError("no replacement"));
  }
  report.AddDuration("rpc", "Info p50", absl::Microseconds(100), "us");
  report.SetEndLoad(end_load);
  return report;
}

TEST(MergeRunsTest, EachFigureIsTheMedianOfItsRunsWithTheirSpreadAndLoads) {
  const Report merged =
      MergeRuns({OneRun(4.25, 1.5, 1.6), OneRun(2.5, 0.5, 0.6), OneRun(9.5, 2.5, 2.7)});
  ASSERT_EQ(merged.rows().size(), 2u);
  const Row& heal = merged.rows()[0];
  EXPECT_EQ(heal.metric, "p50");
  ASSERT_TRUE(heal.value.has_value());
  EXPECT_DOUBLE_EQ(*heal.value, 4.25);
  EXPECT_EQ(heal.runs, (std::vector<double>{4.25, 2.5, 9.5}));
  EXPECT_EQ(heal.Verdict(), "PASS");
  EXPECT_THAT(heal.note, HasSubstr("2.50-9.50 over 3 runs; 120 removals"));
  const std::string table = merged.Table();
  EXPECT_THAT(table, HasSubstr("instance files: /dev/shm (tmpfs)"));
  EXPECT_THAT(table, HasSubstr("run 1 of 3: load average (1 min) 1.50 at start, 1.60 at end"));
  EXPECT_THAT(table, HasSubstr("run 3 of 3: load average (1 min) 2.50 at start, 2.70 at end"));
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(merged.Json(), &parsed).ok());
  const auto& row = parsed.fields().at("rows").list_value().values(0).struct_value().fields();
  EXPECT_EQ(row.at("runs").list_value().values_size(), 3);
}

TEST(MergeRunsTest, RunsThatFailedAreLeftOutAndAFigureNoRunMeasuredStaysFailed) {
  const Report some = MergeRuns({OneRun(std::nullopt, 1, 1), OneRun(3.0, 1, 1)});
  ASSERT_TRUE(some.rows()[0].value.has_value());
  EXPECT_DOUBLE_EQ(*some.rows()[0].value, 3.0);
  EXPECT_THAT(some.rows()[0].note, HasSubstr("over 1 run"));
  const Report none = MergeRuns({OneRun(std::nullopt, 1, 1), OneRun(std::nullopt, 1, 1)});
  EXPECT_FALSE(none.rows()[0].value.has_value());
  EXPECT_EQ(none.rows()[0].Verdict(), "MISS");
  EXPECT_THAT(none.rows()[0].note, HasSubstr("no replacement"));
  EXPECT_TRUE(MergeRuns({}).rows().empty());
}

}  // namespace
}  // namespace infrakit::tools::bench
