// Deterministic JSON text for google.protobuf.Value / Struct: the bytes that config_sha hashes,
// and the pretty form that configs are echoed back in.
//
// Canonical means: object keys sorted (by bytes) at every level, no insignificant whitespace,
// integral numbers within +-2^53 printed as integers (5, not 5.0; -0 as 0), other numbers in the
// shortest form that reads back to the same double, strings escaped per RFC 8259 (quote,
// backslash and control characters; other UTF-8 left as is). Two Values that compare equal give
// the same text, whatever order their Struct maps iterate in.
#ifndef INFRAKIT_SPEC_CANONICAL_JSON_H_
#define INFRAKIT_SPEC_CANONICAL_JSON_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace infrakit::spec {

// Compact canonical JSON of `value`. A Value with no kind set is written as null; NaN and
// infinities (which JSON cannot express; only a binary proto can carry them) as the strings
// "NaN", "Infinity", "-Infinity", as proto3's JSON mapping does. Thread-safe (pure).
std::string CanonicalJson(const google::protobuf::Value& value);

// Compact canonical JSON of an object. Thread-safe (pure).
std::string CanonicalJson(const google::protobuf::Struct& object);

// The same content as CanonicalJson, indented by `indent_step` spaces per level, one member or
// element per line; empty objects and arrays are written "{}" and "[]". Lines after the first
// are additionally indented by `base_indent` spaces so that the text can be embedded at that
// depth of an enclosing document. Thread-safe (pure).
std::string PrettyJson(const google::protobuf::Value& value, int base_indent = 0,
                       int indent_step = 2);

// Appends `s` as a JSON string literal (with quotes) to `out`. Thread-safe (pure).
void AppendJsonString(absl::string_view s, std::string* out);

// Appends the canonical text of a number (see above) to `out`. Thread-safe (pure).
void AppendJsonNumber(double number, std::string* out);

// `s` as a JSON string literal (with quotes), e.g. for quoting a user's text in a message.
// Thread-safe (pure).
std::string JsonString(absl::string_view s);

// The canonical text of a number (see above). Thread-safe (pure).
std::string JsonNumber(double number);

}  // namespace infrakit::spec

#endif  // INFRAKIT_SPEC_CANONICAL_JSON_H_
