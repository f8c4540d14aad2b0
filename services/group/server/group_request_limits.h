// The limits on what a GroupService request may carry (spi/request_limits.h: IDs, plugin
// properties, logical IDs, batches of instance IDs), checked by the gRPC adapter before any
// work.
#ifndef INFRAKIT_SERVICES_GROUP_SERVER_GROUP_REQUEST_LIMITS_H_
#define INFRAKIT_SERVICES_GROUP_SERVER_GROUP_REQUEST_LIMITS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "infrakit/group/v1/group.pb.h"

namespace infrakit::services::group::server {

// A spec's ID, plugin names and properties, and logical IDs (at most spi::kMaxBatchSize). OK or
// INVALID_ARGUMENT naming the field under `field` (e.g. "spec.instance.properties").
// Thread-safe (pure).
absl::Status CheckGroupSpecSize(const ::infrakit::group::v1::GroupSpec& spec,
                                absl::string_view field);

// A DestroyInstances request: its group ID, at most spi::kMaxBatchSize instance IDs, each
// within its limit. OK or INVALID_ARGUMENT naming the field. Thread-safe (pure).
absl::Status CheckDestroyInstancesSize(
    const ::infrakit::group::v1::DestroyInstancesRequest& request);

}  // namespace infrakit::services::group::server

#endif  // INFRAKIT_SERVICES_GROUP_SERVER_GROUP_REQUEST_LIMITS_H_
