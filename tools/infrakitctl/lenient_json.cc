#include "tools/infrakitctl/lenient_json.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/config_text.h"
#include "common/json_object.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace infrakit::tools::infrakitctl {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Struct;
using google::protobuf::Value;
using infrakit::common::InvalidAt;
using infrakit::common::JsonIndexPath;
using infrakit::common::JsonPath;

// "LogicalID", "logical_id" and "logicalId" all become "logicalid".
std::string Canon(absl::string_view name) {
  std::string out;
  for (char c : name) {
    if (c != '_' && c != '-') out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Well-known types (Struct, Value, Timestamp...) have their own JSON forms: their content is
// the user's, not field names to normalise.
bool IsOpaque(const Descriptor* descriptor) {
  return absl::StartsWith(descriptor->full_name(), "google.protobuf.");
}

// What `value` is, for messages: JSON's names (common::JsonKindName), except that the CLI calls
// an array "a list".
std::string KindName(const Value& value) {
  return value.has_list_value() ? "a list" : common::JsonKindName(value);
}

absl::Status NormalizeMessage(Value* value, const Descriptor* descriptor, const std::string& path);

absl::Status NormalizeSingle(Value* value, const FieldDescriptor* field, const std::string& path) {
  if (field->type() == FieldDescriptor::TYPE_ENUM && value->has_string_value()) {
    const std::string wanted =
        absl::AsciiStrToUpper(absl::StrReplaceAll(value->string_value(), {{"-", "_"}, {" ", "_"}}));
    const auto* enum_type = field->enum_type();
    // The enum's value prefix, e.g. "LIFECYCLE_STATE" for LifecycleState.
    std::string value_prefix;
    for (char c : enum_type->name()) {
      if (absl::ascii_isupper(static_cast<unsigned char>(c)) && !value_prefix.empty()) {
        value_prefix.push_back('_');
      }
      value_prefix.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
    }
    std::vector<std::string> short_names;
    for (int i = 0; i < enum_type->value_count(); ++i) {
      const std::string& name = enum_type->value(i)->name();
      if (name == wanted || absl::EndsWith(name, absl::StrCat("_", wanted))) {
        value->set_string_value(name);
        return absl::OkStatus();
      }
      if (absl::EndsWith(name, "_UNSPECIFIED")) continue;
      absl::string_view short_name = name;
      absl::ConsumePrefix(&short_name, absl::StrCat(value_prefix, "_"));
      short_names.push_back(absl::AsciiStrToLower(short_name));
    }
    return InvalidAt(path, absl::StrCat("unknown value \"", value->string_value(),
                                        "\"; expected one of: ", absl::StrJoin(short_names, ", ")));
  }
  const Descriptor* message_type = field->message_type();
  if (message_type == nullptr || IsOpaque(message_type)) return absl::OkStatus();
  if (value->has_list_value() && message_type->field_count() == 1 &&
      message_type->field(0)->is_repeated()) {
    Value wrapped;
    (*wrapped.mutable_struct_value()->mutable_fields())[message_type->field(0)->json_name()] =
        *value;
    *value = std::move(wrapped);
  }
  return NormalizeMessage(value, message_type, path);
}

absl::Status NormalizeField(Value* value, const FieldDescriptor* field, const std::string& path) {
  if (field->is_map()) {
    const FieldDescriptor* map_value = field->message_type()->map_value();
    if (!value->has_struct_value() || map_value->message_type() == nullptr) return absl::OkStatus();
    for (auto& [key, entry] : *value->mutable_struct_value()->mutable_fields()) {
      if (absl::Status s = NormalizeSingle(&entry, map_value, JsonPath(path, key)); !s.ok())
        return s;
    }
    return absl::OkStatus();
  }
  if (field->is_repeated()) {
    if (!value->has_list_value()) return absl::OkStatus();  // protobuf reports the type
    auto* values = value->mutable_list_value()->mutable_values();
    for (int i = 0; i < values->size(); ++i) {
      if (absl::Status s = NormalizeSingle(&(*values)[i], field, JsonIndexPath(path, i)); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }
  return NormalizeSingle(value, field, path);
}

absl::Status NormalizeMessage(Value* value, const Descriptor* descriptor, const std::string& path) {
  if (!value->has_struct_value()) {
    return InvalidAt(path.empty() ? "input" : path,
                     absl::StrCat("expected a JSON object, got ", KindName(*value)));
  }
  Struct normalized;
  // In sorted order, so that with several problems the same one is reported every time.
  for (const common::JsonMember& member : common::SortedMembers(value->struct_value())) {
    const std::string& key = *member.key;
    const FieldDescriptor* field = nullptr;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* f = descriptor->field(i);
      if (Canon(f->name()) == Canon(key) || Canon(f->json_name()) == Canon(key)) {
        field = f;
        break;
      }
    }
    const std::string child_path = JsonPath(path, key);
    if (field == nullptr) {
      std::vector<std::string> known;
      for (int i = 0; i < descriptor->field_count(); ++i) {
        std::string name = descriptor->field(i)->json_name();
        name[0] = absl::ascii_toupper(static_cast<unsigned char>(name[0]));
        known.push_back(std::move(name));
      }
      return InvalidAt(
          child_path, absl::StrCat("unknown field; expected one of: ", absl::StrJoin(known, ", ")));
    }
    Value entry = *member.value;
    const bool keeps_null = field->message_type() != nullptr &&
                            field->message_type()->full_name() == "google.protobuf.Value";
    if (entry.has_null_value() && !keeps_null) continue;
    if (absl::Status s = NormalizeField(&entry, field, child_path); !s.ok()) return s;
    auto [it, inserted] = normalized.mutable_fields()->insert({field->json_name(), entry});
    if (!inserted) {
      return InvalidAt(child_path, absl::StrCat("given twice (also under another spelling of ",
                                                field->json_name(), ")"));
    }
  }
  value->mutable_struct_value()->Swap(&normalized);
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseLenientJson(absl::string_view text, google::protobuf::Message* message,
                              common::ConfigFormat format) {
  absl::StatusOr<Value> parsed = common::ParseConfigValue(text, format);
  if (!parsed.ok()) return parsed.status();
  Value root = *std::move(parsed);
  if (IsOpaque(message->GetDescriptor())) {
    // A Struct (plugin properties) or another well-known type: the input is the content.
    if (message->GetDescriptor()->full_name() == "google.protobuf.Struct" &&
        !root.has_struct_value()) {
      return InvalidAt("input", absl::StrCat("expected a JSON object, got ", KindName(root)));
    }
  } else if (absl::Status s = NormalizeMessage(&root, message->GetDescriptor(), ""); !s.ok()) {
    return s;
  }
  // JSON or YAML, the input is now a Value in protobuf's JSON mapping: re-encoded, protobuf's
  // own parser fills the message.
  std::string normalized;
  auto status = google::protobuf::util::MessageToJsonString(root, &normalized);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(
        "re-encoding the input: ", std::string(status.message().data(), status.message().size())));
  }
  message->Clear();
  status = google::protobuf::util::JsonStringToMessage(normalized, message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        std::string(status.message().data(), status.message().size()));
  }
  return absl::OkStatus();
}

}  // namespace infrakit::tools::infrakitctl
