// The one place where absl::Status and grpc::Status meet: gRPC adapters call ToGrpcStatus on
// the way out of a core, clients call FromGrpcStatus on the way back in.
#ifndef INFRAKIT_COMMON_GRPC_STATUS_H_
#define INFRAKIT_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace infrakit::common {

// Same code, same message. Thread-safe (pure).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Same code, same message. Thread-safe (pure).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_GRPC_STATUS_H_
