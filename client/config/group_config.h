// Group configs as users write them <-> the canonical GroupSpec. The rules every GroupSpec must
// pass and its config_sha are spec/group_spec.h's; the parser applies the same rules with the
// user's spelling of each field.
//
// Configs are JSON or YAML (common/config_text.h chooses, common/yaml_value.h reads YAML into the
// same Value the JSON would give): a config and its YAML twin have the same spec and config_sha.
//
// Accepted forms, keys case-insensitive at every level the config itself defines (the
// plugins' own Properties are opaque and kept exactly as written):
//
//   1. nested:  {"ID": "cattle", "Properties": {
//                  "Instance": {"Plugin": "instance-file", "Properties": {...}},
//                  "Flavor":   {"Plugin": "flavor-vanilla", "Properties": {"Size": 5, ...}}}}
//   2. flat:    {"ID": "cattle", "Properties": {
//                  "InstancePlugin": "instance-file", "InstancePluginProperties": {...},
//                  "FlavorPlugin": "flavor-vanilla", "FlavorPluginProperties": {...}}}
//   3. lower:   {"id": "zk", "plugin": "group", "properties": {"ips": [...],
//                  "instance": {"plugin": "vagrant"}, "flavor": {"plugin": "zookeeper"}}}
//
// Group properties (beside Instance / Flavor or their flat equivalents):
//   "Size": 5                         cattle: a number of identical members (>= 0)
//   "LogicalIDs": ["a", "b"]          pets: one member per logical ID ("IPs" is a synonym)
//   "Allocation": {"Size": 5}         the original InfraKit's form of either (or
//                                     {"LogicalIDs": [...]}); the same spec as the flat key
//   "Update": {                       rolling updates (all optional)
//     "MaxSurge": 1 | "25%",          members above the size during an update
//     "MaxUnavailable": 0 | "10%",    members below the size during an update
//     "MinReadySeconds": 5,           healthy for this long before a member counts (>= 0)
//     "HealthDeadlineSeconds": 300,   healthy within this long or the update fails (> 0)
//     "OnFailure": "pause" | "rollback"}
//   "Remediation": {                  replacing members that stay unhealthy (all optional)
//     "Enabled": true,
//     "UnhealthySeconds": 60,         unhealthy this long before replacement (> 0)
//     "MaxConcurrent": 1,             replacements at a time (>= 1)
//     "MaxUnhealthyPercent": 50,      circuit breaker: pause above this share (1..100)
//     "InitialDelaySeconds": 10,      startup grace of a member never healthy yet (> 0)
//     "ProbeIntervalSeconds": 1}      re-check of a member whose verdict is pending (> 0)
//
// Size and LogicalIDs (or IPs) may instead sit in the flavor's Properties, as the original
// InfraKit's tutorial has it; they are then lifted out of the flavor's properties into the
// allocation, so that the flavor never sees them and resizing never changes the config_sha.
// Giving the allocation in two places (or two forms) is an error naming both.
//
// Every error is INVALID_ARGUMENT with a message "<field path>: <problem>", the path spelled
// as the user spelled it, e.g. "Properties.Flavor.Properties.Size: must be >= 0, got -1".
//
// docs/config.md is the reference for users; a test keeps it in step with ConfigKeys().
#ifndef INFRAKIT_CLIENT_CONFIG_GROUP_CONFIG_H_
#define INFRAKIT_CLIENT_CONFIG_GROUP_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/config_text.h"
#include "infrakit/group/v1/group.pb.h"
#include "spec/group_spec.h"

namespace infrakit::client::config {

// A parsed config file: the canonical spec and the group plugin it names.
struct ParsedConfig {
  // The canonical group spec; passes spec::ValidateGroupSpec.
  infrakit::group::v1::GroupSpec spec;
  // The config's top-level "plugin" (e.g. "group"): the group plugin that should manage the
  // group. Empty when the config does not name one.
  std::string group_plugin;
};

// One object of a group config and the keys the parser accepts in it.
struct ConfigSection {
  // Where the object is, spelled as in the nested form: "" (the top level), "Properties",
  // "Properties.Allocation", "Properties.Instance", "Properties.Flavor", "Properties.Update" or
  // "Properties.Remediation".
  // The flat form's keys (InstancePlugin, ...) and the lower-case form's (ips, ...) are keys of
  // "Properties".
  std::string path;
  // Every key accepted there, spelled as documented. Keys are matched case-insensitively, so
  // "id", "maxSurge" and "ips" are "ID", "MaxSurge" and "IPs".
  std::vector<std::string> keys;
};

// Every object of a group config whose keys the parser checks, with the keys it accepts: the
// very lists ParseConfig refuses other keys by (so that a test can hold the documentation to
// them). The plugins' own properties are opaque to the parser and not listed. Thread-safe.
const std::vector<ConfigSection>& ConfigKeys();

// Parses a group config in any of the accepted forms, as JSON or YAML (`format`; kDetect tells
// them apart by the text). Errors: INVALID_ARGUMENT naming the field and the problem (for text
// that is not JSON or YAML, "config: not valid JSON: ..." or "config: not valid YAML: ..." with
// the line and column where it goes wrong). Thread-safe (pure).
absl::StatusOr<ParsedConfig> ParseConfig(
    absl::string_view text, common::ConfigFormat format = common::ConfigFormat::kDetect);

// ParseConfig, keeping only the spec.
absl::StatusOr<infrakit::group::v1::GroupSpec> ParseGroupConfig(
    absl::string_view text, common::ConfigFormat format = common::ConfigFormat::kDetect);

// Reads and parses the config file at `path`, JSON or YAML by its extension (.json, .yaml,
// .yml), else by its text. Errors: NOT_FOUND (no such file),
// PERMISSION_DENIED, FAILED_PRECONDITION (a directory, or unreadable) or ParseConfig's
// INVALID_ARGUMENT, each message starting with "<path>: ". Thread-safe.
absl::StatusOr<ParsedConfig> ParseConfigFile(const std::string& path);

// The spec as a config in the nested form ("ID", "Properties" with "Instance", "Flavor",
// "Size" or "LogicalIDs", and "Update" / "Remediation" when set), indented by two spaces, the
// plugins' properties with sorted keys, ending in a newline. ParseGroupConfig(ToJson(spec))
// gives back `spec` for any spec that passes spec::ValidateGroupSpec (plugin properties that were
// absent come back as {}, which hashes the same). Thread-safe (pure).
std::string ToJson(const infrakit::group::v1::GroupSpec& spec);

// As above, with the top-level "Plugin" when config.group_plugin is set.
std::string ToJson(const ParsedConfig& config);

}  // namespace infrakit::client::config

#endif  // INFRAKIT_CLIENT_CONFIG_GROUP_CONFIG_H_
