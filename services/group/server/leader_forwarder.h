// Sending a follower's calls to the leader (etcd store): how `infrakitctl` works against any
// group service of a highly available set.
#ifndef INFRAKIT_SERVICES_GROUP_SERVER_LEADER_FORWARDER_H_
#define INFRAKIT_SERVICES_GROUP_SERVER_LEADER_FORWARDER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infrakit/group/v1/group.pb.h"
#include "services/group/callbacks.h"
#include "services/group/ha/leader_value.h"

namespace infrakit::services::group::server {

// Forwards GroupService calls to the leader's peer listener (--peer-listen, advertised in the
// leader key: ha::LeaderValue), the leader being whoever `leader` names at the moment of the
// call. Its face is plain C++ (protobuf messages, absl statuses, the Controller's stream
// callbacks): the gRPC client it uses stays inside. The leader serves forwarded calls with its
// Controller and never forwards them again, so a call makes at most one hop; a service that is
// not the leader any more answers FAILED_PRECONDITION "not the leader", passed back as is.
//
// Errors of every call: UNAVAILABLE "no leader is elected" when `leader` names none (etcd
// unreachable, or between two leaders), FAILED_PRECONDITION "not the leader; the leader is X, which
// takes no forwarded calls" when the leader advertises no peer address (it runs without
// --peer-listen), UNAVAILABLE naming the leader and its address when it cannot
// be reached; otherwise the leader's answer, code and message passed through.
//
// Unary calls carry `deadline` (the caller's; InfiniteFuture for none). A forwarded call is not
// cancelled when its caller goes away: like a call the leader serves itself, it runs to its end.
//
// Threading: thread-safe. Calls block (a network round trip; DestroyGroup and DestroyInstances
// until the leader has destroyed the members): make them on a worker, never on a gRPC thread or
// under a lock.
class LeaderForwarder {
 public:
  // `leader` is called once per call, from the calling thread: the leader now, or why there is
  // none to forward to (answered as is).
  explicit LeaderForwarder(std::function<absl::StatusOr<ha::LeaderValue>()> leader);
  ~LeaderForwarder();
  LeaderForwarder(const LeaderForwarder&) = delete;
  LeaderForwarder& operator=(const LeaderForwarder&) = delete;

  absl::StatusOr<::infrakit::group::v1::WatchGroupResponse> WatchGroup(
      const ::infrakit::group::v1::WatchGroupRequest& request, absl::Time deadline);
  absl::Status UnwatchGroup(const ::infrakit::group::v1::UnwatchGroupRequest& request,
                            absl::Time deadline);
  absl::StatusOr<::infrakit::group::v1::InspectGroupResponse> InspectGroup(
      const ::infrakit::group::v1::InspectGroupRequest& request, absl::Time deadline);
  absl::StatusOr<::infrakit::group::v1::DescribeUpdateResponse> DescribeUpdate(
      const ::infrakit::group::v1::DescribeUpdateRequest& request, absl::Time deadline);
  absl::Status StopUpdate(const ::infrakit::group::v1::StopUpdateRequest& request,
                          absl::Time deadline);
  absl::StatusOr<::infrakit::group::v1::ListGroupsResponse> ListGroups(
      const ::infrakit::group::v1::ListGroupsRequest& request, absl::Time deadline);
  absl::StatusOr<::infrakit::group::v1::SetSizeResponse> SetSize(
      const ::infrakit::group::v1::SetSizeRequest& request, absl::Time deadline);
  absl::StatusOr<::infrakit::group::v1::DestroyGroupResponse> DestroyGroup(
      const ::infrakit::group::v1::DestroyGroupRequest& request, absl::Time deadline);
  absl::StatusOr<::infrakit::group::v1::DestroyInstancesResponse> DestroyInstances(
      const ::infrakit::group::v1::DestroyInstancesRequest& request, absl::Time deadline);

  // Streams, as the Controller's subscriptions: returns once the leader accepted the stream (it
  // sent the "infrakit-stream" initial metadata), or with the leader's refusal (an error and no
  // message), or once the leader ended the stream while subscribing (an update over at once:
  // its messages and end are then delivered as for an accepted stream). Then
  // `on_message` gets the leader's messages in order and `on_end` its end status, once, last
  // (UNAVAILABLE naming the leader when the connection to it is lost, e.g. it died: the update
  // goes on under the next leader). The callbacks run on a thread of the subscription's own;
  // Subscription::Cancel stops the stream (and with it the leader's subscription, not the
  // update).
  absl::StatusOr<std::unique_ptr<Subscription>> UpdateGroup(
      const ::infrakit::group::v1::UpdateGroupRequest& request, UpdateProgressCallback on_message,
      StreamEndCallback on_end);
  absl::StatusOr<std::unique_ptr<Subscription>> StreamGroupEvents(
      const ::infrakit::group::v1::StreamGroupEventsRequest& request, GroupEventCallback on_message,
      StreamEndCallback on_end);

  // The leader and a stub to it (defined and used inside the .cc file only).
  struct Target;

 private:
  // The leader's stub, or the reason there is none.
  absl::StatusOr<std::shared_ptr<Target>> Leader();

  const std::function<absl::StatusOr<ha::LeaderValue>()> leader_;
  absl::Mutex mu_;
  // The channel to the last leader's address, kept while the leader stays.
  std::shared_ptr<Target> target_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group::server

#endif  // INFRAKIT_SERVICES_GROUP_SERVER_LEADER_FORWARDER_H_
