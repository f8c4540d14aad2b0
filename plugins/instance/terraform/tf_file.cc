#include "plugins/instance/terraform/tf_file.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "plugins/instance/terraform/properties.h"

namespace infrakit::plugins::instance::terraform {
namespace {

namespace v1 = ::infrakit::instance::v1;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kRecordKey[] = "//";
constexpr char kIdPrefix[] = "instance-";

}  // namespace

std::string TfFileName(absl::string_view id) { return absl::StrCat(id, kTfJsonSuffix); }

std::string IdOfTfFileName(absl::string_view name) {
  if (!absl::ConsumeSuffix(&name, kTfJsonSuffix)) return "";
  absl::string_view digits = name;
  if (!absl::ConsumePrefix(&digits, kIdPrefix) || digits.empty()) return "";
  for (char c : digits) {
    if (!absl::ascii_isdigit(c)) return "";
  }
  return std::string(name);
}

std::string ResourceAddress(absl::string_view type, absl::string_view id) {
  return absl::StrCat(type, ".", id);
}

absl::StatusOr<std::string> EncodeTfFile(const v1::Description& record) {
  absl::StatusOr<TerraformProperties> properties =
      ParseTerraformProperties(record.spec().properties());
  if (!properties.ok()) return properties.status();
  absl::StatusOr<Struct> body =
      ResourceBody(record.id(), *properties, record.spec(), record.tags());
  if (!body.ok()) return body.status();

  v1::Description kept = record;
  kept.clear_state();
  kept.clear_properties();
  google::protobuf::util::JsonPrintOptions compact;
  compact.preserve_proto_field_names = true;
  std::string record_json;
  if (auto status = google::protobuf::util::MessageToJsonString(kept, &record_json, compact);
      !status.ok()) {
    return absl::InternalError(
        absl::StrCat("encoding the record of ", record.id(), ": ", status.message().as_string()));
  }

  Struct file;
  (*file.mutable_fields())[kRecordKey].set_string_value(record_json);
  Struct* by_type = (*file.mutable_fields())["resource"].mutable_struct_value();
  Struct* by_name = (*by_type->mutable_fields())[properties->type].mutable_struct_value();
  *(*by_name->mutable_fields())[record.id()].mutable_struct_value() = *std::move(body);

  google::protobuf::util::JsonPrintOptions pretty;
  pretty.add_whitespace = true;
  std::string text;
  if (auto status = google::protobuf::util::MessageToJsonString(file, &text, pretty);
      !status.ok()) {
    return absl::InternalError(
        absl::StrCat("encoding ", TfFileName(record.id()), ": ", status.message().as_string()));
  }
  return text;
}

absl::StatusOr<v1::Description> DecodeTfFile(absl::string_view text) {
  Struct file;
  if (auto status = google::protobuf::util::JsonStringToMessage(std::string(text), &file);
      !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not JSON: ", status.message().as_string()));
  }
  auto record = file.fields().find(kRecordKey);
  if (record == file.fields().end() || record->second.kind_case() != Value::kStringValue) {
    return absl::InvalidArgumentError("no instance-terraform record (a \"//\" string)");
  }
  v1::Description desc;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (auto status = google::protobuf::util::JsonStringToMessage(record->second.string_value(),
                                                                &desc, options);
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the \"//\" record: ", status.message().as_string()));
  }
  if (desc.id().empty()) return absl::InvalidArgumentError("the \"//\" record has no id");
  return desc;
}

}  // namespace infrakit::plugins::instance::terraform
