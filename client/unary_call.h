// What every typed client does for a unary call: a fresh context with a deadline, the call, and
// the status mapped once (common/grpc_status.h).
#ifndef INFRAKIT_CLIENT_UNARY_CALL_H_
#define INFRAKIT_CLIENT_UNARY_CALL_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/call_canceller.h"
#include "common/grpc_status.h"

namespace infrakit::client {

// Default deadline of a unary call: long enough for a plugin doing real work (spawning a
// process, a health probe), short enough that a hung plugin is noticed.
inline constexpr absl::Duration kDefaultCallDeadline = absl::Seconds(30);

// Makes `context` expire `timeout` from now; an infinite `timeout` leaves it without deadline.
// Call before starting the call. Thread-compatible (touches only `context`).
inline void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return;
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// `status`, from a call to the plugin named `plugin`, as the caller's users should read it.
// gRPC's own UNAVAILABLE and DEADLINE_EXCEEDED ("Cancelling all calls" from a plugin stopping
// under a call, "failed to connect to all addresses" once its socket is gone, "Deadline
// Exceeded") name no plugin, and reach users through the group service far from the call: they
// get `plugin "NAME" is unavailable: ` and `plugin "NAME" did not answer in time: ` in front.
// The code is kept. Any other status, a status already naming the plugin that way, and every
// status when `plugin` is empty are returned unchanged. Thread-safe (pure).
absl::Status NamePlugin(absl::Status status, absl::string_view plugin);

// The error of a call refused or cut short by its CallCanceller.
absl::Status CallCancelled(absl::string_view plugin);

// Calls the synchronous stub method `method` (e.g. &Stub::Describe) with `deadline`.
// Returns the response, or the call's status mapped once (the server's code and message;
// UNAVAILABLE / DEADLINE_EXCEEDED from gRPC itself), through NamePlugin when `plugin` (the
// name of the plugin called) is set. With a `canceller`, the call is registered there while
// it runs; once the canceller has cancelled its calls, CANCELLED (CallCancelled) without a
// call. Blocks for at most `deadline`.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> UnaryCall(
    Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, absl::Duration deadline, absl::string_view plugin = "",
    CallCanceller* canceller = nullptr) {
  grpc::ClientContext context;
  SetDeadline(&context, deadline);
  if (canceller != nullptr && !canceller->Register(&context)) return CallCancelled(plugin);
  Response response;
  grpc::Status status = (stub->*method)(&context, request, &response);
  const bool cut_short = canceller != nullptr && canceller->Unregister(&context);
  if (cut_short && !status.ok()) return CallCancelled(plugin);
  if (!status.ok()) return NamePlugin(common::FromGrpcStatus(status), plugin);
  return response;
}

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_UNARY_CALL_H_
