#include "plugins/flavor/flavor_service.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/pooled_unary.h"

namespace infrakit::plugins::flavor {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using ::infrakit::common::FinishOnPool;

// Moves a core's result into the gRPC-owned response.
template <typename T>
absl::Status Fill(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return result.status();
  *response = *std::move(result);
  return absl::OkStatus();
}

}  // namespace

FlavorService::FlavorService(std::shared_ptr<spi::flavor::FlavorPlugin> core,
                             FlavorServiceOptions options)
    : core_(std::move(core)), pool_(options.worker_threads, options.max_queued_calls) {}

FlavorService::~FlavorService() = default;

grpc::ServerUnaryReactor* FlavorService::Validate(grpc::CallbackServerContext* context,
                                                  const v1::ValidateRequest* request,
                                                  v1::ValidateResponse* /*response*/) {
  return FinishOnPool(pool_, context, [this, request] { return core_->Validate(*request); });
}

grpc::ServerUnaryReactor* FlavorService::Prepare(grpc::CallbackServerContext* context,
                                                 const v1::PrepareRequest* request,
                                                 v1::PrepareResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->Prepare(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::Healthy(grpc::CallbackServerContext* context,
                                                 const v1::HealthyRequest* request,
                                                 v1::HealthyResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->Healthy(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::Drain(grpc::CallbackServerContext* context,
                                               const v1::DrainRequest* request,
                                               v1::DrainResponse* /*response*/) {
  return FinishOnPool(pool_, context, [this, request] { return core_->Drain(*request); });
}

}  // namespace infrakit::plugins::flavor
