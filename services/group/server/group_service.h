// The gRPC face of the group controller: serves infrakit.group.v1.GroupService by calling a
// services::group::Controller, mapping statuses once (common/grpc_status.h).
//
// Most Controller methods block (plugin validation, disk writes), so those calls run on a
// bounded WorkerPool, never on gRPC's callback threads; the reads (ListGroups, InspectGroup)
// never block and run on gRPC's thread. UpdateGroup and StreamGroupEvents are
// common::StreamWriter reactors fed by a Controller subscription; DestroyGroup and DestroyInstances
// are unary reactors finished by the Controller's done callback.
//
// Lifecycle: shut the grpc::Server down (with a deadline, so that open streams are cancelled)
// before destroying this service, and destroy this service before the Controller: its pool may
// still be releasing subscriptions.
#ifndef INFRAKIT_SERVICES_GROUP_SERVER_GROUP_SERVICE_H_
#define INFRAKIT_SERVICES_GROUP_SERVER_GROUP_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "common/arena_allocator.h"
#include "common/worker_pool.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "infrakit/group/v1/group.pb.h"
#include "services/group/controller.h"
#include "services/group/ha/store_reads.h"
#include "services/group/server/active_controller.h"
#include "services/group/server/leader_forwarder.h"
#include "services/group/server/stream_metadata.h"

namespace infrakit::services::group::server {

struct GroupServiceOptions {
  // Threads running Controller calls (they may block on plugins and the disk).
  int worker_threads = 8;
  // Calls allowed to wait for a worker; beyond, calls fail with RESOURCE_EXHAUSTED.
  size_t max_queued_calls = 1000;
  // Messages one stream may buffer for a slow client; beyond, the stream ends with
  // RESOURCE_EXHAUSTED (an update goes on regardless; the client may inspect the group).
  size_t max_stream_backlog = 10000;
};

class GroupService final : public ::infrakit::group::v1::GroupService::CallbackService {
 public:
  // `controller` is not owned and must outlive the service.
  explicit GroupService(Controller* controller,
                        GroupServiceOptions options = GroupServiceOptions());
  // Calls go to `active`'s Controller of the moment (not owned; must outlive the service). On a
  // follower (no Controller) every call but ListGroups fails FAILED_PRECONDITION "not the
  // leader; the leader is X"; ListGroups answers no groups, `follower` set and `leader` naming
  // the leader.
  explicit GroupService(ActiveController* active,
                        GroupServiceOptions options = GroupServiceOptions());
  // As above, but a follower forwards calls to the leader through `forwarder` (not owned; must
  // outlive the service) and answers with the leader's answer (leader_forwarder.h has the
  // errors): every write, and the reads that need the leader's live knowledge (InspectGroup:
  // members and their health; DescribeUpdate: the plan depends on each member's config and on
  // the plugins' validation; the streams). ListGroups, a read of stored state, a follower
  // answers itself from `reads` (not owned; may be null; must outlive the service): the stored
  // specs and their stored status (from_store), as of the copy's revision. Without `reads`, or
  // until its copy is first read, ListGroups is forwarded too and marked `follower`; when the
  // leader cannot be asked either, the follower answers no groups, `status` saying why.
  GroupService(ActiveController* active, LeaderForwarder* forwarder,
               const ha::StoreReads* reads = nullptr,
               GroupServiceOptions options = GroupServiceOptions());
  ~GroupService() override;

  GroupService(const GroupService&) = delete;
  GroupService& operator=(const GroupService&) = delete;

  // Each unary method runs the Controller's method of the same name on the worker pool and
  // answers with its result. Errors are the Controller's (see controller.h), or
  // RESOURCE_EXHAUSTED / UNAVAILABLE from the pool, or CANCELLED / DEADLINE_EXCEEDED for a call
  // that ended while it waited for a worker.
  grpc::ServerUnaryReactor* WatchGroup(
      grpc::CallbackServerContext* context, const ::infrakit::group::v1::WatchGroupRequest* request,
      ::infrakit::group::v1::WatchGroupResponse* response) override;
  grpc::ServerUnaryReactor* UnwatchGroup(
      grpc::CallbackServerContext* context,
      const ::infrakit::group::v1::UnwatchGroupRequest* request,
      ::infrakit::group::v1::UnwatchGroupResponse* response) override;
  // InspectGroup and ListGroups are paged (common/paging/paging.h, kDefaultPageLimits): a bad
  // page_size or page_token is INVALID_ARGUMENT before the Controller is called. They read the
  // Controller's published views, which never wait, so they run on gRPC's thread rather than
  // the worker pool: readers never queue behind blocking calls. InspectGroup copies only its
  // page (Controller::InspectGroupPage); ListGroups pages the Controller's full list of groups
  // (group_metrics needs every group).
  grpc::ServerUnaryReactor* InspectGroup(
      grpc::CallbackServerContext* context,
      const ::infrakit::group::v1::InspectGroupRequest* request,
      ::infrakit::group::v1::InspectGroupResponse* response) override;
  grpc::ServerUnaryReactor* DescribeUpdate(
      grpc::CallbackServerContext* context,
      const ::infrakit::group::v1::DescribeUpdateRequest* request,
      ::infrakit::group::v1::DescribeUpdateResponse* response) override;
  grpc::ServerUnaryReactor* StopUpdate(
      grpc::CallbackServerContext* context, const ::infrakit::group::v1::StopUpdateRequest* request,
      ::infrakit::group::v1::StopUpdateResponse* response) override;
  grpc::ServerUnaryReactor* ListGroups(
      grpc::CallbackServerContext* context, const ::infrakit::group::v1::ListGroupsRequest* request,
      ::infrakit::group::v1::ListGroupsResponse* response) override;
  grpc::ServerUnaryReactor* SetSize(grpc::CallbackServerContext* context,
                                    const ::infrakit::group::v1::SetSizeRequest* request,
                                    ::infrakit::group::v1::SetSizeResponse* response) override;

  // Start the Controller's operation (on the worker pool) and answer when its done callback
  // runs, which may be long after (members are drained and destroyed). A call cancelled by the
  // client or by server shutdown is answered CANCELLED at once; the operation goes on.
  grpc::ServerUnaryReactor* DestroyGroup(
      grpc::CallbackServerContext* context,
      const ::infrakit::group::v1::DestroyGroupRequest* request,
      ::infrakit::group::v1::DestroyGroupResponse* response) override;
  grpc::ServerUnaryReactor* DestroyInstances(
      grpc::CallbackServerContext* context,
      const ::infrakit::group::v1::DestroyInstancesRequest* request,
      ::infrakit::group::v1::DestroyInstancesResponse* response) override;

  // Streams. Each subscribes on the Controller (on the worker pool), sends the
  // kStreamSubscribedMetadataKey initial metadata, then writes the Controller's messages in
  // order, one at a time. The stream ends with the Controller's error when it refuses (NOT_FOUND
  // for an unknown group, INVALID_ARGUMENT...), with the Controller's end status after the last
  // message (OK, or UNAVAILABLE when the service shuts down), with RESOURCE_EXHAUSTED when the
  // client falls more than max_stream_backlog messages behind. Client cancellation or server
  // shutdown cancels the subscription (not the update: StopUpdate does that).
  grpc::ServerWriteReactor<::infrakit::group::v1::UpdateGroupResponse>* UpdateGroup(
      grpc::CallbackServerContext* context,
      const ::infrakit::group::v1::UpdateGroupRequest* request) override;
  grpc::ServerWriteReactor<::infrakit::group::v1::GroupEvent>* StreamGroupEvents(
      grpc::CallbackServerContext* context,
      const ::infrakit::group::v1::StreamGroupEventsRequest* request) override;

  // Streams and long-running unary calls (DestroyGroup, DestroyInstances) whose reactor or
  // Controller subscription still exists. For tests and diagnostics: 0 once every such call has
  // ended and released what it held. Thread-safe.
  int open_calls() const { return open_calls_->load(); }

 private:
  using ControllerPtr = std::shared_ptr<Controller>;

  // Where every call but the reads served locally goes, decided in this one place: to this
  // service's Controller of the moment (`serve(controller)`, the shared_ptr keeping it alive for
  // the call), or on a follower to the leader (`forward(forwarder)`), or, on a follower that does
  // not forward, nowhere: the follower's refusal ("not the leader; the leader is X").
  // `serve` and `forward` return the same absl::Status or absl::StatusOr<T>.
  template <typename Serve, typename Forward>
  auto Route(Serve serve, Forward forward) -> decltype(forward(std::declval<LeaderForwarder&>()));
  // Route for the calls the Controller answers through a done callback (DestroyGroup,
  // DestroyInstances): `serve` hands `done` to the Controller; `forward` returns the leader's
  // answer, which goes to `done`, as does a refusal.
  template <typename Response, typename Serve, typename Forward>
  void RouteDone(const DoneCallback<Response>& done, Serve serve, Forward forward);
  // Route for the streams: a Controller's subscription keeps the Controller alive until it is
  // released.
  template <typename Serve, typename Forward>
  absl::StatusOr<std::unique_ptr<Subscription>> RouteKept(Serve serve, Forward forward);

  // Adds this service's status and leader to a ListGroups answer and pages it at `cursor`.
  void FinishListGroups(const common::PageCursor& cursor, const std::string& fingerprint,
                        ::infrakit::group::v1::ListGroupsResponse* response);
  // ListGroups' answer from this service's Controller `c` (or, without one, an empty list
  // marked follower), with this service's status and leader, paged at `cursor`.
  void FillListGroups(const absl::StatusOr<ControllerPtr>& c, const common::PageCursor& cursor,
                      const std::string& fingerprint,
                      ::infrakit::group::v1::ListGroupsResponse* response);
  GroupService(std::unique_ptr<ActiveController> owned, ActiveController* active,
               LeaderForwarder* forwarder, const ha::StoreReads* reads,
               GroupServiceOptions options);

  const std::unique_ptr<ActiveController> owned_active_;  // for a fixed Controller
  ActiveController* const active_;
  LeaderForwarder* const forwarder_;   // null: a follower refuses calls
  const ha::StoreReads* const reads_;  // null: a follower forwards ListGroups too
  const GroupServiceOptions options_;
  // Shared with the reactors, which may outlive a call's gRPC part.
  const std::shared_ptr<std::atomic<int>> open_calls_;
  // InspectGroup's request and response on an arena per call: a page is up to 500 members, each
  // with its tags (see common/arena_allocator.h).
  common::ArenaAllocator<::infrakit::group::v1::InspectGroupRequest,
                         ::infrakit::group::v1::InspectGroupResponse>
      inspect_allocator_;
  // Declared last so that it is destroyed first: its remaining tasks still use the controller.
  common::WorkerPool pool_;
};

}  // namespace infrakit::services::group::server

#endif  // INFRAKIT_SERVICES_GROUP_SERVER_GROUP_SERVICE_H_
