#include "plugins/instance/process/properties.h"

#include <signal.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::instance::process {
namespace {

google::protobuf::Struct Json(const std::string& json) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

TEST(ParseProcessPropertiesTest, EmptyGivesDefaults) {
  absl::StatusOr<ProcessProperties> parsed = ParseProcessProperties(Json("{}"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->command, "");
  EXPECT_EQ(parsed->dir, "");
  EXPECT_TRUE(parsed->env.empty());
  EXPECT_EQ(parsed->stop_signal, SIGTERM);
  EXPECT_EQ(parsed->stop_grace, absl::Seconds(10));
}

TEST(ParseProcessPropertiesTest, ReadsEveryProperty) {
  absl::StatusOr<ProcessProperties> parsed = ParseProcessProperties(Json(R"({
    "Command": "exec sleep 1", "Dir": "/tmp", "Env": {"PORT": "8080", "_X1": ""},
    "StopSignal": "SIGINT", "StopGraceSeconds": 0.5})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->command, "exec sleep 1");
  EXPECT_EQ(parsed->dir, "/tmp");
  EXPECT_EQ(parsed->env.size(), 2u);
  EXPECT_EQ(parsed->env.at("PORT"), "8080");
  EXPECT_EQ(parsed->env.at("_X1"), "");
  EXPECT_EQ(parsed->stop_signal, SIGINT);
  EXPECT_EQ(parsed->stop_grace, absl::Milliseconds(500));
}

struct BadCase {
  const char* json;
  const char* field;  // Must appear in the message.
  const char* reason;
};

class ParseProcessPropertiesBadTest : public testing::TestWithParam<BadCase> {};

TEST_P(ParseProcessPropertiesBadTest, RejectsWithTheField) {
  const BadCase& c = GetParam();
  absl::Status status = ParseProcessProperties(Json(c.json)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.json;
  EXPECT_TRUE(absl::StrContains(status.message(), c.field)) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), c.reason)) << status;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseProcessPropertiesBadTest,
    testing::Values(
        BadCase{R"({"Comand": "x"})", "properties.Comand", "unknown property"},
        BadCase{R"({"Command": 3})", "properties.Command", "must be a string, got number"},
        BadCase{R"({"Command": null})", "properties.Command", "got null"},
        BadCase{R"({"Dir": true})", "properties.Dir", "must be a string, got bool"},
        BadCase{R"({"Dir": ""})", "properties.Dir", "must not be empty"},
        BadCase{R"({"Env": ["A=1"]})", "properties.Env", "must be an object of strings, got list"},
        BadCase{R"({"Env": {"PORT": 8080}})", "properties.Env.PORT",
                "must be a string, got number"},
        BadCase{R"({"Env": {"1X": "a"}})", "properties.Env.1X", "not a valid variable name"},
        BadCase{R"({"Env": {"A-B": "a"}})", "properties.Env.A-B", "not a valid variable name"},
        BadCase{R"({"Env": {"INFRAKIT_INSTANCE_ID": "a"}})", "properties.Env.INFRAKIT_INSTANCE_ID",
                "set by the plugin"},
        BadCase{R"({"StopSignal": 15})", "properties.StopSignal", "must be a string, got number"},
        BadCase{R"({"StopSignal": "BOGUS"})", "properties.StopSignal", "unknown signal \"BOGUS\""},
        BadCase{R"({"StopSignal": "term"})", "properties.StopSignal", "unknown signal"},
        BadCase{R"({"StopGraceSeconds": "5"})", "properties.StopGraceSeconds",
                "must be a number, got string"},
        BadCase{R"({"StopGraceSeconds": -1})", "properties.StopGraceSeconds", "between 0 and 3600"},
        BadCase{R"({"StopGraceSeconds": 4000})", "properties.StopGraceSeconds",
                "between 0 and 3600"}));

TEST(ParseSignalNameTest, AcceptsNamesWithAndWithoutPrefix) {
  EXPECT_EQ(*ParseSignalName("TERM"), SIGTERM);
  EXPECT_EQ(*ParseSignalName("SIGTERM"), SIGTERM);
  EXPECT_EQ(*ParseSignalName("KILL"), SIGKILL);
  EXPECT_EQ(*ParseSignalName("HUP"), SIGHUP);
  EXPECT_EQ(*ParseSignalName("QUIT"), SIGQUIT);
  EXPECT_EQ(*ParseSignalName("USR1"), SIGUSR1);
  EXPECT_EQ(*ParseSignalName("USR2"), SIGUSR2);
  EXPECT_FALSE(ParseSignalName("SEGV").ok());
  EXPECT_FALSE(ParseSignalName("").ok());
}

}  // namespace
}  // namespace infrakit::plugins::instance::process
