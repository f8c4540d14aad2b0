// The parser's refusals: every bad config is INVALID_ARGUMENT naming the field, and the keys of
// each object are those ConfigKeys() lists.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/config/group_config.h"
#include "gtest/gtest.h"

namespace infrakit::client::config {
namespace {

// ---------------------------------------------------------------------------------------------
// Bad configs: each is INVALID_ARGUMENT with a message naming the field and the problem.

struct BadConfig {
  std::string name;
  std::string text;
  std::vector<std::string> message_contains;
};

std::vector<BadConfig> BadConfigs() {
  const std::string kInstance = R"("Instance": {"Plugin": "instance-file"})";
  const std::string kFlavor = R"("Flavor": {"Plugin": "flavor-vanilla"})";
  const std::string kSections = kInstance + ", " + kFlavor;
  auto group = [&](const std::string& props) {
    return absl::StrCat(R"({"ID": "g", "Properties": {)", props, "}}");
  };
  auto with = [&](const std::string& extra) {
    return group(absl::StrCat(kSections, ", \"Size\": 1, ", extra));
  };
  return {
      // Not JSON / not an object.
      {"truncated", R"({"ID": "cattle",)", {"config: not valid JSON"}},
      {"missing colon",
       "{\n  \"ID\": \"x\",\n  \"Properties\" {}\n}",
       {"config: not valid JSON", "line 3, column 16"}},
      {"empty text", "", {"config: not valid JSON"}},
      {"trailing garbage", R"({"ID": "x"} x)", {"config: not valid JSON"}},
      {"array", R"([{"ID": "x"}])", {"config: must be an object, got an array"}},
      {"string", R"("cattle")", {"config: must be an object, got a string"}},
      // YAML (told from JSON by the text): located syntax errors, JSON's kinds.
      {"YAML bad indentation",
       "ID: cattle\nProperties:\n  Size: 1\n    Instance: x\n",
       {"config: not valid YAML: illegal map value at line 4, column 13"}},
      {"YAML duplicate key",
       "ID: cattle\nProperties: {}\nID: other\n",
       {"config: not valid YAML: duplicate key \"ID\" (first at line 1, column 1) at line 3, "
        "column 1"}},
      {"YAML document not an object",
       "- ID: cattle\n",
       {"config: must be an object, got an array"}},
      {"YAML quoted size is a string",
       "ID: g\nProperties:\n  Instance: {Plugin: a}\n  Flavor: {Plugin: b}\n  Size: \"5\"\n",
       {"Properties.Size: must be an integer, got a string"}},
      {"YAML empty document", "# nothing\n", {"config: must be an object, got null"}},
      // ID.
      {"missing ID",
       absl::StrCat(R"({"Properties": {)", kSections, R"(, "Size": 1}})"),
       {"ID: required"}},
      {"missing id, lower-case form",
       R"({"plugin": "group", "properties": {"size": 1, "instance": {"plugin": "a"},
           "flavor": {"plugin": "b"}}})",
       {"id: required"}},
      {"empty ID", R"({"ID": "", "Properties": {}})", {"ID: must not be empty"}},
      {"ID with slash", R"({"ID": "a/b", "Properties": {}})", {"ID: may only contain", "a/b"}},
      {"ID dot-dot", R"({"ID": "..", "Properties": {}})", {"ID: must not start with '.'"}},
      {"ID hidden file", R"({"ID": ".cattle", "Properties": {}})", {"ID: must not start with '.'"}},
      {"ID with space", R"({"ID": "my group", "Properties": {}})", {"ID: may only contain"}},
      {"ID with NUL",
       std::string(R"({"ID": "a\u0000b", "Properties": {}})"),
       {"ID: may only contain"}},
      {"ID too long",
       absl::StrCat(R"({"ID": ")", std::string(129, 'a'), R"(", "Properties": {}})"),
       {"ID: must be at most 128 characters, got 129"}},
      {"ID not a string", R"({"ID": 5, "Properties": {}})", {"ID: must be a string, got a number"}},
      {"ID twice in two cases",
       R"({"ID": "a", "id": "b", "Properties": {}})",
       {"ID", "duplicate of \"ID\"", "case-insensitive"}},
      {"ID twice", R"({"ID": "a", "ID": "b", "Properties": {}})", {"config: not valid JSON"}},
      // Top level.
      {"unknown top-level key",
       R"({"ID": "g", "Sise": 3, "Properties": {}})",
       {"Sise: unknown key", "ID, Plugin, Properties"}},
      {"group plugin not a string",
       R"({"ID": "g", "Plugin": ["group"], "Properties": {}})",
       {"Plugin: must be a string, got an array"}},
      {"group plugin with slash",
       R"({"ID": "g", "plugin": "../group", "Properties": {}})",
       {"plugin: may only contain"}},
      {"missing Properties", R"({"ID": "g"})", {"Properties: required"}},
      {"Properties not an object",
       R"({"ID": "g", "Properties": [1]})",
       {"Properties: must be an object, got an array"}},
      {"Properties null",
       R"({"ID": "g", "Properties": null})",
       {"Properties: must be an object, got null"}},
      // Group properties.
      {"unknown key in Properties", with(R"("Sise": 3)"), {"Properties.Sise: unknown key"}},
      {"unknown key in lower-case properties",
       R"({"id": "g", "properties": {"size": 1, "instance": {"plugin": "a"},
           "flavor": {"plugin": "b"}, "port": 8080}})",
       {"properties.port: unknown key"}},
      {"unknown key in a section",
       group(R"("Instance": {"Plugin": "a", "Propertiez": {}}, "Size": 1, )" + kFlavor),
       {"Properties.Instance.Propertiez: unknown key", "Plugin, Properties"}},
      // Sections.
      {"missing instance plugin",
       group(kFlavor + ", \"Size\": 1"),
       {"Properties.Instance: required"}},
      {"missing flavor plugin",
       group(kInstance + ", \"Size\": 1"),
       {"Properties.Flavor: required"}},
      {"missing instance plugin, lower-case",
       R"({"id": "g", "properties": {"size": 1, "flavor": {"plugin": "b"}}})",
       {"properties.instance: required"}},
      {"section without Plugin",
       group(R"("Instance": {"Properties": {}}, "Size": 1, )" + kFlavor),
       {"Properties.Instance.Plugin: required"}},
      {"flat properties without plugin",
       group(R"("InstancePluginProperties": {"a": 1}, "Size": 1, )" + kFlavor),
       {"Properties.InstancePlugin: required"}},
      {"empty plugin name",
       group(R"("InstancePlugin": "", "Size": 1, )" + kFlavor),
       {"Properties.InstancePlugin: must not be empty"}},
      {"plugin name with slash",
       group(R"("Instance": {"Plugin": "../../etc/x"}, "Size": 1, )" + kFlavor),
       {"Properties.Instance.Plugin: may only contain"}},
      {"plugin not a string",
       group(R"("Instance": {"Plugin": 7}, "Size": 1, )" + kFlavor),
       {"Properties.Instance.Plugin: must be a string, got a number"}},
      {"flat plugin not a string",
       group(R"("FlavorPlugin": {"name": "x"}, "Size": 1, )" + kInstance),
       {"Properties.FlavorPlugin: must be a string, got an object"}},
      {"section not an object",
       group(R"("Instance": "instance-file", "Size": 1, )" + kFlavor),
       {"Properties.Instance: must be an object, got a string"}},
      {"plugin properties not an object",
       group(R"("Instance": {"Plugin": "a", "Properties": "x"}, "Size": 1, )" + kFlavor),
       {"Properties.Instance.Properties: must be an object, got a string"}},
      {"flat plugin properties not an object",
       group(R"("FlavorPlugin": "b", "FlavorPluginProperties": [], "Size": 1, )" + kInstance),
       {"Properties.FlavorPluginProperties: must be an object, got an array"}},
      {"nested and flat instance",
       group(kSections + R"(, "InstancePlugin": "other", "Size": 1)"),
       {"Properties.InstancePlugin: cannot be combined with Properties.Instance"}},
      {"nested and flat flavor properties",
       group(kSections + R"(, "FlavorPluginProperties": {}, "Size": 1)"),
       {"Properties.FlavorPluginProperties: cannot be combined with Properties.Flavor"}},
      // Allocation.
      {"no size or logical IDs", group(kSections), {"Properties.Size: required", "LogicalIDs"}},
      {"negative size",
       group(kSections + R"(, "Size": -1)"),
       {"Properties.Size: must be >= 0, got -1"}},
      {"non-integer size",
       group(kSections + R"(, "Size": 2.5)"),
       {"Properties.Size: must be an integer, got 2.5"}},
      {"size as a string",
       group(kSections + R"(, "Size": "5")"),
       {"Properties.Size: must be an integer, got a string"}},
      {"huge size",
       group(kSections + R"(, "Size": 1e300)"),
       {"Properties.Size: must be an integer"}},
      {"size and logical IDs",
       group(kSections + R"(, "Size": 1, "LogicalIDs": ["a"])"),
       {"Properties.LogicalIDs: cannot be combined with Properties.Size"}},
      {"size in group and logical IDs in flavor",
       group(kInstance +
             R"(, "Size": 2, "Flavor": {"Plugin": "f", "Properties": {"LogicalIDs": ["a"]}})"),
       {"Properties.Flavor.Properties.LogicalIDs: cannot be combined with Properties.Size"}},
      {"size in group and in flavor",
       group(kInstance + R"(, "Size": 2, "Flavor": {"Plugin": "f", "Properties": {"Size": 2}})"),
       {"Properties.Flavor.Properties.Size: the size is given twice (also at Properties.Size)"}},
      {"ips and LogicalIDs",
       group(kSections + R"(, "ips": ["a"], "LogicalIDs": ["b"])"),
       {"Properties.ips: the logical IDs are given twice (also at Properties.LogicalIDs)"}},
      // The original InfraKit's Allocation object.
      {"allocation not an object",
       group(kSections + R"(, "Allocation": 3)"),
       {"Properties.Allocation: must be an object, got a number"}},
      {"allocation null",
       group(kSections + R"(, "Allocation": null)"),
       {"Properties.Allocation: must be an object, got null"}},
      {"allocation empty",
       group(kSections + R"(, "Allocation": {})"),
       {"Properties.Allocation: must give Size (cattle) or LogicalIDs (pets)"}},
      {"allocation unknown key lists the keys",
       group(kSections + R"(, "Allocation": {"Count": 3})"),
       {"Properties.Allocation.Count: unknown key (expected one of: Size, LogicalIDs, IPs)"}},
      {"allocation keys twice in two cases",
       group(kSections + R"(, "Allocation": {"Size": 3, "size": 3})"),
       {"Properties.Allocation.size: duplicate of \"Size\""}},
      {"allocation negative size",
       group(kSections + R"(, "Allocation": {"Size": -1})"),
       {"Properties.Allocation.Size: must be >= 0, got -1"}},
      {"allocation logical IDs not strings",
       group(kSections + R"(, "Allocation": {"LogicalIDs": [1]})"),
       {"Properties.Allocation.LogicalIDs[0]: must be a string, got a number"}},
      {"allocation and flat size",
       group(kSections + R"(, "Size": 3, "Allocation": {"Size": 3})"),
       {"Properties.Allocation.Size: the size is given twice (also at Properties.Size)"}},
      {"allocation and flat logical IDs",
       group(kSections + R"(, "LogicalIDs": ["a"], "Allocation": {"LogicalIDs": ["a"]})"),
       {"Properties.Allocation.LogicalIDs: the logical IDs are given twice (also at "
        "Properties.LogicalIDs)"}},
      {"allocation with size and logical IDs",
       group(kSections + R"(, "Allocation": {"Size": 1, "LogicalIDs": ["a"]})"),
       {"Properties.Allocation.LogicalIDs: cannot be combined with Properties.Allocation.Size"}},
      {"allocation and size in flavor",
       group(
           kInstance +
           R"(, "Allocation": {"Size": 2}, "Flavor": {"Plugin": "f", "Properties": {"Size": 2}})"),
       {"Properties.Flavor.Properties.Size: the size is given twice (also at "
        "Properties.Allocation.Size)"}},
      {"lower-case allocation and ips",
       R"({"id": "zk", "properties": {"ips": ["a"], "allocation": {"logicalIDs": ["a"]},
           "instance": {"plugin": "vagrant"}, "flavor": {"plugin": "zookeeper"}}})",
       {"properties.allocation.logicalIDs: the logical IDs are given twice (also at "
        "properties.ips)"}},
      {"size twice in flavor properties, two cases",
       group(kInstance + R"(, "Flavor": {"Plugin": "f", "Properties": {"Size": 2, "size": 3}})"),
       {"Properties.Flavor.Properties.size: duplicate of \"Size\""}},
      {"duplicate logical IDs",
       R"({"id": "zk", "properties": {"ips": ["192.168.0.4", "192.168.0.5", "192.168.0.4"],
           "instance": {"plugin": "vagrant"}, "flavor": {"plugin": "zookeeper"}}})",
       {"properties.ips[2]: duplicate logical ID \"192.168.0.4\" (also at [0])"}},
      {"empty logical ID",
       group(kSections + R"(, "LogicalIDs": ["a", ""])"),
       {"Properties.LogicalIDs[1]: a logical ID must not be empty"}},
      {"logical ID not a string",
       group(kSections + R"(, "LogicalIDs": ["a", 5])"),
       {"Properties.LogicalIDs[1]: must be a string, got a number"}},
      {"logical IDs not an array",
       group(kSections + R"(, "LogicalIDs": "a,b")"),
       {"Properties.LogicalIDs: must be an array of strings, got a string"}},
      // Update settings.
      {"update not an object",
       with(R"("Update": 1)"),
       {"Properties.Update: must be an object, got a number"}},
      {"unknown update key",
       with(R"("Update": {"MaxSurges": 1})"),
       {"Properties.Update.MaxSurges: unknown key"}},
      {"surge x%",
       with(R"("Update": {"MaxSurge": "x%"})"),
       {"Properties.Update.MaxSurge: must be a count", "\"x%\""}},
      {"surge without %",
       with(R"("Update": {"MaxSurge": "10"})"),
       {"Properties.Update.MaxSurge: must be a count"}},
      {"surge negative",
       with(R"("Update": {"MaxSurge": -1})"),
       {"Properties.Update.MaxSurge: must be >= 0, got -1"}},
      {"surge negative percent",
       with(R"("Update": {"MaxSurge": "-5%"})"),
       {"Properties.Update.MaxSurge: must be a count"}},
      {"surge fraction",
       with(R"("Update": {"MaxSurge": 1.5})"),
       {"Properties.Update.MaxSurge: must be an integer, got 1.5"}},
      {"unavailable over 100%",
       with(R"("Update": {"MaxUnavailable": "101%"})"),
       {"Properties.Update.MaxUnavailable: must be a count", "\"101%\""}},
      {"surge a boolean",
       with(R"("Update": {"MaxSurge": true})"),
       {"Properties.Update.MaxSurge: must be a count", "got a boolean"}},
      {"surge and unavailable zero",
       with(R"("Update": {"MaxSurge": 0, "MaxUnavailable": "0%"})"),
       {"Properties.Update: MaxSurge and MaxUnavailable cannot both be 0"}},
      {"negative min ready",
       with(R"("Update": {"MinReadySeconds": -1})"),
       {"Properties.Update.MinReadySeconds: must be >= 0, got -1"}},
      {"zero health deadline",
       with(R"("Update": {"HealthDeadlineSeconds": 0})"),
       {"Properties.Update.HealthDeadlineSeconds: must be > 0, got 0"}},
      {"health deadline a string",
       with(R"("Update": {"HealthDeadlineSeconds": "5m"})"),
       {"Properties.Update.HealthDeadlineSeconds: must be a number, got a string"}},
      {"unknown OnFailure",
       with(R"("Update": {"OnFailure": "explode"})"),
       {"Properties.Update.OnFailure: must be \"pause\" or \"rollback\", got \"explode\""}},
      {"OnFailure not a string",
       with(R"("Update": {"OnFailure": 1})"),
       {"Properties.Update.OnFailure: must be a string, got a number"}},
      // Remediation settings.
      {"remediation not an object",
       with(R"("Remediation": true)"),
       {"Properties.Remediation: must be an object, got a boolean"}},
      {"unknown remediation key",
       with(R"("Remediation": {"Enable": true})"),
       {"Properties.Remediation.Enable: unknown key"}},
      {"remediation enabled a string",
       with(R"("Remediation": {"Enabled": "yes"})"),
       {"Properties.Remediation.Enabled: must be true or false, got a string"}},
      {"remediation zero concurrency",
       with(R"("Remediation": {"MaxConcurrent": 0})"),
       {"Properties.Remediation.MaxConcurrent: must be >= 1, got 0"}},
      {"remediation percent over 100",
       with(R"("Remediation": {"MaxUnhealthyPercent": 150})"),
       {"Properties.Remediation.MaxUnhealthyPercent: must be <= 100, got 150"}},
      {"remediation negative seconds",
       with(R"("Remediation": {"UnhealthySeconds": -5})"),
       {"Properties.Remediation.UnhealthySeconds: must be > 0, got -5"}},
      {"remediation zero initial delay",
       with(R"("Remediation": {"InitialDelaySeconds": 0})"),
       {"Properties.Remediation.InitialDelaySeconds: must be > 0, got 0"}},
      {"remediation negative initial delay, lower-case",
       R"({"id": "g", "properties": {"size": 1, "instance": {"plugin": "a"},
           "flavor": {"plugin": "b"}, "remediation": {"initialDelaySeconds": -3}}})",
       {"properties.remediation.initialDelaySeconds: must be > 0, got -3"}},
      {"remediation initial delay a string",
       with(R"("Remediation": {"InitialDelaySeconds": "10s"})"),
       {"Properties.Remediation.InitialDelaySeconds: must be a number, got a string"}},
      {"remediation zero probe interval",
       with(R"("Remediation": {"ProbeIntervalSeconds": 0})"),
       {"Properties.Remediation.ProbeIntervalSeconds: must be > 0, got 0"}},
      {"remediation negative probe interval",
       with(R"("Remediation": {"ProbeIntervalSeconds": -0.5})"),
       {"Properties.Remediation.ProbeIntervalSeconds: must be > 0, got -0.5"}},
      {"remediation probe interval null",
       with(R"("Remediation": {"ProbeIntervalSeconds": null})"),
       {"Properties.Remediation.ProbeIntervalSeconds: must be a number, got null"}},
      {"remediation unknown key lists the keys",
       with(R"("Remediation": {"InitialDelay": 5})"),
       {"Properties.Remediation.InitialDelay: unknown key (expected one of: Enabled, "
        "UnhealthySeconds, MaxConcurrent, MaxUnhealthyPercent, InitialDelaySeconds, "
        "ProbeIntervalSeconds)"}},
  };
}

TEST(GroupConfigTest, BadConfigsAreRejectedNamingTheField) {
  for (const BadConfig& bad : BadConfigs()) {
    SCOPED_TRACE(bad.name);
    absl::StatusOr<ParsedConfig> config = ParseConfig(bad.text);
    ASSERT_FALSE(config.ok()) << bad.text;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
    for (const std::string& part : bad.message_contains) {
      EXPECT_NE(config.status().message().find(part), absl::string_view::npos)
          << "message: " << config.status().message() << "\nexpected to contain: " << part;
    }
    EXPECT_FALSE(ParseGroupConfig(bad.text).ok());
  }
}

// ---------------------------------------------------------------------------------------------
// ConfigKeys: the lists the parser checks keys against.

// `json` with its object at `path` (a section of ConfigKeys(), in a config that is otherwise
// valid) holding every key of that section, each with the value null.
std::string WithEveryKeyAt(const ConfigSection& section) {
  std::string nulls;
  for (const std::string& key : section.keys) {
    absl::StrAppend(&nulls, nulls.empty() ? "" : ", ", "\"", key, "\": null");
  }
  const std::string object = absl::StrCat("{", nulls, "}");
  if (section.path.empty()) return object;
  if (section.path == "Properties")
    return absl::StrCat(R"({"ID": "g", "Properties": )", object, "}");
  const std::string key = section.path.substr(std::string("Properties.").size());
  std::string props = R"("Size": 1)";
  for (const char* other : {"Instance", "Flavor"}) {
    if (key != other) absl::StrAppend(&props, R"(, ")", other, R"(": {"Plugin": "p"})");
  }
  return absl::StrCat(R"({"ID": "g", "Properties": {)", props, ", \"", key, "\": ", object, "}}");
}

TEST(ConfigKeysTest, EverySectionAcceptsItsKeysAndRefusesOthers) {
  std::vector<std::string> paths;
  for (const ConfigSection& section : ConfigKeys()) {
    SCOPED_TRACE(section.path);
    paths.push_back(section.path);
    EXPECT_FALSE(section.keys.empty());
    // Every key gets past the unknown-key check (null is a wrong value for each of them).
    absl::StatusOr<ParsedConfig> config = ParseConfig(WithEveryKeyAt(section));
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().message().find("unknown key"), absl::string_view::npos)
        << config.status();
    // Another key is refused, naming the keys of this very section.
    ConfigSection bogus = section;
    bogus.keys = {"Bogus"};
    config = ParseConfig(WithEveryKeyAt(bogus));
    ASSERT_FALSE(config.ok());
    const std::string field = section.path.empty() ? "Bogus" : section.path + ".Bogus";
    EXPECT_EQ(config.status().message(), absl::StrCat(field, ": unknown key (expected one of: ",
                                                      absl::StrJoin(section.keys, ", "), ")"));
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"", "Properties", "Properties.Allocation",
                                             "Properties.Instance", "Properties.Flavor",
                                             "Properties.Update", "Properties.Remediation"}));
}

}  // namespace
}  // namespace infrakit::client::config
