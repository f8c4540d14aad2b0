#include "plugins/flavor/vanilla/vanilla_properties.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::flavor::vanilla {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

google::protobuf::Struct Json(const std::string& json) {
  google::protobuf::Struct out;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &out);
  EXPECT_TRUE(status.ok()) << status << " in " << json;
  return out;
}

::infrakit::flavor::v1::Allocation Size(int64_t size) {
  ::infrakit::flavor::v1::Allocation allocation;
  allocation.set_size(size);
  return allocation;
}

::infrakit::flavor::v1::Allocation Pets(std::vector<std::string> ids) {
  ::infrakit::flavor::v1::Allocation allocation;
  for (const auto& id : ids) allocation.mutable_logical_ids()->add_ids(id);
  return allocation;
}

TEST(VanillaPropertiesTest, ParsesTheOriginalProperties) {
  auto parsed = ParseVanillaProperties(Json(R"({
    "Size": 5,
    "UserData": ["sudo apt-get update -y", "sudo apt-get install -y nginx",
                 "sudo service nginx start"],
    "Labels": {"tier": "web", "project": "infrakit"}
  })"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->size, 5);
  EXPECT_THAT(parsed->init_lines,
              ElementsAre("sudo apt-get update -y", "sudo apt-get install -y nginx",
                          "sudo service nginx start"));
  EXPECT_THAT(parsed->tags, ElementsAre(Pair("project", "infrakit"), Pair("tier", "web")));
  EXPECT_FALSE(parsed->health_check.has_value());
  EXPECT_FALSE(parsed->logical_ids.has_value());
}

TEST(VanillaPropertiesTest, ParsesLaterInfraKitsSpellingCaseInsensitively) {
  auto parsed = ParseVanillaProperties(Json(R"({
    "init": ["echo hi"],
    "TAGS": {"a": "b"},
    "attachments": [{"id": "vol-1", "type": "volume"}, {"ID": "eni-2"}],
    "logicalids": ["10.0.0.1", "10.0.0.2"],
    "healthcheck": {"tcp": "{{.LogicalID}}:2181", "timeoutseconds": 0.5}
  })"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->init_lines, ElementsAre("echo hi"));
  EXPECT_THAT(parsed->tags, ElementsAre(Pair("a", "b")));
  ASSERT_EQ(parsed->attachments.size(), 2);
  EXPECT_EQ(parsed->attachments[0].id(), "vol-1");
  EXPECT_EQ(parsed->attachments[0].type(), "volume");
  EXPECT_EQ(parsed->attachments[1].id(), "eni-2");
  EXPECT_THAT(*parsed->logical_ids, ElementsAre("10.0.0.1", "10.0.0.2"));
  ASSERT_TRUE(parsed->health_check.has_value());
  EXPECT_EQ(parsed->health_check->kind, HealthCheck::Kind::kTcp);
  EXPECT_EQ(parsed->health_check->target, "{{.LogicalID}}:2181");
  EXPECT_EQ(parsed->health_check->timeout, absl::Milliseconds(500));
}

TEST(VanillaPropertiesTest, EmptyIsValid) {
  auto parsed = ParseVanillaProperties(Json("{}"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->init_lines.empty());
}

TEST(VanillaPropertiesTest, HealthCheckKinds) {
  auto command = ParseVanillaProperties(Json(R"({"HealthCheck": {"Command": "true"}})"));
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->health_check->kind, HealthCheck::Kind::kCommand);
  EXPECT_EQ(command->health_check->timeout, absl::Seconds(5));
  auto http = ParseVanillaProperties(
      Json(R"({"HealthCheck": {"HTTP": "http://{{ .LogicalID }}:8080/health?id={{.ID}}"}})"));
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_EQ(http->health_check->kind, HealthCheck::Kind::kHttp);
  EXPECT_TRUE(ParseVanillaProperties(Json(R"({"HealthCheck": {"HTTP": "https://h/"}})")).ok());
  EXPECT_TRUE(ParseVanillaProperties(Json(R"({"HealthCheck": {"TCP": "[::1]:80"}})")).ok());
}

TEST(VanillaPropertiesTest, RejectsBadPropertiesNamingTheField) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {R"({"Sise": 5})", "Sise: unknown key"},
      {R"({"Size": 5, "size": 5})", "Size: given twice"},
      {R"({"UserData": ["a"], "Init": ["b"]})", "Init: UserData is given too"},
      {R"({"Labels": {}, "Tags": {}})", "Tags: Labels is given too"},
      {R"({"UserData": "apt-get update"})", "UserData: want a list of strings"},
      {R"({"UserData": ["ok", 3]})", "UserData[1]: want a string"},
      {R"({"Labels": ["tier"]})", "Labels: want an object"},
      {R"({"Labels": {"tier": 1}})", "Labels.tier: want a string"},
      {R"({"Tags": {"": "x"}})", "Tags: empty tag name"},
      {R"({"Attachments": {"ID": "v"}})", "Attachments: want a list"},
      {R"({"Attachments": ["v"]})", "Attachments[0]: want an object"},
      {R"({"Attachments": [{"Type": "volume"}]})", "Attachments[0].ID: missing"},
      {R"({"Attachments": [{"ID": "v", "Size": 3}]})", "Attachments[0].Size: unknown key"},
      {R"({"Attachments": [{"ID": 3}]})", "Attachments[0].ID: want a string"},
      {R"({"Size": -1})", "Size: -1 is not a whole number"},
      {R"({"Size": 2.5})", "Size: 2.5 is not a whole number"},
      {R"({"Size": "5"})", "Size: want a number"},
      {R"({"LogicalIDs": "10.0.0.1"})", "LogicalIDs: want a list"},
      {R"({"LogicalIDs": ["a", "a"]})", "LogicalIDs[1]: \"a\" given twice"},
      {R"({"LogicalIDs": [""]})", "LogicalIDs[0]: empty"},
      {R"({"HealthCheck": "true"})", "HealthCheck: want an object"},
      {R"({"HealthCheck": {}})", "HealthCheck: want exactly one of Command, TCP, HTTP; got 0"},
      {R"({"HealthCheck": {"Command": "true", "TCP": "h:1"}})", "got 2"},
      {R"({"HealthCheck": {"Command": "true", "Retries": 3}})", "HealthCheck.Retries: unknown key"},
      {R"({"HealthCheck": {"Command": ""}})", "HealthCheck.Command: want a non-empty string"},
      {R"({"HealthCheck": {"Command": 1}})", "HealthCheck.Command: want a non-empty string"},
      {R"({"HealthCheck": {"Command": "true", "TimeoutSeconds": -1}})",
       "HealthCheck.TimeoutSeconds: -1 is not in"},
      {R"({"HealthCheck": {"Command": "true", "TimeoutSeconds": 0}})",
       "HealthCheck.TimeoutSeconds: 0 is not in"},
      {R"({"HealthCheck": {"Command": "true", "TimeoutSeconds": "5"}})",
       "HealthCheck.TimeoutSeconds: want a number"},
      {R"({"HealthCheck": {"TCP": "localhost"}})", "HealthCheck.TCP: \"localhost\" has no :port"},
      {R"({"HealthCheck": {"TCP": "localhost:99999"}})", "HealthCheck.TCP:"},
      {R"({"HealthCheck": {"TCP": "{{.LogicalID}}:{{.ID}}"}})", "HealthCheck.TCP:"},
      {R"({"HealthCheck": {"TCP": "{{.Name}}:80"}})",
       "HealthCheck.TCP: unknown placeholder {{.Name}}"},
      {R"({"HealthCheck": {"TCP": "{{.LogicalID:80"}})", "HealthCheck.TCP: unclosed placeholder"},
      {R"({"HealthCheck": {"HTTP": "localhost:8080/health"}})",
       "HealthCheck.HTTP: \"localhost:8080/health\" is not an http:// or https:// URL"},
      {R"({"HealthCheck": {"HTTP": "ftp://h/"}})", "HealthCheck.HTTP:"},
      {R"({"HealthCheck": {"HTTP": "http:///health"}})",
       "HealthCheck.HTTP: \"http:///health\" has no host"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseVanillaProperties(Json(c.json));
    ASSERT_FALSE(parsed.ok()) << c.json;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.message)) << c.json;
  }
}

TEST(CheckAllocationTest, SizeMustMatch) {
  auto five = ParseVanillaProperties(Json(R"({"Size": 5})"));
  ASSERT_TRUE(five.ok());
  EXPECT_TRUE(CheckAllocation(*five, Size(5)).ok());
  EXPECT_TRUE(CheckAllocation(*five, ::infrakit::flavor::v1::Allocation()).ok());
  absl::Status mismatch = CheckAllocation(*five, Size(3));
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.message(), HasSubstr("Size: 5 does not match the group's size 3"));
  EXPECT_THAT(CheckAllocation(*five, Pets({"a", "b"})).message(),
              HasSubstr("Size: 5 does not match the group's 2 logical IDs"));
  EXPECT_TRUE(CheckAllocation(*five, Pets({"a", "b", "c", "d", "e"})).ok());
}

TEST(CheckAllocationTest, LogicalIdsMustMatch) {
  auto pets = ParseVanillaProperties(Json(R"({"LogicalIDs": ["10.0.0.2", "10.0.0.1"]})"));
  ASSERT_TRUE(pets.ok());
  EXPECT_TRUE(CheckAllocation(*pets, Pets({"10.0.0.1", "10.0.0.2"})).ok());
  absl::Status other = CheckAllocation(*pets, Pets({"10.0.0.1", "10.0.0.3"}));
  EXPECT_EQ(other.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.message(), HasSubstr("LogicalIDs: [10.0.0.1, 10.0.0.2] do not match"));
  EXPECT_THAT(CheckAllocation(*pets, Size(2)).message(),
              HasSubstr("LogicalIDs: given, but the group has a size (2)"));
  auto none = ParseVanillaProperties(Json("{}"));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(CheckAllocation(*none, Size(7)).ok());
  EXPECT_TRUE(CheckAllocation(*none, Pets({"x"})).ok());
}

TEST(ExpandPlaceholdersTest, ReplacesLogicalIdAndId) {
  auto expanded =
      ExpandPlaceholders("http://{{.LogicalID}}:80/{{ .ID }}/{{.LogicalID}}", "i-1", "10.0.0.1");
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_EQ(*expanded, "http://10.0.0.1:80/i-1/10.0.0.1");
  auto plain = ExpandPlaceholders("localhost:80", "", "");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "localhost:80");
}

TEST(ExpandPlaceholdersTest, MissingValuesMeanNotYet) {
  EXPECT_EQ(ExpandPlaceholders("{{.LogicalID}}:80", "i-1", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ExpandPlaceholders("{{.ID}}:80", "", "x").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ExpandPlaceholders("{{.Other}}:80", "i", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infrakit::plugins::flavor::vanilla
