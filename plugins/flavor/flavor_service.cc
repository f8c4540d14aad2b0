#include "plugins/flavor/flavor_service.h"

#include <cstddef>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/grpc_status.h"
#include "common/pooled_unary.h"
#include "spi/item_status.h"

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

// When a batch call carries more items than the contract allows, finishes it at once with
// INVALID_ARGUMENT and returns its reactor; otherwise returns null. Checked before queuing so an
// oversized call takes no worker.
grpc::ServerUnaryReactor* RejectOversized(grpc::CallbackServerContext* context, size_t size,
                                          absl::string_view field) {
  absl::Status size_ok = spi::CheckBatchSize(size, field);
  if (size_ok.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(common::ToGrpcStatus(size_ok));
  return reactor;
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

grpc::ServerUnaryReactor* FlavorService::BatchPrepare(grpc::CallbackServerContext* context,
                                                      const v1::BatchPrepareRequest* request,
                                                      v1::BatchPrepareResponse* response) {
  if (auto* rejected = RejectOversized(context, request->indexes_size(), "indexes")) {
    return rejected;
  }
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchPrepare(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::BatchHealthy(grpc::CallbackServerContext* context,
                                                      const v1::BatchHealthyRequest* request,
                                                      v1::BatchHealthyResponse* response) {
  if (auto* rejected = RejectOversized(context, request->instances_size(), "instances")) {
    return rejected;
  }
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchHealthy(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::BatchDrain(grpc::CallbackServerContext* context,
                                                    const v1::BatchDrainRequest* request,
                                                    v1::BatchDrainResponse* response) {
  if (auto* rejected = RejectOversized(context, request->instances_size(), "instances")) {
    return rejected;
  }
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchDrain(*request), response);
  });
}

}  // namespace infrakit::plugins::flavor
