#include "plugins/flavor/flavor_service.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "common/pooled_unary.h"
#include "spi/item_status.h"

namespace infrakit::plugins::flavor {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using ::infrakit::common::Fill;
using ::infrakit::common::FinishIfError;
using ::infrakit::common::FinishOnPool;

}  // namespace

FlavorService::FlavorService(std::shared_ptr<spi::flavor::FlavorPlugin> core,
                             FlavorServiceOptions options)
    : core_(std::move(core)), pool_(options.worker_threads, options.max_queued_calls) {}

FlavorService::~FlavorService() = default;

grpc::ServerUnaryReactor* FlavorService::Validate(grpc::CallbackServerContext* context,
                                                  const v1::ValidateRequest* request,
                                                  v1::ValidateResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->ValidateWithLimits(*request), response);
  });
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
  if (auto* refused =
          FinishIfError(context, spi::CheckBatchSize(request->indexes_size(), "indexes"))) {
    return refused;
  }
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchPrepare(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::BatchHealthy(grpc::CallbackServerContext* context,
                                                      const v1::BatchHealthyRequest* request,
                                                      v1::BatchHealthyResponse* response) {
  if (auto* refused =
          FinishIfError(context, spi::CheckBatchSize(request->instances_size(), "instances"))) {
    return refused;
  }
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchHealthy(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::BatchDrain(grpc::CallbackServerContext* context,
                                                    const v1::BatchDrainRequest* request,
                                                    v1::BatchDrainResponse* response) {
  if (auto* refused =
          FinishIfError(context, spi::CheckBatchSize(request->instances_size(), "instances"))) {
    return refused;
  }
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchDrain(*request), response);
  });
}

}  // namespace infrakit::plugins::flavor
