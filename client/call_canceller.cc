#include "client/call_canceller.h"

namespace infrakit::client {

bool CallCanceller::Register(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  calls_.insert(context);
  return true;
}

bool CallCanceller::Unregister(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  calls_.erase(context);
  return cancelled_;
}

void CallCanceller::CancelAll() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  // TryCancel never waits for the call's thread, which needs mu_ only to unregister.
  for (grpc::ClientContext* context : calls_) context->TryCancel();
}

}  // namespace infrakit::client
