#include "plugins/instance/file/instance_file_format.h"

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/type.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "plugins/instance/file/instance_file.pb.h"

namespace infrakit::plugins::instance::file {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::google::protobuf::NULL_VALUE;
using ::google::protobuf::Value;

constexpr char kTypeUrlPrefix[] = "type.googleapis.com";

// protobuf's binary-to-JSON converter asks its resolver for every message type it meets (the
// file, its spec, Value, Struct, ListValue), on every call, and the descriptor pool's resolver
// builds each google.protobuf.Type afresh from the descriptors: that was most of an encoding's
// cost. The types of a generated pool never change, so each is built once and copied after.
class CachingTypeResolver : public google::protobuf::util::TypeResolver {
 public:
  explicit CachingTypeResolver(google::protobuf::util::TypeResolver* base) : base_(base) {}

  google::protobuf::util::Status ResolveMessageType(const std::string& type_url,
                                                    google::protobuf::Type* message_type) override {
    {
      absl::MutexLock lock(&mu_);
      auto it = types_.find(type_url);
      if (it != types_.end()) {
        *message_type = it->second;
        return google::protobuf::util::Status();
      }
    }
    google::protobuf::util::Status status = base_->ResolveMessageType(type_url, message_type);
    if (status.ok()) {
      absl::MutexLock lock(&mu_);
      types_.try_emplace(type_url, *message_type);
    }
    return status;
  }

  google::protobuf::util::Status ResolveEnumType(const std::string& type_url,
                                                 google::protobuf::Enum* enum_type) override {
    {
      absl::MutexLock lock(&mu_);
      auto it = enums_.find(type_url);
      if (it != enums_.end()) {
        *enum_type = it->second;
        return google::protobuf::util::Status();
      }
    }
    google::protobuf::util::Status status = base_->ResolveEnumType(type_url, enum_type);
    if (status.ok()) {
      absl::MutexLock lock(&mu_);
      enums_.try_emplace(type_url, *enum_type);
    }
    return status;
  }

 private:
  const std::unique_ptr<google::protobuf::util::TypeResolver> base_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, google::protobuf::Type> types_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, google::protobuf::Enum> enums_ ABSL_GUARDED_BY(mu_);
};

google::protobuf::util::TypeResolver* Resolver() {
  static google::protobuf::util::TypeResolver* const resolver =
      new CachingTypeResolver(google::protobuf::util::NewTypeResolverForDescriptorPool(
          kTypeUrlPrefix, google::protobuf::DescriptorPool::generated_pool()));
  return resolver;
}

Value StringOrNull(const std::string& s) {
  Value v;
  if (s.empty()) {
    v.set_null_value(NULL_VALUE);
  } else {
    v.set_string_value(s);
  }
  return v;
}

Value TagsOrNull(const google::protobuf::Map<std::string, std::string>& tags) {
  Value v;
  if (tags.empty()) {
    v.set_null_value(NULL_VALUE);
    return v;
  }
  auto* fields = v.mutable_struct_value()->mutable_fields();
  for (const auto& [key, value] : tags) (*fields)[key].set_string_value(value);
  return v;
}

// protobuf prints JSON with a 1-space indent; the original InfraKit's files use 2. JSON strings
// cannot hold a raw newline, so every line's leading spaces are indentation and can simply be
// doubled.
std::string DoubleIndent(const std::string& json) {
  std::string out;
  out.reserve(json.size() * 5 / 4);
  for (absl::string_view line : absl::StrSplit(json, '\n')) {
    size_t spaces = line.find_first_not_of(' ');
    if (spaces == absl::string_view::npos) spaces = line.size();
    out.append(2 * spaces, ' ');
    absl::StrAppend(&out, line.substr(spaces));
    out.push_back('\n');
  }
  // StrSplit yields a last empty piece after a trailing newline; keep exactly one.
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') {
    out.pop_back();
  }
  return out;
}

absl::StatusOr<std::string> DecodeStringOrNull(bool present, const Value& v,
                                               absl::string_view field) {
  if (!present || v.kind_case() == Value::kNullValue) return std::string();
  if (v.kind_case() != Value::kStringValue) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": want a string or null"));
  }
  return v.string_value();
}

absl::Status DecodeTags(bool present, const Value& v, absl::string_view field,
                        google::protobuf::Map<std::string, std::string>* out) {
  if (!present || v.kind_case() == Value::kNullValue) return absl::OkStatus();
  if (v.kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": want an object or null"));
  }
  for (const auto& [key, value] : v.struct_value().fields()) {
    if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty tag name"));
    if (value.kind_case() != Value::kStringValue) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".", key, ": want a string"));
    }
    (*out)[key] = value.string_value();
  }
  return absl::OkStatus();
}

absl::Status DecodeAttachments(bool present, const Value& v,
                               google::protobuf::RepeatedPtrField<v1::Attachment>* out) {
  if (!present || v.kind_case() == Value::kNullValue) return absl::OkStatus();
  if (v.kind_case() != Value::kListValue) {
    return absl::InvalidArgumentError("Spec.Attachments: want a list or null");
  }
  for (int i = 0; i < v.list_value().values_size(); ++i) {
    const Value& item = v.list_value().values(i);
    const std::string where = absl::StrCat("Spec.Attachments[", i, "]");
    if (item.kind_case() != Value::kStructValue) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": want an object"));
    }
    v1::Attachment attachment;
    for (const auto& [key, value] : item.struct_value().fields()) {
      std::string* target;
      if (absl::EqualsIgnoreCase(key, "ID")) {
        target = attachment.mutable_id();
      } else if (absl::EqualsIgnoreCase(key, "Type")) {
        target = attachment.mutable_type();
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".", key, ": unknown key (want ID, Type)"));
      }
      if (value.kind_case() != Value::kStringValue) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".", key, ": want a string"));
      }
      *target = value.string_value();
    }
    if (attachment.id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".ID: missing"));
    }
    *out->Add() = std::move(attachment);
  }
  return absl::OkStatus();
}

// Whether `v` prints as JSON and parses back to the same Value.
bool RoundTrips(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue:
    case Value::kStringValue:
    case Value::kBoolValue:
      return true;
    case Value::kNumberValue:
      // Printed with the shortest digits that read back as the same double.
      return std::isfinite(v.number_value());
    case Value::kStructValue:
      for (const auto& [key, field] : v.struct_value().fields()) {
        if (!RoundTrips(field)) return false;
      }
      return true;
    case Value::kListValue:
      for (const Value& item : v.list_value().values()) {
        if (!RoundTrips(item)) return false;
      }
      return true;
    case Value::KIND_NOT_SET:
      return false;
  }
  return false;
}

bool HasEmptyKey(const google::protobuf::Map<std::string, std::string>& tags) {
  return tags.find("") != tags.end();
}

}  // namespace

std::optional<v1::Description> StoredForm(const v1::Description& instance) {
  const v1::Spec& spec = instance.spec();
  if (HasEmptyKey(instance.tags()) || HasEmptyKey(spec.tags())) return std::nullopt;
  for (const v1::Attachment& a : spec.attachments()) {
    if (a.id().empty()) return std::nullopt;
  }
  for (const auto& [key, field] : spec.properties().fields()) {
    if (!RoundTrips(field)) return std::nullopt;
  }
  // Exactly the fields the file holds (EncodeInstanceFile), as DecodeInstanceFile sets them:
  // null and "" are the same string, an absent properties object stays absent, attachments
  // carry ID and Type.
  v1::Description stored;
  stored.set_id(instance.id());
  stored.set_logical_id(instance.logical_id());
  *stored.mutable_tags() = instance.tags();
  v1::Spec* out = stored.mutable_spec();
  if (spec.has_properties()) *out->mutable_properties() = spec.properties();
  *out->mutable_tags() = spec.tags();
  out->set_init(spec.init());
  out->set_logical_id(spec.logical_id());
  for (const v1::Attachment& a : spec.attachments()) {
    v1::Attachment* copy = out->add_attachments();
    copy->set_id(a.id());
    copy->set_type(a.type());
  }
  out->set_idempotency_key(spec.idempotency_key());
  return stored;
}

absl::StatusOr<std::string> EncodeInstanceFile(const v1::Description& instance) {
  InstanceFile file;
  file.set_id(instance.id());
  *file.mutable_logical_id() = StringOrNull(instance.logical_id());
  *file.mutable_tags() = TagsOrNull(instance.tags());
  const v1::Spec& spec = instance.spec();
  FileSpec* out = file.mutable_spec();
  if (spec.has_properties()) {
    *out->mutable_properties()->mutable_struct_value() = spec.properties();
  } else {
    out->mutable_properties()->set_null_value(NULL_VALUE);
  }
  *out->mutable_tags() = TagsOrNull(spec.tags());
  out->mutable_init()->set_string_value(spec.init());
  *out->mutable_logical_id() = StringOrNull(spec.logical_id());
  if (spec.attachments().empty()) {
    out->mutable_attachments()->set_null_value(NULL_VALUE);
  } else {
    auto* list = out->mutable_attachments()->mutable_list_value();
    for (const v1::Attachment& a : spec.attachments()) {
      auto* fields = list->add_values()->mutable_struct_value()->mutable_fields();
      (*fields)["ID"].set_string_value(a.id());
      (*fields)["Type"].set_string_value(a.type());
    }
  }
  file.set_idempotency_key(spec.idempotency_key());
  file.set_format_version(kInstanceFileFormat);

  // Deterministic serialization sorts map keys (tags, properties), so the same instance always
  // gives the same bytes.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    file.SerializeToCodedStream(&coded);
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  const auto status = google::protobuf::util::BinaryToJsonString(
      Resolver(), absl::StrCat(kTypeUrlPrefix, "/", InstanceFile::descriptor()->full_name()),
      binary, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("encoding instance ", instance.id(), ": ", status.ToString()));
  }
  return DoubleIndent(json);
}

absl::StatusOr<v1::Description> DecodeInstanceFile(absl::string_view id,
                                                   absl::string_view contents) {
  if (absl::StripAsciiWhitespace(contents).empty()) {
    return absl::InvalidArgumentError("empty file");
  }
  InstanceFile file;
  google::protobuf::util::JsonParseOptions options;
  // Users edit these files by hand; a note they add must not make the instance vanish.
  options.ignore_unknown_fields = true;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(contents.data(), contents.size()), &file, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not an instance file: ", parsed.ToString()));
  }
  if (file.format_version() > kInstanceFileFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat("FormatVersion ", file.format_version(),
                     " is newer than this instance-file understands (", kInstanceFileFormat, ")"));
  }

  v1::Description d;
  d.set_id(std::string(id));
  absl::StatusOr<std::string> logical_id =
      DecodeStringOrNull(file.has_logical_id(), file.logical_id(), "LogicalID");
  if (!logical_id.ok()) return logical_id.status();
  d.set_logical_id(*std::move(logical_id));
  if (absl::Status s = DecodeTags(file.has_tags(), file.tags(), "Tags", d.mutable_tags());
      !s.ok()) {
    return s;
  }

  const FileSpec& in = file.spec();
  v1::Spec* spec = d.mutable_spec();
  if (in.has_properties() && in.properties().kind_case() != Value::kNullValue) {
    if (in.properties().kind_case() != Value::kStructValue) {
      return absl::InvalidArgumentError("Spec.Properties: want an object or null");
    }
    *spec->mutable_properties() = in.properties().struct_value();
  }
  if (absl::Status s = DecodeTags(in.has_tags(), in.tags(), "Spec.Tags", spec->mutable_tags());
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> init = DecodeStringOrNull(in.has_init(), in.init(), "Spec.Init");
  if (!init.ok()) return init.status();
  spec->set_init(*std::move(init));
  absl::StatusOr<std::string> spec_logical_id =
      DecodeStringOrNull(in.has_logical_id(), in.logical_id(), "Spec.LogicalID");
  if (!spec_logical_id.ok()) return spec_logical_id.status();
  spec->set_logical_id(*std::move(spec_logical_id));
  if (absl::Status s =
          DecodeAttachments(in.has_attachments(), in.attachments(), spec->mutable_attachments());
      !s.ok()) {
    return s;
  }
  spec->set_idempotency_key(file.idempotency_key());
  return d;
}

}  // namespace infrakit::plugins::instance::file
