// What a group service that does not lead answers itself (etcd store), instead of asking the
// leader: the reads of stored state.
#ifndef INFRAKIT_SERVICES_GROUP_HA_STORE_READS_H_
#define INFRAKIT_SERVICES_GROUP_HA_STORE_READS_H_

#include "absl/status/statusor.h"
#include "infrakit/group/v1/group.pb.h"

namespace infrakit::services::group::ha {

// The groups as the store holds them, read from a copy this service keeps (StoreMirror) rather
// than from etcd at each call: reads never wait for the network.
//
// Threading: implementations are thread-safe and never block (callable on gRPC's threads).
class StoreReads {
 public:
  virtual ~StoreReads() = default;

  // Every group, ordered by ID: its stored spec and the status its record implies
  // (GroupStatus.from_store set; no live counts), with `store_revision` the etcd revision the
  // copy reflects. `follower`, `leader`, `status` and paging are left to the caller.
  // UNAVAILABLE (naming why) while the copy has never been read.
  virtual absl::StatusOr<::infrakit::group::v1::ListGroupsResponse> ListGroups() const = 0;
};

}  // namespace infrakit::services::group::ha

#endif  // INFRAKIT_SERVICES_GROUP_HA_STORE_READS_H_
