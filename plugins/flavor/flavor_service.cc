#include "plugins/flavor/flavor_service.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/pooled_unary.h"
#include "spi/item_status.h"
#include "spi/request_limits.h"

namespace infrakit::plugins::flavor {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using ::infrakit::common::Fill;
using ::infrakit::common::FinishIfError;
using ::infrakit::common::FinishOnPool;

// What each request may carry (spi/request_limits.h), checked before any work: OK or
// INVALID_ARGUMENT naming the field.
absl::Status AllocationLimits(const v1::Allocation& allocation) {
  const auto& ids = allocation.logical_ids().ids();
  if (absl::Status s = spi::CheckBatchSize(ids.size(), "allocation.logical_ids.ids"); !s.ok()) {
    return s;
  }
  for (int i = 0; i < ids.size(); ++i) {
    absl::Status s = spi::CheckIdSize(ids[i], absl::StrCat("allocation.logical_ids.ids[", i, "]"));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}
absl::Status Limits(const v1::ValidateRequest& request) {
  if (absl::Status s = spi::CheckPropertiesSize(request.properties(), "properties"); !s.ok()) {
    return s;
  }
  return AllocationLimits(request.allocation());
}
// A prepare's properties, spec and allocation.
template <typename Request>
absl::Status PrepareLimits(const Request& request) {
  if (absl::Status s = spi::CheckPropertiesSize(request.properties(), "properties"); !s.ok()) {
    return s;
  }
  if (absl::Status s = spi::CheckSpecSize(request.spec(), "spec"); !s.ok()) return s;
  return AllocationLimits(request.allocation());
}
absl::Status Limits(const v1::PrepareRequest& request) {
  if (absl::Status s = PrepareLimits(request); !s.ok()) return s;
  return spi::CheckIdSize(request.index().group(), "index.group");
}
absl::Status Limits(const v1::BatchPrepareRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.indexes_size(), "indexes"); !s.ok()) return s;
  if (absl::Status s = PrepareLimits(request); !s.ok()) return s;
  for (int i = 0; i < request.indexes_size(); ++i) {
    absl::Status s =
        spi::CheckIdSize(request.indexes(i).group(), absl::StrCat("indexes[", i, "].group"));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}
// A request about one instance (Healthy, Drain).
template <typename Request>
absl::Status OneInstanceLimits(const Request& request) {
  if (absl::Status s = spi::CheckPropertiesSize(request.properties(), "properties"); !s.ok()) {
    return s;
  }
  return spi::CheckDescriptionSize(request.instance(), "instance");
}
absl::Status Limits(const v1::HealthyRequest& request) { return OneInstanceLimits(request); }
absl::Status Limits(const v1::DrainRequest& request) { return OneInstanceLimits(request); }
// A request about many instances (BatchHealthy, BatchDrain).
template <typename Request>
absl::Status Limits(const Request& request) {
  if (absl::Status s = spi::CheckBatchSize(request.instances_size(), "instances"); !s.ok()) {
    return s;
  }
  if (absl::Status s = spi::CheckPropertiesSize(request.properties(), "properties"); !s.ok()) {
    return s;
  }
  for (int i = 0; i < request.instances_size(); ++i) {
    absl::Status s =
        spi::CheckDescriptionSize(request.instances(i), absl::StrCat("instances[", i, "]"));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

FlavorService::FlavorService(std::shared_ptr<spi::flavor::FlavorPlugin> core,
                             FlavorServiceOptions options)
    : core_(std::move(core)), pool_(options.worker_threads, options.max_queued_calls) {}

FlavorService::~FlavorService() = default;

grpc::ServerUnaryReactor* FlavorService::Validate(grpc::CallbackServerContext* context,
                                                  const v1::ValidateRequest* request,
                                                  v1::ValidateResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->ValidateAllocation(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::Prepare(grpc::CallbackServerContext* context,
                                                 const v1::PrepareRequest* request,
                                                 v1::PrepareResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->Prepare(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::Healthy(grpc::CallbackServerContext* context,
                                                 const v1::HealthyRequest* request,
                                                 v1::HealthyResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->Healthy(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::Drain(grpc::CallbackServerContext* context,
                                               const v1::DrainRequest* request,
                                               v1::DrainResponse* /*response*/) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request] { return core_->Drain(*request); });
}

grpc::ServerUnaryReactor* FlavorService::BatchPrepare(grpc::CallbackServerContext* context,
                                                      const v1::BatchPrepareRequest* request,
                                                      v1::BatchPrepareResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchPrepare(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::BatchHealthy(grpc::CallbackServerContext* context,
                                                      const v1::BatchHealthyRequest* request,
                                                      v1::BatchHealthyResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchHealthy(*request), response);
  });
}

grpc::ServerUnaryReactor* FlavorService::BatchDrain(grpc::CallbackServerContext* context,
                                                    const v1::BatchDrainRequest* request,
                                                    v1::BatchDrainResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchDrain(*request), response);
  });
}

}  // namespace infrakit::plugins::flavor
