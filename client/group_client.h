// The group plugin's GroupService over gRPC, typed: what infrakitctl's `group` verbs call.
#ifndef INFRAKIT_CLIENT_GROUP_CLIENT_H_
#define INFRAKIT_CLIENT_GROUP_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/unary_call.h"
#include "infrakit/group/v1/group.grpc.pb.h"

namespace infrakit::client {

// Lets another thread (e.g. one waiting for Ctrl-C) end a GroupClient stream. Cancel() before
// the stream starts makes it end at once. Thread-safe; must outlive the stream call it is given
// to. One token serves one stream at a time.
class StreamCancelToken {
 public:
  StreamCancelToken() = default;
  StreamCancelToken(const StreamCancelToken&) = delete;
  StreamCancelToken& operator=(const StreamCancelToken&) = delete;

  // Ends the stream the token is attached to (now, or when it starts).
  void Cancel();
  // Whether Cancel() was called.
  bool cancelled() const;

 private:
  friend class StreamAttachment;
  // Returns false when already cancelled (the stream must not start).
  bool Attach(grpc::ClientContext* context);
  void Detach();

  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// Thread-safe. Unary methods block for at most the unary deadline; errors are the group
// plugin's codes and messages unchanged (INVALID_ARGUMENT naming the field, NOT_FOUND,
// FAILED_PRECONDITION, UNAVAILABLE naming a plugin that is down...), plus UNAVAILABLE when the
// group plugin itself cannot be reached and DEADLINE_EXCEEDED.
class GroupClient {
 public:
  // `channel` to a group plugin. `deadline` applies to each unary call; `stream_deadline` to
  // each UpdateGroup / StreamGroupEvents stream (infinite by default: an update lasts as long as
  // its health deadlines allow, and an event stream until it is cancelled).
  explicit GroupClient(std::shared_ptr<grpc::Channel> channel,
                       absl::Duration deadline = kDefaultCallDeadline,
                       absl::Duration stream_deadline = absl::InfiniteDuration());

  absl::StatusOr<::infrakit::group::v1::WatchGroupResponse> WatchGroup(
      const ::infrakit::group::v1::WatchGroupRequest& request);
  absl::StatusOr<::infrakit::group::v1::UnwatchGroupResponse> UnwatchGroup(
      const ::infrakit::group::v1::UnwatchGroupRequest& request);
  // The group with every member: follows the pages of members (from request.page_token, with
  // its page_size) and returns the first page's spec and status with all the members, without
  // next_page_token. Errors: the first failing page's (FollowPages in pages.h).
  absl::StatusOr<::infrakit::group::v1::InspectGroupResponse> InspectGroup(
      const ::infrakit::group::v1::InspectGroupRequest& request);
  // One page of members: one InspectGroup call, the server's answer as it is.
  absl::StatusOr<::infrakit::group::v1::InspectGroupResponse> InspectGroupPage(
      const ::infrakit::group::v1::InspectGroupRequest& request);
  // Every page, handed to `on_page` (on this thread) as it arrives. Errors: as InspectGroup.
  absl::Status InspectGroupPages(
      const ::infrakit::group::v1::InspectGroupRequest& request,
      const std::function<void(const ::infrakit::group::v1::InspectGroupResponse&)>& on_page);
  absl::StatusOr<::infrakit::group::v1::DescribeUpdateResponse> DescribeUpdate(
      const ::infrakit::group::v1::DescribeUpdateRequest& request);
  absl::StatusOr<::infrakit::group::v1::StopUpdateResponse> StopUpdate(
      const ::infrakit::group::v1::StopUpdateRequest& request);
  absl::StatusOr<::infrakit::group::v1::DestroyGroupResponse> DestroyGroup(
      const ::infrakit::group::v1::DestroyGroupRequest& request);
  // Every watched group: follows the pages, as InspectGroup does.
  absl::StatusOr<::infrakit::group::v1::ListGroupsResponse> ListGroups(
      const ::infrakit::group::v1::ListGroupsRequest& request);
  // One page of groups: one ListGroups call, the server's answer as it is.
  absl::StatusOr<::infrakit::group::v1::ListGroupsResponse> ListGroupsPage(
      const ::infrakit::group::v1::ListGroupsRequest& request);
  // Every page, handed to `on_page` (on this thread) as it arrives. Errors: as ListGroups.
  absl::Status ListGroupsPages(
      const ::infrakit::group::v1::ListGroupsRequest& request,
      const std::function<void(const ::infrakit::group::v1::ListGroupsResponse&)>& on_page);
  absl::StatusOr<::infrakit::group::v1::SetSizeResponse> SetSize(
      const ::infrakit::group::v1::SetSizeRequest& request);
  absl::StatusOr<::infrakit::group::v1::DestroyInstancesResponse> DestroyInstances(
      const ::infrakit::group::v1::DestroyInstancesRequest& request);

  // Starts an update and calls `on_progress` (on this thread) for each progress report until
  // the stream ends; the last report carries the final phase (COMPLETED, PAUSED, ...). Returns
  // the stream's status: OK when it ended normally, else the plugin's error. `cancel` (optional)
  // stops listening (the update itself goes on; StopUpdate stops it): OK is returned then.
  // Blocks until the stream ends.
  absl::Status UpdateGroup(
      const ::infrakit::group::v1::UpdateGroupRequest& request,
      const std::function<void(const ::infrakit::group::v1::UpdateGroupResponse&)>& on_progress,
      StreamCancelToken* cancel = nullptr);

  // Streams a group's events to `on_event` (on this thread) until the group is destroyed (OK),
  // the stream fails (its status: NOT_FOUND for an unknown group, UNAVAILABLE...) or `cancel`
  // is cancelled (OK). Blocks until then.
  absl::Status StreamGroupEvents(
      const ::infrakit::group::v1::StreamGroupEventsRequest& request,
      const std::function<void(const ::infrakit::group::v1::GroupEvent&)>& on_event,
      StreamCancelToken* cancel);

 private:
  const std::unique_ptr<::infrakit::group::v1::GroupService::Stub> stub_;
  const absl::Duration deadline_;
  const absl::Duration stream_deadline_;
};

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_GROUP_CLIENT_H_
