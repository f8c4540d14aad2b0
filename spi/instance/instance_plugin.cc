#include "spi/instance/instance_plugin.h"

namespace infrakit::spi::instance {

absl::Status InstancePlugin::DescribePaged(const v1::DescribeRequest& request,
                                           const common::PageCursor& cursor,
                                           absl::string_view fingerprint,
                                           v1::DescribeResponse* out) {
  absl::StatusOr<v1::DescribeResponse> all = Describe(request);
  if (!all.ok()) return all.status();
  all->set_next_page_token(common::TakePage(
      all->mutable_instances(),
      [](const v1::Description& d) -> const std::string& { return d.id(); }, cursor, fingerprint));
  *out = *std::move(all);
  return absl::OkStatus();
}

absl::StatusOr<v1::BatchProvisionResponse> InstancePlugin::BatchProvision(
    const v1::BatchProvisionRequest& request) {
  if (absl::Status s = CheckBatchSize(request.requests_size(), "requests"); !s.ok()) return s;
  v1::BatchProvisionResponse response;
  for (const v1::ProvisionRequest& item : request.requests()) {
    SetItemResult(Provision(item), response.add_results());
  }
  return response;
}

absl::StatusOr<v1::BatchDestroyResponse> InstancePlugin::BatchDestroy(
    const v1::BatchDestroyRequest& request) {
  if (absl::Status s = CheckBatchSize(request.requests_size(), "requests"); !s.ok()) return s;
  v1::BatchDestroyResponse response;
  for (const v1::DestroyRequest& item : request.requests()) {
    *response.add_results() = ToItemStatus(Destroy(item));
  }
  return response;
}

}  // namespace infrakit::spi::instance
