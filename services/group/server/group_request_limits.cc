#include "services/group/server/group_request_limits.h"

#include "absl/strings/str_cat.h"
#include "spi/item_status.h"
#include "spi/request_limits.h"

namespace infrakit::services::group::server {
namespace {

namespace v1 = ::infrakit::group::v1;

absl::Status CheckPluginSpecSize(const v1::PluginSpec& plugin, absl::string_view field) {
  if (absl::Status s = spi::CheckIdSize(plugin.plugin(), absl::StrCat(field, ".plugin")); !s.ok()) {
    return s;
  }
  return spi::CheckPropertiesSize(plugin.properties(), absl::StrCat(field, ".properties"));
}

}  // namespace

absl::Status CheckGroupSpecSize(const v1::GroupSpec& spec, absl::string_view field) {
  if (absl::Status s = spi::CheckIdSize(spec.id(), absl::StrCat(field, ".id")); !s.ok()) return s;
  if (absl::Status s = CheckPluginSpecSize(spec.instance(), absl::StrCat(field, ".instance"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckPluginSpecSize(spec.flavor(), absl::StrCat(field, ".flavor"));
      !s.ok()) {
    return s;
  }
  const auto& ids = spec.allocation().logical_ids().ids();
  const std::string ids_field = absl::StrCat(field, ".allocation.logical_ids.ids");
  if (absl::Status s = spi::CheckBatchSize(ids.size(), ids_field); !s.ok()) return s;
  for (int i = 0; i < ids.size(); ++i) {
    if (absl::Status s = spi::CheckIdSize(ids[i], absl::StrCat(ids_field, "[", i, "]")); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDestroyInstancesSize(const v1::DestroyInstancesRequest& request) {
  if (absl::Status s = spi::CheckIdSize(request.id(), "id"); !s.ok()) return s;
  if (absl::Status s = spi::CheckBatchSize(request.instance_ids_size(), "instance_ids"); !s.ok()) {
    return s;
  }
  for (int i = 0; i < request.instance_ids_size(); ++i) {
    absl::Status s =
        spi::CheckIdSize(request.instance_ids(i), absl::StrCat("instance_ids[", i, "]"));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace infrakit::services::group::server
