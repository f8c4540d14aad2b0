// Config text as users give it: JSON or YAML, told apart by the file's extension or, for stdin
// and other names, by the text itself. Both become the same google.protobuf.Value, so a config
// and its YAML twin give the same spec and config_sha.
#ifndef INFRAKIT_COMMON_CONFIG_TEXT_H_
#define INFRAKIT_COMMON_CONFIG_TEXT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace infrakit::common {

enum class ConfigFormat {
  kDetect,  // Decide by the text: DetectFormat.
  kJson,
  kYaml,
};

// The format a file name implies: kJson for ".json", kYaml for ".yaml" and ".yml" (in any
// case), kDetect for anything else (including "" and "-", stdin). Thread-safe (pure).
ConfigFormat FormatForPath(absl::string_view path);

// kJson when the text, after an optional UTF-8 byte order mark and white space, starts with '{'
// or '[' or is empty: what a JSON document looks like. kYaml otherwise. (A YAML document that
// starts with a flow mapping or list is read as JSON: name the file .yaml for it.) Thread-safe
// (pure).
ConfigFormat DetectFormat(absl::string_view text);

// Parses `text` in `format` (kDetect: DetectFormat's), dropping a leading UTF-8 byte order mark.
// Errors: ParseJsonValue's "not valid JSON: ..." or ParseYamlValue's "not valid YAML: ...", each
// with the line and column when they can be told. Thread-safe (pure).
absl::StatusOr<google::protobuf::Value> ParseConfigValue(absl::string_view text,
                                                         ConfigFormat format);

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_CONFIG_TEXT_H_
