// Serving a unary RPC of a callback service on a WorkerPool: the shape every adapter method of
// the Instance and Flavor services shares.
#ifndef INFRAKIT_PLUGINS_INSTANCE_POOLED_UNARY_H_
#define INFRAKIT_PLUGINS_INSTANCE_POOLED_UNARY_H_

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/status/status.h"
#include "common/grpc_status.h"
#include "plugins/instance/worker_pool.h"

namespace infrakit::plugins::instance {

// Runs `call` (a callable returning absl::Status, typically a core method that fills the
// response) on `pool` and finishes the call's default reactor with its status, mapped once.
//
// A call cancelled (client gone, deadline passed) before a worker picks it up is finished with
// CANCELLED without running `call`, so a backlog never executes work nobody waits for. When the
// pool refuses the task the reactor is finished at once with the pool's error
// (RESOURCE_EXHAUSTED or UNAVAILABLE). Call from the RPC method itself; returns the reactor to
// hand back to gRPC.
template <typename Call>
grpc::ServerUnaryReactor* FinishOnPool(WorkerPool& pool, grpc::CallbackServerContext* context,
                                       Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status queued = pool.Submit([reactor, context, call = std::move(call)]() mutable {
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled before it ran"));
      return;
    }
    reactor->Finish(common::ToGrpcStatus(call()));
  });
  if (!queued.ok()) reactor->Finish(common::ToGrpcStatus(queued));
  return reactor;
}

}  // namespace infrakit::plugins::instance

#endif  // INFRAKIT_PLUGINS_INSTANCE_POOLED_UNARY_H_
