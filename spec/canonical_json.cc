#include "spec/canonical_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/json_object.h"

namespace infrakit::spec {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// Doubles represent every integer up to 2^53 exactly; past that "integral" says little about
// what the user wrote, so such numbers keep the general (shortest round-trip) form.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

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
    for (const common::JsonMember& member : common::SortedMembers(object)) {
      if (!first) out_->push_back(',');
      first = false;
      NewLine(indent + step_);
      AppendJsonString(*member.key, out_);
      out_->append(pretty_ ? ": " : ":");
      WriteValue(*member.value, indent + step_);
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

std::string JsonString(absl::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

std::string JsonNumber(double number) {
  std::string out;
  AppendJsonNumber(number, &out);
  return out;
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

}  // namespace infrakit::spec
