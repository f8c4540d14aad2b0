// Group configs in YAML, and the original InfraKit's "Allocation" object: each gives the same
// spec and config_sha as the JSON / flat form it stands for.
#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/config/group_config.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "spec/group_spec.h"

namespace infrakit::client::config {
namespace {

using google::protobuf::util::MessageDifferencer;
using infrakit::common::ConfigFormat;
using infrakit::group::v1::GroupSpec;
using infrakit::spec::ConfigSha;

ParsedConfig MustParse(const std::string& text, ConfigFormat format = ConfigFormat::kDetect) {
  absl::StatusOr<ParsedConfig> config = ParseConfig(text, format);
  EXPECT_TRUE(config.ok()) << config.status() << "\n" << text;
  return config.ok() ? *std::move(config) : ParsedConfig();
}

// Every text of `texts` gives the spec and config_sha of the first.
void ExpectSameGroup(const std::vector<std::string>& texts) {
  const ParsedConfig first = MustParse(texts[0]);
  for (size_t i = 1; i < texts.size(); ++i) {
    SCOPED_TRACE(texts[i]);
    const ParsedConfig other = MustParse(texts[i]);
    EXPECT_TRUE(MessageDifferencer::Equals(first.spec, other.spec))
        << ToJson(first.spec) << "\nvs\n"
        << ToJson(other.spec);
    EXPECT_EQ(ConfigSha(first.spec), ConfigSha(other.spec));
    EXPECT_EQ(first.group_plugin, other.group_plugin);
  }
}

constexpr char kSections[] =
    R"("Instance": {"Plugin": "instance-file", "Properties": {"Note": "v1"}},
       "Flavor": {"Plugin": "flavor-vanilla", "Properties": {"Init": ["echo hi"]}})";

std::string Group(const std::string& allocation) {
  return absl::StrCat(R"({"ID": "g", "Properties": {)", kSections, ", ", allocation, "}}");
}

TEST(AllocationTest, EveryFormOfASizeIsOneSpec) {
  ExpectSameGroup({
      Group(R"("Size": 3)"),
      Group(R"("Allocation": {"Size": 3})"),
      Group(R"("allocation": {"size": 3})"),
      R"({"ID": "g", "Properties": {"Allocation": {"Size": 3},
          "InstancePlugin": "instance-file", "InstancePluginProperties": {"Note": "v1"},
          "FlavorPlugin": "flavor-vanilla", "FlavorPluginProperties": {"Init": ["echo hi"]}}})",
      R"({"ID": "g", "Properties": {
          "Instance": {"Plugin": "instance-file", "Properties": {"Note": "v1"}},
          "Flavor": {"Plugin": "flavor-vanilla", "Properties": {"Init": ["echo hi"], "Size": 3}}}})",
  });
  EXPECT_EQ(MustParse(Group(R"("Allocation": {"Size": 3})")).spec.allocation().size(), 3);
  EXPECT_EQ(MustParse(Group(R"("Allocation": {"Size": 0})")).spec.allocation().size(), 0);
}

TEST(AllocationTest, EveryFormOfLogicalIdsIsOneSpec) {
  ExpectSameGroup({
      Group(R"("LogicalIDs": ["10.0.0.1", "10.0.0.2"])"),
      Group(R"("IPs": ["10.0.0.1", "10.0.0.2"])"),
      Group(R"("Allocation": {"LogicalIDs": ["10.0.0.1", "10.0.0.2"]})"),
      Group(R"("Allocation": {"logicalIDs": ["10.0.0.1", "10.0.0.2"]})"),
      Group(R"("Allocation": {"IPs": ["10.0.0.1", "10.0.0.2"]})"),
  });
  const GroupSpec spec =
      MustParse(Group(R"("Allocation": {"LogicalIDs": ["10.0.0.1", "10.0.0.2"]})")).spec;
  ASSERT_EQ(spec.allocation().logical_ids().ids_size(), 2);
  EXPECT_EQ(spec.allocation().logical_ids().ids(1), "10.0.0.2");
}

TEST(AllocationTest, ToJsonWritesTheFlatForm) {
  const ParsedConfig config = MustParse(Group(R"("Allocation": {"Size": 4})"));
  const std::string json = ToJson(config.spec);
  EXPECT_NE(json.find("\"Size\": 4"), std::string::npos) << json;
  EXPECT_EQ(json.find("Allocation"), std::string::npos) << json;
  EXPECT_TRUE(MessageDifferencer::Equals(MustParse(json).spec, config.spec));
}

// ---------------------------------------------------------------------------------------------
// YAML.

TEST(YamlConfigTest, EachFormInYamlIsItsJson) {
  ExpectSameGroup({Group(R"("Size": 3, "Update": {"MaxSurge": "25%", "MaxUnavailable": 0,
                        "OnFailure": "rollback"}, "Remediation": {"Enabled": true,
                        "UnhealthySeconds": 2.5})"),
                   R"(# the nested form
ID: g
Properties:
  Instance:
    Plugin: instance-file
    Properties: {Note: v1}
  Flavor:
    Plugin: flavor-vanilla
    Properties:
      Init: [echo hi]
  Size: 3
  Update: {MaxSurge: 25%, MaxUnavailable: 0, OnFailure: rollback}
  Remediation:
    Enabled: true
    UnhealthySeconds: 2.5
)",
                   R"(ID: g
Properties:
  InstancePlugin: instance-file
  InstancePluginProperties:
    Note: v1
  FlavorPlugin: flavor-vanilla
  FlavorPluginProperties:
    Init:
      - echo hi
  Allocation:
    Size: 3
  Update:
    MaxSurge: "25%"
    MaxUnavailable: 0
    OnFailure: rollback
  Remediation: {Enabled: true, UnhealthySeconds: 2.5}
)"});
  ExpectSameGroup({R"({"id": "zk", "plugin": "group", "properties": {
                      "ips": ["192.168.0.4", "192.168.0.5"],
                      "instance": {"plugin": "instance-file", "properties": {"cpu": 2}},
                      "flavor": {"plugin": "flavor-vanilla"}}})",
                   "id: zk\nplugin: group\nproperties:\n  ips: [192.168.0.4, 192.168.0.5]\n"
                   "  instance: {plugin: instance-file, properties: {cpu: 2}}\n"
                   "  flavor: {plugin: flavor-vanilla}\n"});
}

TEST(YamlConfigTest, PluginPropertiesKeepJsonKinds) {
  // Numbers, booleans, null and strings that look like them, as the plugin receives them.
  const ParsedConfig yaml = MustParse(R"(ID: g
Properties:
  Size: 1
  Instance:
    Plugin: instance-file
    Properties: {Count: 2, Ratio: 0.5, On: true, Off: no, Nothing: null, Version: "1.10",
                 Port: "8080", Octal: 0o10, Empty: ""}
  Flavor: {Plugin: flavor-vanilla}
)");
  const ParsedConfig json = MustParse(R"({"ID": "g", "Properties": {"Size": 1,
      "Instance": {"Plugin": "instance-file", "Properties": {"Count": 2, "Ratio": 0.5,
        "On": true, "Off": "no", "Nothing": null, "Version": "1.10", "Port": "8080",
        "Octal": 8, "Empty": ""}},
      "Flavor": {"Plugin": "flavor-vanilla"}}})");
  EXPECT_TRUE(MessageDifferencer::Equals(yaml.spec, json.spec)) << ToJson(yaml.spec) << "\nvs\n"
                                                                << ToJson(json.spec);
  EXPECT_EQ(ConfigSha(yaml.spec), ConfigSha(json.spec));
}

TEST(YamlConfigTest, TheFormatGivenWins) {
  const std::string yaml =
      "ID: g\nProperties: {Size: 1, Instance: {Plugin: a}, Flavor: {Plugin: b}}\n";
  EXPECT_TRUE(ParseConfig(yaml, ConfigFormat::kYaml).ok());
  absl::StatusOr<ParsedConfig> as_json = ParseConfig(yaml, ConfigFormat::kJson);
  ASSERT_FALSE(as_json.ok());
  EXPECT_EQ(as_json.status().message().rfind("config: not valid JSON", 0), 0u) << as_json.status();
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const char* dir = getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  std::ofstream(path) << text;
  return path;
}

TEST(YamlConfigTest, ParseConfigFileGoesByTheExtension) {
  const std::string yaml =
      "ID: g\nProperties: {Size: 1, Instance: {Plugin: a}, Flavor: {Plugin: b}}\n";
  for (const char* name : {"g.yaml", "g.yml", "g.YAML", "g.conf", "g"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<ParsedConfig> config = ParseConfigFile(WriteTemp(name, yaml));
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->spec.id(), "g");
  }
  const std::string json_named = WriteTemp("g.json", yaml);
  absl::StatusOr<ParsedConfig> config = ParseConfigFile(json_named);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().rfind(json_named + ": config: not valid JSON", 0), 0u)
      << config.status();

  // A JSON document is YAML too: a .yaml file may hold one.
  config = ParseConfigFile(
      WriteTemp("json.yaml", R"({"ID": "g", "Properties": {"Size": 1, "Instance": {"Plugin": "a"},
                      "Flavor": {"Plugin": "b"}}})"));
  ASSERT_TRUE(config.ok()) << config.status();

  const std::string bad = WriteTemp("bad.yml", "ID: g\nProperties:\n  Size: [1\n");
  config = ParseConfigFile(bad);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message().rfind(bad + ": config: not valid YAML: ", 0), 0u)
      << config.status();
  EXPECT_NE(config.status().message().find(" at line 4, column 1"), std::string::npos)
      << config.status();
}

}  // namespace
}  // namespace infrakit::client::config
