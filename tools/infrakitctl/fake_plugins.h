// Scriptable gRPC services standing in for real plugins in infrakitctl's in-process tests: they
// record what the CLI sent and answer what the test set up. testonly.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_FAKE_PLUGINS_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_FAKE_PLUGINS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "infrakit/flavor/v1/flavor.grpc.pb.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "infrakit/instance/v1/instance.grpc.pb.h"

namespace infrakit::tools::infrakitctl::testing {

// A group plugin. Groups exist once watched; unknown IDs get NOT_FOUND "no group named ID".
// InspectGroup of "slow" never answers (until the call's deadline). Thread-safe.
class FakeGroupService final : public infrakit::group::v1::GroupService::Service {
 public:
  using Spec = infrakit::group::v1::GroupSpec;

  // Members returned by InspectGroup (for any watched group).
  void SetMembers(std::vector<infrakit::group::v1::Member> members);
  // The plan DescribeUpdate answers with.
  void SetPlan(infrakit::group::v1::Plan plan);
  // The reports UpdateGroup streams; then, if `hold`, it waits until the client cancels, else
  // the stream ends OK.
  void SetUpdateReports(std::vector<infrakit::group::v1::UpdateGroupResponse> reports,
                        bool hold = false);
  // Notified once UpdateGroup has sent its reports.
  absl::Notification& reports_sent() { return reports_sent_; }
  // The events StreamGroupEvents sends; then, if `hold`, it waits until the client cancels,
  // else the stream ends (as when the group is destroyed).
  void SetEvents(std::vector<infrakit::group::v1::GroupEvent> events, bool hold);
  // What StopUpdate answers for a watched group (default OK), e.g. the group service's
  // FAILED_PRECONDITION when no update is running.
  void SetStopStatus(grpc::Status status);
  // Notified once StreamGroupEvents has sent its events.
  absl::Notification& events_sent() { return events_sent_; }

  // What the CLI sent.
  std::map<std::string, Spec> watched() const;
  std::vector<Spec> updates() const;
  std::vector<std::string> calls() const;

  grpc::Status WatchGroup(grpc::ServerContext*, const infrakit::group::v1::WatchGroupRequest*,
                          infrakit::group::v1::WatchGroupResponse*) override;
  grpc::Status UnwatchGroup(grpc::ServerContext*, const infrakit::group::v1::UnwatchGroupRequest*,
                            infrakit::group::v1::UnwatchGroupResponse*) override;
  grpc::Status InspectGroup(grpc::ServerContext*, const infrakit::group::v1::InspectGroupRequest*,
                            infrakit::group::v1::InspectGroupResponse*) override;
  grpc::Status DescribeUpdate(grpc::ServerContext*,
                              const infrakit::group::v1::DescribeUpdateRequest*,
                              infrakit::group::v1::DescribeUpdateResponse*) override;
  grpc::Status UpdateGroup(grpc::ServerContext*, const infrakit::group::v1::UpdateGroupRequest*,
                           grpc::ServerWriter<infrakit::group::v1::UpdateGroupResponse>*) override;
  grpc::Status StopUpdate(grpc::ServerContext*, const infrakit::group::v1::StopUpdateRequest*,
                          infrakit::group::v1::StopUpdateResponse*) override;
  grpc::Status DestroyGroup(grpc::ServerContext*, const infrakit::group::v1::DestroyGroupRequest*,
                            infrakit::group::v1::DestroyGroupResponse*) override;
  grpc::Status ListGroups(grpc::ServerContext*, const infrakit::group::v1::ListGroupsRequest*,
                          infrakit::group::v1::ListGroupsResponse*) override;
  grpc::Status SetSize(grpc::ServerContext*, const infrakit::group::v1::SetSizeRequest*,
                       infrakit::group::v1::SetSizeResponse*) override;
  grpc::Status DestroyInstances(grpc::ServerContext*,
                                const infrakit::group::v1::DestroyInstancesRequest*,
                                infrakit::group::v1::DestroyInstancesResponse*) override;
  grpc::Status StreamGroupEvents(grpc::ServerContext*,
                                 const infrakit::group::v1::StreamGroupEventsRequest*,
                                 grpc::ServerWriter<infrakit::group::v1::GroupEvent>*) override;

 private:
  // Waits until the client cancels the call (the sync API has no cancellation callback).
  static void WaitUntilCancelled(grpc::ServerContext* context);
  // NOT_FOUND unless `id` is watched. Requires mu_.
  grpc::Status CheckWatched(const std::string& id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Spec> watched_ ABSL_GUARDED_BY(mu_);
  std::vector<Spec> updates_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<infrakit::group::v1::Member> members_ ABSL_GUARDED_BY(mu_);
  infrakit::group::v1::Plan plan_ ABSL_GUARDED_BY(mu_);
  std::vector<infrakit::group::v1::UpdateGroupResponse> reports_ ABSL_GUARDED_BY(mu_);
  std::vector<infrakit::group::v1::GroupEvent> events_ ABSL_GUARDED_BY(mu_);
  bool hold_events_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_update_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status stop_status_ ABSL_GUARDED_BY(mu_);
  absl::Notification events_sent_;
  absl::Notification reports_sent_;
};

// An instance plugin over a fixed set of instances, listed two per page (as are the group
// fake's groups and members). Destroy of an unknown ID: NOT_FOUND.
// Validate rejects properties with a "Bad" key (INVALID_ARGUMENT naming it). Thread-safe.
class FakeInstanceService final : public infrakit::instance::v1::InstanceService::Service {
 public:
  void SetInstances(std::vector<infrakit::instance::v1::Description> instances);
  std::vector<infrakit::instance::v1::DescribeRequest> describes() const;
  std::vector<infrakit::instance::v1::Spec> provisioned() const;
  std::vector<std::string> destroyed() const;

  grpc::Status Validate(grpc::ServerContext*, const infrakit::instance::v1::ValidateRequest*,
                        infrakit::instance::v1::ValidateResponse*) override;
  grpc::Status Provision(grpc::ServerContext*, const infrakit::instance::v1::ProvisionRequest*,
                         infrakit::instance::v1::ProvisionResponse*) override;
  grpc::Status Destroy(grpc::ServerContext*, const infrakit::instance::v1::DestroyRequest*,
                       infrakit::instance::v1::DestroyResponse*) override;
  grpc::Status Describe(grpc::ServerContext*, const infrakit::instance::v1::DescribeRequest*,
                        infrakit::instance::v1::DescribeResponse*) override;

 private:
  mutable absl::Mutex mu_;
  std::vector<infrakit::instance::v1::Description> instances_ ABSL_GUARDED_BY(mu_);
  std::vector<infrakit::instance::v1::DescribeRequest> describes_ ABSL_GUARDED_BY(mu_);
  std::vector<infrakit::instance::v1::Spec> provisioned_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> destroyed_ ABSL_GUARDED_BY(mu_);
};

// A flavor plugin: Validate rejects a negative size; Prepare appends the properties' "Init"
// line and a tag "flavor=fake"; Healthy says HEALTHY for instance "good", UNHEALTHY ("probe
// failed") otherwise. Stateless; thread-safe.
class FakeFlavorService final : public infrakit::flavor::v1::FlavorService::Service {
 public:
  grpc::Status Validate(grpc::ServerContext*, const infrakit::flavor::v1::ValidateRequest*,
                        infrakit::flavor::v1::ValidateResponse*) override;
  grpc::Status Prepare(grpc::ServerContext*, const infrakit::flavor::v1::PrepareRequest*,
                       infrakit::flavor::v1::PrepareResponse*) override;
  grpc::Status Healthy(grpc::ServerContext*, const infrakit::flavor::v1::HealthyRequest*,
                       infrakit::flavor::v1::HealthyResponse*) override;
};

}  // namespace infrakit::tools::infrakitctl::testing

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_FAKE_PLUGINS_H_
