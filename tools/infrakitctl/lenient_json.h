// JSON (or YAML) input for the CLI's instance and flavor verbs, read the way users write it: the
// original InfraKit's capitalised keys ("Properties", "LogicalID", "Tags") as well as protobuf's
// own spellings ("properties", "logical_id", "logicalId").
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_LENIENT_JSON_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_LENIENT_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/config_text.h"
#include "google/protobuf/message.h"

namespace infrakit::tools::infrakitctl {

// Parses `text`, JSON or YAML as `format` says (common/config_text.h; YAML is read into the
// values the same JSON would give), into `message` (which is cleared first). On top of
// protobuf's JSON mapping:
//   - field names match ignoring case and underscores, at every level of nested messages
//     ("LogicalID" is logical_id); the contents of maps and of google.protobuf.Struct / Value
//     fields (plugin properties, tags) are kept exactly as written;
//   - null means "not set" for any field;
//   - an enum value may be given by its short name, in any case ("healthy" for
//     HEALTH_HEALTHY, "running" for LIFECYCLE_STATE_RUNNING);
//   - a message whose only field is a list may be given as that list
//     ("LogicalIDs": ["a", "b"] for Allocation.logical_ids).
// Errors: INVALID_ARGUMENT "not valid JSON: <problem> at line L, column C" (or "not valid YAML:
// ..."), or "<path>: <problem>" naming the field as the user spelled it (unknown fields are
// errors, and the message lists the known ones). Thread-safe (pure).
absl::Status ParseLenientJson(absl::string_view text, google::protobuf::Message* message,
                              common::ConfigFormat format = common::ConfigFormat::kDetect);

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_LENIENT_JSON_H_
