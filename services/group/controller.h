// The default group service's core: keeps every watched group converged on its spec.
//
// Plain C++ (no gRPC types): requests and responses are the infrakit.group.v1 messages, errors
// are absl::Status with the codes of the GroupService contract. A gRPC adapter maps each
// GroupService method onto one method here.
//
// How it works, per group:
//  - Membership comes from the instance plugin's Watch filtered by infrakit.group=<id> (first
//    the current set, then every change); where Watch is UNIMPLEMENTED, from Describe polled
//    every resync period. Until the watch has delivered SYNCED (or a Describe succeeded) the
//    membership is unknown and nothing is created or destroyed; a failed listing makes it
//    unknown again; an empty listing where members were known is confirmed by a second
//    listing before it is believed.
//  - Each change schedules one reconcile (coalesced: a burst of events costs one pass, and a
//    pass is O(n log n)). A pass decides with the pure planner (planner.h) and carries out the
//    decision: Prepare (flavor) + Provision (instance, with an idempotency key per creation, kept
//    across retries) for new members, Drain (flavor) + Destroy (instance) for members that go.
//    Creations and destructions under way count, so a listing that lags never causes
//    overshoot; an instance destroyed is never taken back from a late listing.
//  - Failures back off exponentially (capped) per group and are reported in
//    GroupStatus.last_error, waiting_for_plugin and ERROR events.
//  - Health: the flavor's Healthy for every member each resync period, for new members at
//    once, and for members of a running update every update health period; bounded
//    concurrency per group. Optional remediation replaces members UNHEALTHY for too long, with
//    a circuit breaker.
//  - Rolling updates follow the spec's UpdatePolicy (see planner.h for the rules) with a
//    health deadline that pauses or rolls back. Spec, update progress and the Prepare sequence
//    are persisted through the Store; Start() resumes every stored group, and an interrupted
//    update carries on.
//
// Threading: every method is thread-safe and may be called concurrently. One mutex guards all
// state; plugins, the store and callbacks are never called while holding it. Readers
// (ListGroups, InspectGroup, InspectGroupPage) do not take it: each step publishes an
// immutable view of the groups it touched before releasing it (runtime.h, StepLock), and
// readers answer from the latest views. Plugin calls, reconciles and store writes run as tasks
// on the Executor; timers come from the Clock.
// Callbacks (update progress, group events, done callbacks) always run on an Executor thread,
// never inside the call that registered them, one at a time and in order per subscription;
// they may call back into the Controller.
#ifndef INFRAKIT_SERVICES_GROUP_CONTROLLER_H_
#define INFRAKIT_SERVICES_GROUP_CONTROLLER_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/paging/paging.h"
#include "infrakit/group/v1/group.pb.h"
#include "services/group/callbacks.h"
#include "services/group/clock.h"
#include "services/group/controller_options.h"
#include "services/group/executor.h"
#include "services/group/store.h"
#include "spi/plugin_resolver.h"

namespace infrakit::services::group {

class Controller {
 public:
  // `resolver`, `store`, `clock` and `executor` must outlive the Controller and every task it
  // posted: stop the executor (and the clock) after destroying the Controller and before
  // destroying the others. Tasks and timers that run after the Controller is gone do nothing.
  Controller(ControllerOptions options, spi::PluginResolver* resolver, Store* store, Clock* clock,
             Executor* executor);
  // Shutdown(), then forgets everything.
  ~Controller();

  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Loads every stored group and resumes managing it (an interrupted update carries on). Call
  // once, before serving. Errors: the Store's (a corrupt or unreadable record, naming it):
  // nothing is then managed, and the service should refuse to start.
  absl::Status Start();

  // Stops managing every group (instances are left as they are): cancels watches and timers,
  // ends streams with UNAVAILABLE, fails pending done callbacks with UNAVAILABLE. Plugin calls
  // under way finish; their results are dropped. Later calls fail UNAVAILABLE. Idempotent.
  void Shutdown();

  // Commits a new group: checks the spec (INVALID_ARGUMENT "<field>: <problem>"), resolves and
  // validates with its instance and flavor plugins (NOT_FOUND for an unknown plugin, UNAVAILABLE
  // for one that is down, the plugin's INVALID_ARGUMENT prefixed with the field), persists it
  // (the Store's error), and starts converging. ALREADY_EXISTS when the group is watched.
  // Answers "watching <id>" and the config_sha. Blocks on the plugins and the disk.
  absl::StatusOr<infrakit::group::v1::WatchGroupResponse> WatchGroup(
      const infrakit::group::v1::WatchGroupRequest& request);

  // Stops managing a group and forgets its spec (the record is deleted first: on a Store error
  // nothing changes); instances are left running; its streams end. NOT_FOUND for an unknown
  // group.
  absl::Status UnwatchGroup(const infrakit::group::v1::UnwatchGroupRequest& request);

  // The group's spec, status and members (ordered by ID), as the last step that touched the
  // group left them. NOT_FOUND for an unknown group. Never waits for the controller's lock:
  // served from the group's published view (group_view.h).
  absl::StatusOr<infrakit::group::v1::InspectGroupResponse> InspectGroup(
      const infrakit::group::v1::InspectGroupRequest& request);
  // One page of InspectGroup's members: those `cursor` designates (common/paging/paging.h,
  // kDefaultPageLimits) with the next page's token for `fingerprint`, the spec and the status,
  // built in `out` (which must be empty; on the arena of its own, if any, e.g. gRPC's call
  // arena: common/arena_allocator.h). Copies only the page, from the published view, without
  // the controller's lock. NOT_FOUND for an unknown group (`out` then unchanged).
  absl::Status InspectGroupPage(const infrakit::group::v1::InspectGroupRequest& request,
                                const common::PageCursor& cursor, absl::string_view fingerprint,
                                infrakit::group::v1::InspectGroupResponse* out);

  // The plan UpdateGroup would carry out for the proposed spec; changes nothing. Errors as for
  // UpdateGroup. Blocks on the plugins (validation).
  absl::StatusOr<infrakit::group::v1::DescribeUpdateResponse> DescribeUpdate(
      const infrakit::group::v1::DescribeUpdateRequest& request);

  // Applies a changed spec as a rolling update. Progress goes to `on_progress`: STARTED (with
  // the plan's summary), PROGRESS per step, then exactly one final phase (COMPLETED, PAUSED,
  // ROLLED_BACK, STOPPED, SUPERSEDED), then `on_end`. Cancelling the subscription stops the
  // callbacks, not the update (StopUpdate does). A running or paused update is superseded.
  // A size change alone is applied the same way (no instance is replaced). Errors: as
  // WatchGroup's for the spec and plugins; NOT_FOUND for an unknown group; FAILED_PRECONDITION
  // when the group is being destroyed, or the update would change the instance plugin or
  // switch between size and logical IDs; UNAVAILABLE while the group's membership is not known
  // (its instance plugin is down). Persists before returning (a Store error is reported in the
  // group's status and retried, not returned). Blocks on the plugins and the disk.
  absl::StatusOr<std::unique_ptr<Subscription>> UpdateGroup(
      const infrakit::group::v1::UpdateGroupRequest& request, UpdateProgressCallback on_progress,
      StreamEndCallback on_end);

  // Stops a running or paused update where it is; the group keeps its members (and its new
  // spec for new members). NOT_FOUND for an unknown group, FAILED_PRECONDITION when no update
  // is in progress.
  absl::Status StopUpdate(const infrakit::group::v1::StopUpdateRequest& request);

  // Drains and destroys every member, then forgets the group. `done` gets the number of
  // instances destroyed once the last is gone and the record deleted (NOT_FOUND for an unknown
  // group). The decision is persisted: a restarted service carries on destroying. Calling it
  // again while it runs adds a waiter.
  void DestroyGroup(const infrakit::group::v1::DestroyGroupRequest& request,
                    DoneCallback<infrakit::group::v1::DestroyGroupResponse> done);

  // Every watched group with its status, ordered by ID, as the last step that touched each
  // left it. Served from the published views: never waits for the controller's lock.
  infrakit::group::v1::ListGroupsResponse ListGroups();

  // Changes the size of a group of cattle at once (during an update too; the rollback target
  // takes the new size as well). INVALID_ARGUMENT for a negative size, NOT_FOUND for an unknown
  // group, FAILED_PRECONDITION for a group of pets or one being destroyed.
  absl::StatusOr<infrakit::group::v1::SetSizeResponse> SetSize(
      const infrakit::group::v1::SetSizeRequest& request);

  // Drains and destroys the named members; the size (cattle) or the list of logical IDs (pets)
  // drops by each member destroyed. `done` runs when every one has been destroyed or has
  // failed (failures give their place back): OK with the members destroyed, or the first error
  // when none was. NOT_FOUND (nothing destroyed) when one is not a member, UNAVAILABLE while
  // the membership is not known, FAILED_PRECONDITION while the group is being destroyed.
  void DestroyInstances(const infrakit::group::v1::DestroyInstancesRequest& request,
                        DoneCallback<infrakit::group::v1::DestroyInstancesResponse> done);

  // Streams the group's events from now on until the subscription is cancelled; `on_end` runs
  // when the group is unwatched or destroyed (OK) or the controller shuts down (UNAVAILABLE).
  // NOT_FOUND for an unknown group.
  absl::StatusOr<std::unique_ptr<Subscription>> StreamGroupEvents(
      const infrakit::group::v1::StreamGroupEventsRequest& request, GroupEventCallback on_event,
      StreamEndCallback on_end);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_CONTROLLER_H_
