// Reading JSON that users write into google.protobuf.Value / Struct, and telling them where it
// is wrong: what the group config parser (client/config) and infrakitctl's lenient JSON reader
// (tools/infrakitctl/lenient_json) share. Each applies its own rules on top (which keys exist,
// how keys match) with these pieces: the parse with a located syntax error, the kind of a value,
// an object's members in a stable order, and errors that name the field by its path.
#ifndef INFRAKIT_COMMON_JSON_OBJECT_H_
#define INFRAKIT_COMMON_JSON_OBJECT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace infrakit::common {

// Parses JSON text (any JSON value, e.g. an object or a list) into a Value. Errors:
// INVALID_ARGUMENT "not valid JSON: <problem> at line L, column C" (just "<problem>" where the
// place cannot be told). Thread-safe (pure).
absl::StatusOr<google::protobuf::Value> ParseJsonValue(absl::string_view text);

// Turns protobuf's JSON parse error ("<what>\n<up to 20 characters either side>\n<spaces>^")
// into "<what> at line L, column C" of `text`, locating the excerpt when it occurs there once;
// otherwise returns just <what>. Thread-safe (pure).
std::string DescribeJsonSyntaxError(absl::string_view text, absl::string_view error);

// What `value` is, for messages: "a number", "a string", "a boolean", "an object", "an array"
// or "null" (also for a Value with no kind set). Thread-safe (pure).
const char* JsonKindName(const google::protobuf::Value& value);

// One member of a JSON object: its key as written and its value, both owned by the Struct.
struct JsonMember {
  const std::string* key;
  const google::protobuf::Value* value;
};

// The members of `object` in byte order of their keys: protobuf's Map iterates in an
// unspecified order, and what is written or reported from a walk must not depend on it. The
// pointers are valid while `object` is unchanged. Thread-safe (pure).
std::vector<JsonMember> SortedMembers(const google::protobuf::Struct& object);

// The path of member `key` of the object at `path`: "path.key", or "key" at the top (an empty
// `path`). Thread-safe (pure).
std::string JsonPath(absl::string_view path, absl::string_view key);

// The path of element `index` of the list at `path`: "path[index]". Thread-safe (pure).
std::string JsonIndexPath(absl::string_view path, size_t index);

// INVALID_ARGUMENT "<path>: <problem>", or "<problem>" for an empty `path`. Thread-safe (pure).
absl::Status InvalidAt(absl::string_view path, absl::string_view problem);

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_JSON_OBJECT_H_
