#include "client/flavor_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "glog/logging.h"
#include "spi/item_status.h"

namespace infrakit::client {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using Stub = v1::FlavorService::Stub;

// A server's batch answer must carry one result per item; anything else would pair results with
// the wrong items.
template <typename Response>
absl::StatusOr<Response> CheckCount(absl::StatusOr<Response> response, absl::string_view method,
                                    int items) {
  if (response.ok() && response->results_size() != items) {
    return absl::InternalError(absl::StrCat(method, ": the plugin answered ",
                                            response->results_size(), " results for ", items,
                                            " items"));
  }
  return response;
}

// BatchPrepare and BatchHealthy results carry a oneof: one with neither outcome would read as a
// success with an empty spec or verdict.
template <typename Response>
absl::StatusOr<Response> CheckOutcomes(absl::StatusOr<Response> response,
                                       absl::string_view method) {
  if (!response.ok()) return response;
  for (int i = 0; i < response->results_size(); ++i) {
    if (!response->results(i).has_response() && !response->results(i).has_error()) {
      return absl::InternalError(
          absl::StrCat(method, ": the plugin answered result ", i, " with neither outcome"));
    }
  }
  return response;
}

// Whether `response` says the server does not serve the RPC; records it in `unimplemented` (and
// logs it once) so later calls go straight to the fallback.
template <typename Response>
bool Unimplemented(const absl::StatusOr<Response>& response, absl::string_view method,
                   std::atomic<bool>& unimplemented) {
  if (response.ok() || !absl::IsUnimplemented(response.status())) return false;
  if (!unimplemented.exchange(true)) {
    LOG(INFO) << "flavor plugin does not serve " << method << " (" << response.status()
              << "); calling the unary method for each item from now on";
  }
  return true;
}

}  // namespace

FlavorClient::FlavorClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline,
                           std::string plugin, std::shared_ptr<CallCanceller> canceller)
    : stub_(v1::FlavorService::NewStub(std::move(channel))),
      deadline_(deadline),
      plugin_(std::move(plugin)),
      canceller_(std::move(canceller)) {}

FlavorClient::~FlavorClient() = default;

absl::Status FlavorClient::Validate(const v1::ValidateRequest& request) {
  return ValidateAllocation(request).status();
}

absl::StatusOr<v1::ValidateResponse> FlavorClient::ValidateAllocation(
    const v1::ValidateRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Validate, request, deadline_, plugin_, canceller_.get());
}

absl::StatusOr<v1::PrepareResponse> FlavorClient::Prepare(const v1::PrepareRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Prepare, request, deadline_, plugin_, canceller_.get());
}

absl::StatusOr<v1::HealthyResponse> FlavorClient::Healthy(const v1::HealthyRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Healthy, request, deadline_, plugin_, canceller_.get());
}

absl::Status FlavorClient::Drain(const v1::DrainRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Drain, request, deadline_, plugin_, canceller_.get())
      .status();
}

absl::StatusOr<v1::BatchPrepareResponse> FlavorClient::BatchPrepare(
    const v1::BatchPrepareRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.indexes_size(), "indexes"); !s.ok()) return s;
  if (!batch_prepare_unimplemented_.load()) {
    absl::StatusOr<v1::BatchPrepareResponse> response =
        UnaryCall(stub_.get(), &Stub::BatchPrepare, request, deadline_, plugin_, canceller_.get());
    if (!Unimplemented(response, "BatchPrepare", batch_prepare_unimplemented_)) {
      return CheckOutcomes(CheckCount(std::move(response), "BatchPrepare", request.indexes_size()),
                           "BatchPrepare");
    }
  }
  return FlavorPlugin::BatchPrepare(request);
}

absl::StatusOr<v1::BatchHealthyResponse> FlavorClient::BatchHealthy(
    const v1::BatchHealthyRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.instances_size(), "instances"); !s.ok()) {
    return s;
  }
  if (!batch_healthy_unimplemented_.load()) {
    absl::StatusOr<v1::BatchHealthyResponse> response =
        UnaryCall(stub_.get(), &Stub::BatchHealthy, request, deadline_, plugin_, canceller_.get());
    if (!Unimplemented(response, "BatchHealthy", batch_healthy_unimplemented_)) {
      return CheckOutcomes(
          CheckCount(std::move(response), "BatchHealthy", request.instances_size()),
          "BatchHealthy");
    }
  }
  return FlavorPlugin::BatchHealthy(request);
}

absl::StatusOr<v1::BatchDrainResponse> FlavorClient::BatchDrain(
    const v1::BatchDrainRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.instances_size(), "instances"); !s.ok()) {
    return s;
  }
  if (!batch_drain_unimplemented_.load()) {
    absl::StatusOr<v1::BatchDrainResponse> response =
        UnaryCall(stub_.get(), &Stub::BatchDrain, request, deadline_, plugin_, canceller_.get());
    if (!Unimplemented(response, "BatchDrain", batch_drain_unimplemented_)) {
      return CheckCount(std::move(response), "BatchDrain", request.instances_size());
    }
  }
  return FlavorPlugin::BatchDrain(request);
}

}  // namespace infrakit::client
