#include "spi/request_limits.h"

#include "absl/strings/str_cat.h"

namespace infrakit::spi {
namespace {

absl::Status TooLarge(absl::string_view field, size_t size, size_t limit,
                      absl::string_view unit = "bytes") {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", size, " ", unit, ", more than the limit of ", limit));
}

}  // namespace

absl::Status CheckIdSize(absl::string_view id, absl::string_view field) {
  return id.size() <= kMaxIdBytes ? absl::OkStatus() : TooLarge(field, id.size(), kMaxIdBytes);
}

absl::Status CheckTagsSize(const google::protobuf::Map<std::string, std::string>& tags,
                           absl::string_view field) {
  if (tags.size() > kMaxTags) return TooLarge(field, tags.size(), kMaxTags, "tags");
  for (const auto& [key, value] : tags) {
    if (key.size() > kMaxTagKeyBytes) {
      return TooLarge(absl::StrCat(field, " name \"", key.substr(0, 32), "...\""), key.size(),
                      kMaxTagKeyBytes);
    }
    if (value.size() > kMaxTagValueBytes) {
      return TooLarge(absl::StrCat(field, "[\"", key, "\"]"), value.size(), kMaxTagValueBytes);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPropertiesSize(const google::protobuf::Struct& properties,
                                 absl::string_view field) {
  const size_t size = properties.ByteSizeLong();
  return size <= kMaxPropertiesBytes ? absl::OkStatus()
                                     : TooLarge(field, size, kMaxPropertiesBytes);
}

absl::Status CheckSpecSize(const ::infrakit::instance::v1::Spec& spec, absl::string_view field) {
  if (absl::Status s = CheckPropertiesSize(spec.properties(), absl::StrCat(field, ".properties"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckTagsSize(spec.tags(), absl::StrCat(field, ".tags")); !s.ok()) return s;
  if (spec.init().size() > kMaxInitBytes) {
    return TooLarge(absl::StrCat(field, ".init"), spec.init().size(), kMaxInitBytes);
  }
  if (absl::Status s = CheckIdSize(spec.logical_id(), absl::StrCat(field, ".logical_id"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckIdSize(spec.idempotency_key(), absl::StrCat(field, ".idempotency_key"));
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < spec.attachments_size(); ++i) {
    const std::string where = absl::StrCat(field, ".attachments[", i, "]");
    if (absl::Status s = CheckIdSize(spec.attachments(i).id(), absl::StrCat(where, ".id"));
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckIdSize(spec.attachments(i).type(), absl::StrCat(where, ".type"));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDescriptionSize(const ::infrakit::instance::v1::Description& instance,
                                  absl::string_view field) {
  if (absl::Status s = CheckIdSize(instance.id(), absl::StrCat(field, ".id")); !s.ok()) return s;
  if (absl::Status s = CheckIdSize(instance.logical_id(), absl::StrCat(field, ".logical_id"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckTagsSize(instance.tags(), absl::StrCat(field, ".tags")); !s.ok()) {
    return s;
  }
  return CheckSpecSize(instance.spec(), absl::StrCat(field, ".spec"));
}

}  // namespace infrakit::spi
