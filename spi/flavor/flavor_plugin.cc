#include "spi/flavor/flavor_plugin.h"

namespace infrakit::spi::flavor {

absl::StatusOr<v1::ValidateResponse> FlavorPlugin::ValidateWithLimits(
    const v1::ValidateRequest& request) {
  if (absl::Status s = Validate(request); !s.ok()) return s;
  return v1::ValidateResponse();
}

absl::StatusOr<v1::BatchPrepareResponse> FlavorPlugin::BatchPrepare(
    const v1::BatchPrepareRequest& request) {
  if (absl::Status s = CheckBatchSize(request.indexes_size(), "indexes"); !s.ok()) return s;
  v1::BatchPrepareResponse response;
  v1::PrepareRequest one_request;
  *one_request.mutable_properties() = request.properties();
  *one_request.mutable_spec() = request.spec();
  *one_request.mutable_allocation() = request.allocation();
  for (const v1::Index& index : request.indexes()) {
    *one_request.mutable_index() = index;
    SetItemResult(Prepare(one_request), response.add_results());
  }
  return response;
}

absl::StatusOr<v1::BatchHealthyResponse> FlavorPlugin::BatchHealthy(
    const v1::BatchHealthyRequest& request) {
  if (absl::Status s = CheckBatchSize(request.instances_size(), "instances"); !s.ok()) return s;
  v1::BatchHealthyResponse response;
  v1::HealthyRequest one_request;
  *one_request.mutable_properties() = request.properties();
  for (const auto& instance : request.instances()) {
    *one_request.mutable_instance() = instance;
    SetItemResult(Healthy(one_request), response.add_results());
  }
  return response;
}

absl::StatusOr<v1::BatchDrainResponse> FlavorPlugin::BatchDrain(
    const v1::BatchDrainRequest& request) {
  if (absl::Status s = CheckBatchSize(request.instances_size(), "instances"); !s.ok()) return s;
  v1::BatchDrainResponse response;
  v1::DrainRequest one_request;
  *one_request.mutable_properties() = request.properties();
  for (const auto& instance : request.instances()) {
    *one_request.mutable_instance() = instance;
    *response.add_results() = ToItemStatus(Drain(one_request));
  }
  return response;
}

}  // namespace infrakit::spi::flavor
