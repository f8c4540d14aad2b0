// flavor-vanilla's properties: parsing, validation and the placeholders of probe addresses.
//
//   {
//     "Size": 5,                                    cattle: must match the allocation
//     "LogicalIDs": ["10.0.0.1", "10.0.0.2"],       pets: must match the allocation
//     "UserData": ["line", ...]  (or "Init")        appended to the spec's init
//     "Labels": {"tier": "web"}  (or "Tags")        merged into the spec's tags (flavor wins)
//     "Attachments": [{"ID": "vol-1", "Type": "volume"}],
//     "HealthCheck": {"HTTP": "http://{{.LogicalID}}:8080/health", "TimeoutSeconds": 2}
//   }
//
// Keys are case-insensitive ("userdata" is "UserData"). A HealthCheck holds exactly one of
// "Command" (run with /bin/sh -c, healthy on exit 0), "TCP" ("host:port", healthy when a
// connection opens) or "HTTP" (an http:// or https:// URL, healthy on a 2xx answer to GET),
// plus an optional "TimeoutSeconds" (default 5). TCP and HTTP addresses may contain
// {{.LogicalID}} and {{.ID}}, replaced by the instance's logical ID and ID.
#ifndef INFRAKIT_PLUGINS_FLAVOR_VANILLA_VANILLA_PROPERTIES_H_
#define INFRAKIT_PLUGINS_FLAVOR_VANILLA_VANILLA_PROPERTIES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::plugins::flavor::vanilla {

// A health probe.
struct HealthCheck {
  enum class Kind { kCommand, kTcp, kHttp };
  Kind kind = Kind::kCommand;
  // The command, "host:port" or URL, placeholders not yet expanded.
  std::string target;
  absl::Duration timeout = absl::Seconds(5);
};

// Parsed flavor properties.
struct VanillaProperties {
  // From "UserData" or "Init", in order.
  std::vector<std::string> init_lines;
  // From "Labels" or "Tags".
  std::map<std::string, std::string> tags;
  std::vector<::infrakit::instance::v1::Attachment> attachments;
  std::optional<int64_t> size;
  std::optional<std::vector<std::string>> logical_ids;
  std::optional<HealthCheck> health_check;
};

// One object of flavor-vanilla's properties and the keys the parser accepts in it.
struct PropertySection {
  // "" (the properties themselves), "HealthCheck" or "Attachments" (each attachment).
  std::string path;
  // Every key accepted there, spelled as documented; matched case-insensitively.
  std::vector<std::string> keys;
};

// The keys of every object ParseVanillaProperties checks: the very lists it refuses other keys
// by (so that a test can hold docs/config.md to them). Thread-safe.
const std::vector<PropertySection>& VanillaPropertyKeys();

// Parses and checks `properties`. INVALID_ARGUMENT naming the field (in the documented
// spelling, e.g. "HealthCheck.TimeoutSeconds") for unknown keys, wrong types, a key given
// twice (also as its synonym), a HealthCheck without exactly one probe, a malformed address
// or a timeout that is not positive. Thread-safe (pure).
absl::StatusOr<VanillaProperties> ParseVanillaProperties(
    const google::protobuf::Struct& properties);

// Checks "Size" / "LogicalIDs" against the group's allocation (an unset allocation is not
// checked). INVALID_ARGUMENT naming the field on a mismatch. Thread-safe (pure).
absl::Status CheckAllocation(const VanillaProperties& properties,
                             const ::infrakit::flavor::v1::Allocation& allocation);

// Replaces {{.LogicalID}} and {{.ID}} in `text`. INVALID_ARGUMENT for another or an unclosed
// placeholder; FAILED_PRECONDITION when a placeholder's value is empty (the probe cannot run
// yet). Thread-safe (pure).
absl::StatusOr<std::string> ExpandPlaceholders(absl::string_view text, absl::string_view id,
                                               absl::string_view logical_id);

}  // namespace infrakit::plugins::flavor::vanilla

#endif  // INFRAKIT_PLUGINS_FLAVOR_VANILLA_VANILLA_PROPERTIES_H_
