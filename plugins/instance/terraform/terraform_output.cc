#include "plugins/instance/terraform/terraform_output.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/json_object.h"

namespace infrakit::plugins::instance::terraform {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const Value* Member(const Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? nullptr : &it->second;
}

std::string StringMember(const Struct& object, const std::string& key) {
  const Value* value = Member(object, key);
  return value != nullptr && value->kind_case() == Value::kStringValue ? value->string_value() : "";
}

// A line of terminal output without Terraform's diagnostic frame.
absl::string_view Unframe(absl::string_view line) {
  for (absl::string_view frame : {"│", "╷", "╵"}) {
    if (absl::ConsumePrefix(&line, frame)) {
      absl::ConsumePrefix(&line, " ");
      break;
    }
  }
  return absl::StripTrailingAsciiWhitespace(line);
}

// "  with aws_instance.instance-1," -> "aws_instance.instance-1"; "" otherwise.
std::string WithAddress(absl::string_view line) {
  line = absl::StripLeadingAsciiWhitespace(line);
  if (!absl::ConsumePrefix(&line, "with ") || !absl::ConsumeSuffix(&line, ",")) return "";
  return std::string(line);
}

}  // namespace

absl::StatusOr<std::map<std::string, Struct>> ParseShowJson(absl::string_view text) {
  absl::StatusOr<Value> parsed = common::ParseJsonValue(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("terraform show -json: ", parsed.status().message()));
  }
  if (parsed->kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError("terraform show -json: not a JSON object");
  }
  std::map<std::string, Struct> resources;
  const Value* values = Member(parsed->struct_value(), "values");
  if (values == nullptr || values->kind_case() == Value::kNullValue) return resources;
  const Value* root = values->kind_case() == Value::kStructValue
                          ? Member(values->struct_value(), "root_module")
                          : nullptr;
  if (root == nullptr || root->kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError("terraform show -json: values.root_module missing");
  }
  const Value* list = Member(root->struct_value(), "resources");
  if (list == nullptr) return resources;
  if (list->kind_case() != Value::kListValue) {
    return absl::InvalidArgumentError(
        "terraform show -json: values.root_module.resources is not a list");
  }
  for (const Value& item : list->list_value().values()) {
    if (item.kind_case() != Value::kStructValue) continue;
    const Struct& resource = item.struct_value();
    const std::string mode = StringMember(resource, "mode");
    if (!mode.empty() && mode != "managed") continue;
    const std::string address = StringMember(resource, "address");
    if (address.empty()) continue;
    const Value* attributes = Member(resource, "values");
    resources[address] = attributes != nullptr && attributes->kind_case() == Value::kStructValue
                             ? attributes->struct_value()
                             : Struct();
  }
  return resources;
}

std::map<std::string, std::string> ParseApplyErrors(absl::string_view output) {
  std::map<std::string, std::string> errors;
  std::vector<std::string> block;
  std::string address;
  auto flush = [&] {
    if (block.empty()) return;
    while (!block.empty() && block.back().empty()) block.pop_back();
    std::string& text = errors[address];
    text = text.empty() ? absl::StrJoin(block, "\n")
                        : absl::StrCat(text, "\n\n", absl::StrJoin(block, "\n"));
    block.clear();
    address.clear();
  };
  for (absl::string_view raw : absl::StrSplit(output, '\n')) {
    const absl::string_view line = Unframe(raw);
    if (absl::StartsWith(line, "Error: ")) {
      flush();
      block.emplace_back(line);
      continue;
    }
    if (block.empty()) continue;  // Not within an error diagnostic.
    if (absl::StartsWith(line, "Warning: ")) {
      flush();
      continue;
    }
    if (address.empty()) address = WithAddress(line);
    block.emplace_back(line);
  }
  flush();
  return errors;
}

}  // namespace infrakit::plugins::instance::terraform
