#include "plugins/instance/terraform/properties.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/json_object.h"

namespace infrakit::plugins::instance::terraform {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

absl::Status WrongType(absl::string_view field, absl::string_view want, const Value& got) {
  return absl::InvalidArgumentError(
      absl::StrCat("properties.", field, ": must be ", want, ", got ", common::JsonKindName(got)));
}

bool IsIdentifier(absl::string_view name) {
  if (name.empty() || !(absl::ascii_isalpha(name[0]) || name[0] == '_')) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

// Where each resource type takes the init script: {object field or "", string field}.
struct InitField {
  const char* object;
  const char* field;
};

const InitField* InitFieldOf(absl::string_view type) {
  static constexpr InitField kUserData = {"", "user_data"};
  static constexpr InitField kCustomData = {"os_profile", "custom_data"};
  static constexpr InitField kStartupScript = {"", "metadata_startup_script"};
  if (type == "aws_instance" || type == "digitalocean_droplet") return &kUserData;
  if (type == "azurerm_virtual_machine") return &kCustomData;
  if (type == "google_compute_instance") return &kStartupScript;
  return nullptr;
}

// Appends `init` to the string field `field` of `body` (after a newline), or sets it.
absl::Status AddInit(Struct* body, absl::string_view path, const std::string& field,
                     const std::string& init) {
  auto& fields = *body->mutable_fields();
  auto it = fields.find(field);
  if (it == fields.end()) {
    fields[field].set_string_value(init);
    return absl::OkStatus();
  }
  if (it->second.kind_case() != Value::kStringValue) {
    return WrongType(common::JsonPath(path, field), "a string (the init goes there)", it->second);
  }
  it->second.set_string_value(absl::StrCat(it->second.string_value(), "\n", init));
  return absl::OkStatus();
}

absl::Status MergeTags(const std::string& id, const ::infrakit::instance::v1::Spec& spec,
                       const google::protobuf::Map<std::string, std::string>& tags, Struct* body) {
  auto& fields = *body->mutable_fields();
  Value& value = fields["tags"];
  if (value.kind_case() == Value::kNullValue || value.kind_case() == Value::KIND_NOT_SET) {
    value.mutable_struct_value();
  }
  if (value.kind_case() != Value::kStructValue) {
    return WrongType("value.tags", "an object (the instance's tags go there)", value);
  }
  auto& merged = *value.mutable_struct_value()->mutable_fields();
  for (const auto& [key, tag] : tags) merged[key].set_string_value(tag);
  if (!merged.contains("Name")) merged["Name"].set_string_value(id);
  if (!spec.logical_id().empty()) merged["LogicalID"].set_string_value(spec.logical_id());
  return absl::OkStatus();
}

}  // namespace

bool CarriesTags(absl::string_view type) {
  return type == "aws_instance" || type == "azurerm_virtual_machine" ||
         type == "digitalocean_droplet" || type == "google_compute_instance";
}

absl::StatusOr<TerraformProperties> ParseTerraformProperties(const Struct& properties) {
  TerraformProperties parsed;
  bool has_type = false;
  bool has_value = false;
  for (const common::JsonMember& member : common::SortedMembers(properties)) {
    const std::string& key = *member.key;
    const Value& value = *member.value;
    if (key == "type") {
      if (value.kind_case() != Value::kStringValue) return WrongType(key, "a string", value);
      if (!IsIdentifier(value.string_value())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "properties.type: \"", value.string_value(),
            "\" is not a Terraform resource type (a letter or _, then letters, digits, _ or -)"));
      }
      parsed.type = value.string_value();
      has_type = true;
    } else if (key == "value") {
      if (value.kind_case() != Value::kStructValue) return WrongType(key, "an object", value);
      parsed.value = value.struct_value();
      has_value = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("properties.", key, ": unknown property (known: type, value)"));
    }
  }
  if (!has_type) {
    return absl::InvalidArgumentError(
        "properties.type: missing (the Terraform resource type, e.g. \"aws_instance\")");
  }
  if (!has_value) {
    return absl::InvalidArgumentError("properties.value: missing (the resource's body, an object)");
  }
  return parsed;
}

absl::StatusOr<Struct> ResourceBody(const std::string& id, const TerraformProperties& properties,
                                    const ::infrakit::instance::v1::Spec& spec,
                                    const google::protobuf::Map<std::string, std::string>& tags) {
  Struct body = properties.value;
  if (CarriesTags(properties.type)) {
    if (absl::Status merged = MergeTags(id, spec, tags, &body); !merged.ok()) return merged;
  }
  const InitField* init = InitFieldOf(properties.type);
  if (init == nullptr || spec.init().empty()) return body;
  if (*init->object == '\0') {
    if (absl::Status added = AddInit(&body, "value", init->field, spec.init()); !added.ok()) {
      return added;
    }
    return body;
  }
  Value& object = (*body.mutable_fields())[init->object];
  if (object.kind_case() == Value::KIND_NOT_SET || object.kind_case() == Value::kNullValue) {
    object.mutable_struct_value();
  }
  if (object.kind_case() != Value::kStructValue) {
    return WrongType(common::JsonPath("value", init->object), "an object", object);
  }
  const std::string path = common::JsonPath("value", init->object);
  if (absl::Status added = AddInit(object.mutable_struct_value(), path, init->field, spec.init());
      !added.ok()) {
    return added;
  }
  return body;
}

}  // namespace infrakit::plugins::instance::terraform
