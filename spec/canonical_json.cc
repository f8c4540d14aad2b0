#include "spec/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/map.h"

namespace infrakit::spec {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// Doubles represent every integer up to 2^53 exactly; past that "integral" says little about
// what the user wrote, so such numbers keep the general (shortest round-trip) form.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// A Struct's members in byte order of their keys: protobuf's Map iterates in an unspecified
// order, and the canonical form must not depend on it.
std::vector<const google::protobuf::Map<std::string, Value>::value_type*> SortedMembers(
    const Struct& object) {
  std::vector<const google::protobuf::Map<std::string, Value>::value_type*> members;
  members.reserve(object.fields().size());
  for (const auto& member : object.fields()) members.push_back(&member);
  std::sort(members.begin(), members.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  return members;
}

// Writes canonical JSON; `pretty` adds newlines and indentation (`indent` is the current
// line's indentation, `step` the increment per level).
class Writer {
 public:
  Writer(bool pretty, int step, std::string* out) : pretty_(pretty), step_(step), out_(out) {}

  void WriteValue(const Value& value, int indent) {
    switch (value.kind_case()) {
      case Value::kNullValue:
      case Value::KIND_NOT_SET:
        out_->append("null");
        return;
      case Value::kNumberValue:
        AppendJsonNumber(value.number_value(), out_);
        return;
      case Value::kStringValue:
        AppendJsonString(value.string_value(), out_);
        return;
      case Value::kBoolValue:
        out_->append(value.bool_value() ? "true" : "false");
        return;
      case Value::kStructValue:
        WriteStruct(value.struct_value(), indent);
        return;
      case Value::kListValue:
        WriteList(value.list_value(), indent);
        return;
    }
    out_->append("null");
  }

  void WriteStruct(const Struct& object, int indent) {
    if (object.fields().empty()) {
      out_->append("{}");
      return;
    }
    out_->push_back('{');
    bool first = true;
    for (const auto* member : SortedMembers(object)) {
      if (!first) out_->push_back(',');
      first = false;
      NewLine(indent + step_);
      AppendJsonString(member->first, out_);
      out_->append(pretty_ ? ": " : ":");
      WriteValue(member->second, indent + step_);
    }
    NewLine(indent);
    out_->push_back('}');
  }

  void WriteList(const ListValue& list, int indent) {
    if (list.values().empty()) {
      out_->append("[]");
      return;
    }
    out_->push_back('[');
    bool first = true;
    for (const Value& element : list.values()) {
      if (!first) out_->push_back(',');
      first = false;
      NewLine(indent + step_);
      WriteValue(element, indent + step_);
    }
    NewLine(indent);
    out_->push_back(']');
  }

 private:
  void NewLine(int indent) {
    if (!pretty_) return;
    out_->push_back('\n');
    out_->append(indent, ' ');
  }

  const bool pretty_;
  const int step_;
  std::string* const out_;
};

}  // namespace

void AppendJsonString(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (u < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendJsonNumber(double number, std::string* out) {
  if (std::isnan(number)) {
    out->append("\"NaN\"");
    return;
  }
  if (std::isinf(number)) {
    out->append(number > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  if (number == std::trunc(number) && std::fabs(number) <= kMaxExactInteger) {
    // Also turns -0 into 0: they compare equal, so they must hash equal.
    absl::StrAppend(out, static_cast<int64_t>(number));
    return;
  }
  // Shortest text that reads back as the same double: deterministic and exact.
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), number);
  out->append(buffer, result.ptr);
}

std::string CanonicalJson(const Value& value) {
  std::string out;
  Writer(/*pretty=*/false, /*step=*/0, &out).WriteValue(value, 0);
  return out;
}

std::string CanonicalJson(const Struct& object) {
  std::string out;
  Writer(/*pretty=*/false, /*step=*/0, &out).WriteStruct(object, 0);
  return out;
}

std::string PrettyJson(const Value& value, int base_indent, int indent_step) {
  std::string out;
  Writer(/*pretty=*/true, indent_step, &out).WriteValue(value, base_indent);
  return out;
}

// Turns protobuf's parse error ("<what>\n<up to 20 characters either side>\n<spaces>^") into
// "<what> at line L, column C", locating the excerpt in the text when it occurs there once.
std::string DescribeJsonSyntaxError(absl::string_view text, absl::string_view error) {
  const size_t first_newline = error.find('\n');
  const size_t last_newline = error.rfind('\n');
  if (first_newline == absl::string_view::npos || first_newline == last_newline) {
    return std::string(error);
  }
  const absl::string_view what = error.substr(0, first_newline);
  const absl::string_view excerpt =
      error.substr(first_newline + 1, last_newline - first_newline - 1);
  const absl::string_view caret = error.substr(last_newline + 1);
  const size_t column_in_excerpt = caret.find('^');
  const size_t at = text.find(excerpt);
  if (excerpt.empty() || column_in_excerpt == absl::string_view::npos ||
      at == absl::string_view::npos || text.find(excerpt, at + 1) != absl::string_view::npos) {
    return std::string(what);
  }
  const size_t offset = std::min(at + column_in_excerpt, text.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::StrCat(absl::StripSuffix(what, "."), " at line ", line, ", column ",
                      offset - line_start + 1);
}

}  // namespace infrakit::spec
