#include "plugins/instance/vagrant/properties.h"

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "plugins/instance/vagrant/vagrantfile.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

using google::protobuf::Value;

const char* KindName(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kNumberValue:
      return "number";
    case Value::kStringValue:
      return "string";
    case Value::kBoolValue:
      return "bool";
    case Value::kStructValue:
      return "object";
    case Value::kListValue:
      return "list";
    default:
      return "nothing";
  }
}

absl::Status WrongType(absl::string_view field, absl::string_view want, const Value& got) {
  return absl::InvalidArgumentError(
      absl::StrCat("properties.", field, ": must be ", want, ", got ", KindName(got)));
}

// POSIX portable environment names: letters, digits, underscore, not starting with a digit.
bool IsEnvName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

bool IsProviderName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

absl::Status ParseEnv(const Value& value, VagrantProperties* parsed) {
  if (value.kind_case() != Value::kStructValue) {
    return WrongType("Env", "an object of strings", value);
  }
  const std::map<std::string, Value> vars(value.struct_value().fields().begin(),
                                          value.struct_value().fields().end());
  for (const auto& [name, var] : vars) {
    const std::string field = absl::StrCat("Env.", name);
    if (!IsEnvName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "properties.", field,
          ": not a valid variable name (letters, digits, _; not starting with a digit)"));
    }
    if (absl::StartsWith(name, "INFRAKIT_")) {
      return absl::InvalidArgumentError(
          absl::StrCat("properties.", field, ": INFRAKIT_ variables are set by the plugin"));
    }
    if (var.kind_case() != Value::kStringValue) return WrongType(field, "a string", var);
    parsed->env[name] = var.string_value();
  }
  return absl::OkStatus();
}

// A non-empty string property.
absl::Status ParseString(const std::string& key, const Value& value, std::string* out) {
  if (value.kind_case() != Value::kStringValue) return WrongType(key, "a string", value);
  if (value.string_value().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("properties.", key, ": must not be empty"));
  }
  *out = value.string_value();
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& VagrantPropertyKeys() {
  static const auto* const kKeys =
      new std::vector<std::string>{"Image", "Command", "Env", "Provider", "Template"};
  return *kKeys;
}

absl::StatusOr<VagrantProperties> ParseVagrantProperties(
    const google::protobuf::Struct& properties) {
  VagrantProperties parsed;
  // Sorted, so that the first error reported does not depend on map order.
  const std::map<std::string, Value> fields(properties.fields().begin(), properties.fields().end());
  for (const auto& [key, value] : fields) {
    absl::Status status;
    if (key == "Image") {
      status = ParseString(key, value, &parsed.image);
    } else if (key == "Command") {
      status = ParseString(key, value, &parsed.command);
    } else if (key == "Env") {
      status = ParseEnv(value, &parsed);
    } else if (key == "Provider") {
      status = ParseString(key, value, &parsed.provider);
      if (status.ok() && !IsProviderName(parsed.provider)) {
        status = absl::InvalidArgumentError(
            absl::StrCat("properties.Provider: not a provider name: \"", parsed.provider, "\""));
      }
    } else if (key == "Template") {
      status = ParseString(key, value, &parsed.template_text);
      if (status.ok()) status = CheckTemplate(parsed.template_text);
    } else {
      status = absl::InvalidArgumentError(absl::StrCat(
          "properties.", key,
          ": unknown property (known: ", absl::StrJoin(VagrantPropertyKeys(), ", "), ")"));
    }
    if (!status.ok()) return status;
  }
  if (parsed.template_text.empty() && parsed.image.empty()) {
    return absl::InvalidArgumentError(
        "properties.Image: required (the docker image of the default Vagrantfile template)");
  }
  return parsed;
}

}  // namespace infrakit::plugins::instance::vagrant
