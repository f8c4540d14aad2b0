// Reading YAML that users write into google.protobuf.Value, so that a YAML config becomes the
// very Value (and so the same canonical JSON and config_sha) its JSON twin does.
//
// Scalars follow YAML 1.2's core schema, which is what a JSON user expects of them:
//   - quoted ('x', "x") and block (|, >) scalars are strings, always;
//   - plain null, Null, NULL, ~ and an empty value are null;
//   - plain true / True / TRUE / false / False / FALSE are booleans (yes, no, on and off are
//     strings: YAML 1.1's extra booleans are not);
//   - plain decimal integers (leading zeros are decimal too: 010 is 10), 0o17 (octal), 0x1F
//     (hex) and decimal fractions / exponents are numbers, read into a double as a JSON
//     number is; .inf and .nan are refused (JSON cannot carry them);
//   - everything else is a string.
// The standard tags !!str, !!int, !!float, !!bool, !!null, !!map and !!seq force a kind; other
// tags are refused. Mapping keys are strings whatever they look like (1: x has the key "1").
// Anchors and aliases are expanded, and "<<" merges mappings in (keys already present win), as
// YAML 1.1 tools do. Duplicate keys are errors, as in JSON. The text must hold one document.
#ifndef INFRAKIT_COMMON_YAML_VALUE_H_
#define INFRAKIT_COMMON_YAML_VALUE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace infrakit::common {

// Parses YAML text (one document) into a Value; an empty document (or only comments) is null.
// Errors: INVALID_ARGUMENT "not valid YAML: <problem> at line L, column C" (lines and columns
// count from 1), e.g. text that is not UTF-8 or holds a control character other than tab, CR
// and LF, a syntax error, a duplicate key, an unknown tag, nesting deeper than 100 levels (also
// an alias inside its own anchor), more than 1,000,000 values after expanding aliases, or a
// second document. Thread-safe (pure).
absl::StatusOr<google::protobuf::Value> ParseYamlValue(absl::string_view text);

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_YAML_VALUE_H_
