// Serving a unary RPC of a callback service on a WorkerPool: the shape every adapter method of
// the Instance and Flavor services shares.
#ifndef INFRAKIT_COMMON_POOLED_UNARY_H_
#define INFRAKIT_COMMON_POOLED_UNARY_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/grpc_status.h"
#include "common/worker_pool.h"

namespace infrakit::common {

// Runs `call` (a callable returning absl::Status, typically a core method that fills the
// response) on `pool` and finishes the call's default reactor with its status, mapped once.
//
// A call cancelled (client gone) or past its deadline when a worker picks it up is finished with
// CANCELLED / DEADLINE_EXCEEDED without running `call`, so a backlog does not execute work nobody
// waits for (best effort: a cancellation gRPC has not processed yet goes unnoticed). When the
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
    // The cancellation of an expired call may not have been processed yet.
    if (context->deadline() < std::chrono::system_clock::now()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before the call ran"));
      return;
    }
    reactor->Finish(common::ToGrpcStatus(call()));
  });
  if (!queued.ok()) reactor->Finish(common::ToGrpcStatus(queued));
  return reactor;
}

// Runs `call` (as for FinishOnPool) right here, on gRPC's callback thread, and finishes the
// call's default reactor with its status, mapped once. Only for calls that never block: no I/O,
// no plugin call, no lock held for longer than a pointer copy (e.g. reading an immutable
// snapshot), and bounded work (one page). Such a call then never waits behind blocking calls
// queued on the pool. Call from the RPC method itself; returns the reactor to hand back to gRPC.
template <typename Call>
grpc::ServerUnaryReactor* FinishInline(grpc::CallbackServerContext* context, Call call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(common::ToGrpcStatus(call()));
  return reactor;
}

// Moves a core's result into the gRPC-owned response: the result's status, and on OK the
// response filled. For the `call` of FinishOnPool. Thread-safe (touches only its arguments).
template <typename T>
absl::Status Fill(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return result.status();
  *response = *std::move(result);
  return absl::OkStatus();
}

// When `status` is not OK (e.g. spi::CheckBatchSize refusing an oversized batch), finishes the
// call's default reactor with it at once and returns the reactor for the RPC method to hand
// back to gRPC; returns null when it is OK. Checked before FinishOnPool, such a call takes no
// worker. Call from the RPC method itself.
inline grpc::ServerUnaryReactor* FinishIfError(grpc::CallbackServerContext* context,
                                               const absl::Status& status) {
  if (status.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_POOLED_UNARY_H_
