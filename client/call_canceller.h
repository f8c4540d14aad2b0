// Cancelling the unary calls of many clients at once: what a service shutting down does, so
// that it does not wait out the deadline of a call to a plugin that hangs (a stopped process).
#ifndef INFRAKIT_CLIENT_CALL_CANCELLER_H_
#define INFRAKIT_CLIENT_CALL_CANCELLER_H_

#include <grpcpp/client_context.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace infrakit::client {

// The calls under way of the clients sharing it (see UnaryCall). Thread-safe.
class CallCanceller {
 public:
  CallCanceller() = default;
  CallCanceller(const CallCanceller&) = delete;
  CallCanceller& operator=(const CallCanceller&) = delete;

  // Registers the context of a call about to start. Returns false once CancelAll() has been
  // called: the call must not start then.
  bool Register(grpc::ClientContext* context) ABSL_LOCKS_EXCLUDED(mu_);
  // The call of `context` has ended (it may be destroyed now). Returns whether CancelAll() ran
  // while it was registered (its error is the cancellation's, not the server's).
  bool Unregister(grpc::ClientContext* context) ABSL_LOCKS_EXCLUDED(mu_);

  // Cancels every registered call (each ends with CANCELLED at once, whatever the server
  // does) and refuses later ones. Idempotent.
  void CancelAll() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_CALL_CANCELLER_H_
