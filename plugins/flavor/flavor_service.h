// The gRPC face of any flavor plugin core: serves infrakit.flavor.v1.FlavorService by calling a
// spi::flavor::FlavorPlugin, mapping statuses once (common/grpc_status.h).
//
// Core calls may block (Healthy runs probes bounded by their timeouts), so they run on a bounded
// WorkerPool and never on gRPC's callback threads. Lifecycle: shut the grpc::Server down before
// destroying this service; the service keeps its core alive.
#ifndef INFRAKIT_PLUGINS_FLAVOR_FLAVOR_SERVICE_H_
#define INFRAKIT_PLUGINS_FLAVOR_FLAVOR_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>

#include "common/worker_pool.h"
#include "infrakit/flavor/v1/flavor.grpc.pb.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "spi/flavor/flavor_plugin.h"

namespace infrakit::plugins::flavor {

struct FlavorServiceOptions {
  // Threads running core calls (health probes wait on the network, so more than the cores).
  int worker_threads = 8;
  // Calls allowed to wait for a worker; beyond, calls fail with RESOURCE_EXHAUSTED.
  size_t max_queued_calls = 10000;
};

class FlavorService final : public ::infrakit::flavor::v1::FlavorService::CallbackService {
 public:
  explicit FlavorService(std::shared_ptr<spi::flavor::FlavorPlugin> core,
                         FlavorServiceOptions options = FlavorServiceOptions());
  ~FlavorService() override;

  FlavorService(const FlavorService&) = delete;
  FlavorService& operator=(const FlavorService&) = delete;

  // Each method runs the core's method of the same name on the worker pool and answers with its
  // result; errors are the core's (UNIMPLEMENTED included), or RESOURCE_EXHAUSTED / UNAVAILABLE
  // from the pool, or CANCELLED for a call that ended while it waited for a worker.
  grpc::ServerUnaryReactor* Validate(grpc::CallbackServerContext* context,
                                     const ::infrakit::flavor::v1::ValidateRequest* request,
                                     ::infrakit::flavor::v1::ValidateResponse* response) override;
  grpc::ServerUnaryReactor* Prepare(grpc::CallbackServerContext* context,
                                    const ::infrakit::flavor::v1::PrepareRequest* request,
                                    ::infrakit::flavor::v1::PrepareResponse* response) override;
  grpc::ServerUnaryReactor* Healthy(grpc::CallbackServerContext* context,
                                    const ::infrakit::flavor::v1::HealthyRequest* request,
                                    ::infrakit::flavor::v1::HealthyResponse* response) override;
  grpc::ServerUnaryReactor* Drain(grpc::CallbackServerContext* context,
                                  const ::infrakit::flavor::v1::DrainRequest* request,
                                  ::infrakit::flavor::v1::DrainResponse* response) override;

  // The batch methods answer INVALID_ARGUMENT at once, without queuing the call, for more than
  // spi::kMaxBatchSize items; otherwise they run the core's batch method on the worker pool as
  // one task (a plugin that wants its items to run concurrently does so inside its core, e.g.
  // flavor-vanilla's BatchHealthy), so a batch takes one worker, not one per item. Per-item
  // failures are results inside the response; the call's own status is the core's whole-call
  // error, mapped once.
  grpc::ServerUnaryReactor* BatchPrepare(
      grpc::CallbackServerContext* context,
      const ::infrakit::flavor::v1::BatchPrepareRequest* request,
      ::infrakit::flavor::v1::BatchPrepareResponse* response) override;
  grpc::ServerUnaryReactor* BatchHealthy(
      grpc::CallbackServerContext* context,
      const ::infrakit::flavor::v1::BatchHealthyRequest* request,
      ::infrakit::flavor::v1::BatchHealthyResponse* response) override;
  grpc::ServerUnaryReactor* BatchDrain(
      grpc::CallbackServerContext* context,
      const ::infrakit::flavor::v1::BatchDrainRequest* request,
      ::infrakit::flavor::v1::BatchDrainResponse* response) override;

 private:
  const std::shared_ptr<spi::flavor::FlavorPlugin> core_;
  // Declared last so that it is destroyed first: its remaining tasks still use core_.
  common::WorkerPool pool_;
};

}  // namespace infrakit::plugins::flavor

#endif  // INFRAKIT_PLUGINS_FLAVOR_FLAVOR_SERVICE_H_
