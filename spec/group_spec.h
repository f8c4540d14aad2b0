// The rules of a group spec: what every infrakit.group.v1.GroupSpec must satisfy, whether it came
// from a config file (client/config) or straight from a gRPC client (the group service), and the
// spec's config_sha, the value of the kShaTag tag (spec/tags.h) on every instance made from it.
#ifndef INFRAKIT_SPEC_GROUP_SPEC_H_
#define INFRAKIT_SPEC_GROUP_SPEC_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "infrakit/group/v1/group.pb.h"

namespace infrakit::spec {

// The rules every GroupSpec must satisfy. Errors: INVALID_ARGUMENT "<proto field path>:
// <problem>", e.g. "allocation.logical_ids.ids[2]: duplicate logical ID \"10.0.0.1\" (also at
// [0])". Checks: id and plugin names (ValidateName), no allocation key left in the flavor's
// properties (IsAllocationKey), an allocation that is set (size >= 0, or logical IDs
// non-empty and unique), update and remediation settings in range. The plugins' properties are
// not otherwise inspected. Thread-safe (pure).
absl::Status ValidateGroupSpec(const infrakit::group::v1::GroupSpec& spec);

// Checks a group ID or plugin name: [A-Za-z0-9._-], not starting with '.', 1 to 128
// characters (they become file names: state files, sockets). Returns OK or INVALID_ARGUMENT
// "<field>: <problem>". Thread-safe (pure).
absl::Status ValidateName(absl::string_view field, absl::string_view name);

// Checks a list of logical IDs: each non-empty, none twice. Returns OK or INVALID_ARGUMENT
// "<field_of(i)>: <problem>" for the first offending element i, a duplicate naming the index of
// the earlier one ("duplicate logical ID \"a\" (also at [0])"). Thread-safe (pure; `field_of`
// is called on the calling thread).
absl::Status ValidateLogicalIds(absl::Span<const std::string> ids,
                                absl::FunctionRef<std::string(size_t)> field_of);

// Whether `key`, compared case-insensitively, is one that allocates members ("Size",
// "LogicalIDs", "IPs"): the keys a config may write in the flavor's properties and that never
// stay there in a spec. Thread-safe (pure).
bool IsAllocationKey(absl::string_view key);

// Whether an update under `policy` could never replace a member of a group allocated as
// `allocation`: a group of a size (cattle) whose policy sets both max_surge and max_unavailable,
// each to 0 (a count of 0 or 0%). Pets are replaced in place and need neither. Thread-safe (pure).
bool UpdateCannotReplace(const infrakit::group::v1::UpdatePolicy& policy,
                         const infrakit::flavor::v1::Allocation& allocation);

// The config_sha of a spec: base64url (with '=' padding) of the SHA-1 of the canonical JSON
// (spec/canonical_json.h) of
//   {"Flavor": {"Plugin": <flavor.plugin>, "Properties": <flavor.properties>},
//    "Instance": {"Plugin": <instance.plugin>, "Properties": <instance.properties>}}
// (absent properties hash as {}). Independent of key order and whitespace in the config; the
// allocation, update and remediation settings are not part of it, so resizing a group never
// changes it. Thread-safe (pure).
std::string ConfigSha(const infrakit::group::v1::GroupSpec& spec);

}  // namespace infrakit::spec

#endif  // INFRAKIT_SPEC_GROUP_SPEC_H_
