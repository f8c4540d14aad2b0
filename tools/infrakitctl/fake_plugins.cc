#include "tools/infrakitctl/fake_plugins.h"

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "common/paging/paging.h"

namespace infrakit::tools::infrakitctl::testing {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;
namespace fv1 = ::infrakit::flavor::v1;

// Pages of two, so that every listing of more than two items takes several pages.
constexpr common::PageLimits kFakePageLimits{2, 2, 3584 * 1024};

void FakeGroupService::SetMembers(std::vector<gv1::Member> members) {
  absl::MutexLock lock(&mu_);
  members_ = std::move(members);
}

void FakeGroupService::SetPlan(gv1::Plan plan) {
  absl::MutexLock lock(&mu_);
  plan_ = std::move(plan);
}

void FakeGroupService::SetUpdateReports(std::vector<gv1::UpdateGroupResponse> reports, bool hold) {
  absl::MutexLock lock(&mu_);
  reports_ = std::move(reports);
  hold_update_ = hold;
}

void FakeGroupService::WaitUntilCancelled(grpc::ServerContext* context) {
  // Looks at the context between short waits.
  absl::Notification never;
  while (!context->IsCancelled()) {
    never.WaitForNotificationWithTimeout(absl::Milliseconds(10));
  }
}

void FakeGroupService::SetEvents(std::vector<gv1::GroupEvent> events, bool hold) {
  absl::MutexLock lock(&mu_);
  events_ = std::move(events);
  hold_events_ = hold;
}

std::map<std::string, FakeGroupService::Spec> FakeGroupService::watched() const {
  absl::MutexLock lock(&mu_);
  return watched_;
}

std::vector<FakeGroupService::Spec> FakeGroupService::updates() const {
  absl::MutexLock lock(&mu_);
  return updates_;
}

std::vector<std::string> FakeGroupService::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

grpc::Status FakeGroupService::CheckWatched(const std::string& id) const {
  if (watched_.count(id) == 0) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no group named ", id));
  }
  return grpc::Status::OK;
}

grpc::Status FakeGroupService::WatchGroup(grpc::ServerContext*, const gv1::WatchGroupRequest* r,
                                          gv1::WatchGroupResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back("WatchGroup");
  if (watched_.count(r->spec().id()) != 0) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                        absl::StrCat("group ", r->spec().id(), " is already watched"));
  }
  watched_[r->spec().id()] = r->spec();
  response->set_message(absl::StrCat("watching ", r->spec().id()));
  return grpc::Status::OK;
}

grpc::Status FakeGroupService::UnwatchGroup(grpc::ServerContext*, const gv1::UnwatchGroupRequest* r,
                                            gv1::UnwatchGroupResponse*) {
  absl::MutexLock lock(&mu_);
  calls_.push_back("UnwatchGroup");
  if (grpc::Status s = CheckWatched(r->id()); !s.ok()) return s;
  watched_.erase(r->id());
  return grpc::Status::OK;
}

grpc::Status FakeGroupService::InspectGroup(grpc::ServerContext* context,
                                            const gv1::InspectGroupRequest* r,
                                            gv1::InspectGroupResponse* response) {
  if (r->id() == "slow") {
    // Answers never: the client's deadline passes first.
    absl::Notification never;
    never.WaitForNotificationWithDeadline(absl::FromChrono(context->deadline()));
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "too slow");
  }
  absl::MutexLock lock(&mu_);
  calls_.push_back("InspectGroup");
  if (grpc::Status s = CheckWatched(r->id()); !s.ok()) return s;
  const std::string fingerprint = common::PageFingerprint("InspectGroup", {r->id()});
  absl::StatusOr<common::PageCursor> cursor =
      common::StartPage(r->page_size(), r->page_token(), fingerprint, kFakePageLimits);
  if (!cursor.ok()) return common::ToGrpcStatus(cursor.status());
  *response->mutable_spec() = watched_[r->id()];
  for (const gv1::Member& m : members_) *response->add_members() = m;
  response->mutable_status()->set_desired(members_.size());
  response->mutable_status()->set_actual(members_.size());
  response->mutable_status()->set_converged(true);
  response->set_next_page_token(common::TakePage(
      response->mutable_members(),
      [](const gv1::Member& m) -> const std::string& { return m.id(); }, *cursor, fingerprint,
      kFakePageLimits));
  return grpc::Status::OK;
}

grpc::Status FakeGroupService::DescribeUpdate(grpc::ServerContext*,
                                              const gv1::DescribeUpdateRequest* r,
                                              gv1::DescribeUpdateResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back("DescribeUpdate");
  if (grpc::Status s = CheckWatched(r->spec().id()); !s.ok()) return s;
  *response->mutable_plan() = plan_;
  return grpc::Status::OK;
}

grpc::Status FakeGroupService::UpdateGroup(grpc::ServerContext* context,
                                           const gv1::UpdateGroupRequest* r,
                                           grpc::ServerWriter<gv1::UpdateGroupResponse>* writer) {
  std::vector<gv1::UpdateGroupResponse> reports;
  bool hold;
  {
    absl::MutexLock lock(&mu_);
    calls_.push_back("UpdateGroup");
    if (grpc::Status s = CheckWatched(r->spec().id()); !s.ok()) return s;
    updates_.push_back(r->spec());
    reports = reports_;
    hold = hold_update_;
  }
  for (const gv1::UpdateGroupResponse& report : reports) writer->Write(report);
  if (!reports_sent_.HasBeenNotified()) reports_sent_.Notify();
  if (hold) {
    WaitUntilCancelled(context);
    return grpc::Status::CANCELLED;
  }
  return grpc::Status::OK;
}

void FakeGroupService::SetStopStatus(grpc::Status status) {
  absl::MutexLock lock(&mu_);
  stop_status_ = std::move(status);
}

grpc::Status FakeGroupService::StopUpdate(grpc::ServerContext*, const gv1::StopUpdateRequest* r,
                                          gv1::StopUpdateResponse*) {
  absl::MutexLock lock(&mu_);
  calls_.push_back("StopUpdate");
  if (grpc::Status s = CheckWatched(r->id()); !s.ok()) return s;
  return stop_status_;
}

grpc::Status FakeGroupService::DestroyGroup(grpc::ServerContext*, const gv1::DestroyGroupRequest* r,
                                            gv1::DestroyGroupResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back("DestroyGroup");
  if (grpc::Status s = CheckWatched(r->id()); !s.ok()) return s;
  watched_.erase(r->id());
  response->set_destroyed(members_.size());
  return grpc::Status::OK;
}

grpc::Status FakeGroupService::ListGroups(grpc::ServerContext*, const gv1::ListGroupsRequest* r,
                                          gv1::ListGroupsResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back("ListGroups");
  const std::string fingerprint = common::PageFingerprint("ListGroups", {});
  absl::StatusOr<common::PageCursor> cursor =
      common::StartPage(r->page_size(), r->page_token(), fingerprint, kFakePageLimits);
  if (!cursor.ok()) return common::ToGrpcStatus(cursor.status());
  for (const auto& [id, spec] : watched_) {
    gv1::GroupSummary* g = response->add_groups();
    *g->mutable_spec() = spec;
    g->mutable_status()->set_desired(members_.size());
    g->mutable_status()->set_actual(members_.size());
    g->mutable_status()->set_converged(true);
  }
  response->set_next_page_token(common::TakePage(
      response->mutable_groups(),
      [](const gv1::GroupSummary& g) -> const std::string& { return g.spec().id(); }, *cursor,
      fingerprint, kFakePageLimits));
  return grpc::Status::OK;
}

grpc::Status FakeGroupService::SetSize(grpc::ServerContext*, const gv1::SetSizeRequest* r,
                                       gv1::SetSizeResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(absl::StrCat("SetSize ", r->size()));
  if (grpc::Status s = CheckWatched(r->id()); !s.ok()) return s;
  response->set_previous_size(watched_[r->id()].allocation().size());
  watched_[r->id()].mutable_allocation()->set_size(r->size());
  return grpc::Status::OK;
}

grpc::Status FakeGroupService::DestroyInstances(grpc::ServerContext*,
                                                const gv1::DestroyInstancesRequest* r,
                                                gv1::DestroyInstancesResponse* response) {
  absl::MutexLock lock(&mu_);
  calls_.push_back("DestroyInstances");
  if (grpc::Status s = CheckWatched(r->id()); !s.ok()) return s;
  for (const std::string& id : r->instance_ids()) {
    bool member = false;
    for (const gv1::Member& m : members_) member = member || m.id() == id;
    if (!member) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat(id, " is not a member of ", r->id()));
    }
  }
  for (const std::string& id : r->instance_ids()) response->add_destroyed(id);
  response->set_size(static_cast<int64_t>(members_.size()) - r->instance_ids_size());
  return grpc::Status::OK;
}

grpc::Status FakeGroupService::StreamGroupEvents(grpc::ServerContext* context,
                                                 const gv1::StreamGroupEventsRequest* r,
                                                 grpc::ServerWriter<gv1::GroupEvent>* writer) {
  std::vector<gv1::GroupEvent> events;
  bool hold;
  {
    absl::MutexLock lock(&mu_);
    calls_.push_back("StreamGroupEvents");
    if (grpc::Status s = CheckWatched(r->id()); !s.ok()) return s;
    events = events_;
    hold = hold_events_;
  }
  for (const gv1::GroupEvent& event : events) writer->Write(event);
  if (!events_sent_.HasBeenNotified()) events_sent_.Notify();
  if (hold) {
    WaitUntilCancelled(context);
    return grpc::Status::CANCELLED;
  }
  return grpc::Status::OK;
}

void FakeInstanceService::SetInstances(std::vector<iv1::Description> instances) {
  absl::MutexLock lock(&mu_);
  instances_ = std::move(instances);
}

std::vector<iv1::DescribeRequest> FakeInstanceService::describes() const {
  absl::MutexLock lock(&mu_);
  return describes_;
}

std::vector<iv1::Spec> FakeInstanceService::provisioned() const {
  absl::MutexLock lock(&mu_);
  return provisioned_;
}

std::vector<std::string> FakeInstanceService::destroyed() const {
  absl::MutexLock lock(&mu_);
  return destroyed_;
}

grpc::Status FakeInstanceService::Validate(grpc::ServerContext*, const iv1::ValidateRequest* r,
                                           iv1::ValidateResponse*) {
  if (r->properties().fields().count("Bad") != 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "Bad: not a known property");
  }
  return grpc::Status::OK;
}

grpc::Status FakeInstanceService::Provision(grpc::ServerContext*, const iv1::ProvisionRequest* r,
                                            iv1::ProvisionResponse* response) {
  absl::MutexLock lock(&mu_);
  provisioned_.push_back(r->spec());
  response->set_id(absl::StrCat("instance-", provisioned_.size()));
  response->set_created(true);
  return grpc::Status::OK;
}

grpc::Status FakeInstanceService::Destroy(grpc::ServerContext*, const iv1::DestroyRequest* r,
                                          iv1::DestroyResponse*) {
  absl::MutexLock lock(&mu_);
  for (auto it = instances_.begin(); it != instances_.end(); ++it) {
    if (it->id() == r->id()) {
      instances_.erase(it);
      destroyed_.push_back(r->id());
      return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no instance ", r->id()));
}

grpc::Status FakeInstanceService::Describe(grpc::ServerContext*, const iv1::DescribeRequest* r,
                                           iv1::DescribeResponse* response) {
  absl::MutexLock lock(&mu_);
  describes_.push_back(*r);
  const std::string fingerprint =
      common::PageFingerprint("Describe", {r->include_properties() ? "p" : ""});
  absl::StatusOr<common::PageCursor> cursor =
      common::StartPage(r->page_size(), r->page_token(), fingerprint, kFakePageLimits);
  if (!cursor.ok()) return common::ToGrpcStatus(cursor.status());
  for (const iv1::Description& d : instances_) {
    bool match = true;
    for (const auto& [key, value] : r->tags()) {
      auto it = d.tags().find(key);
      match = match && it != d.tags().end() && it->second == value;
    }
    if (!match) continue;
    iv1::Description* out = response->add_instances();
    *out = d;
    if (!r->include_properties()) out->clear_spec();
  }
  response->set_next_page_token(common::TakePage(
      response->mutable_instances(),
      [](const iv1::Description& d) -> const std::string& { return d.id(); }, *cursor, fingerprint,
      kFakePageLimits));
  return grpc::Status::OK;
}

grpc::Status FakeFlavorService::Validate(grpc::ServerContext*, const fv1::ValidateRequest* r,
                                         fv1::ValidateResponse*) {
  if (r->allocation().has_size() && r->allocation().size() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "allocation.size: must be >= 0");
  }
  return grpc::Status::OK;
}

grpc::Status FakeFlavorService::Prepare(grpc::ServerContext*, const fv1::PrepareRequest* r,
                                        fv1::PrepareResponse* response) {
  *response->mutable_spec() = r->spec();
  auto it = r->properties().fields().find("Init");
  if (it != r->properties().fields().end()) {
    response->mutable_spec()->set_init(
        absl::StrCat(r->spec().init(), "\n", it->second.string_value()));
  }
  (*response->mutable_spec()->mutable_tags())["flavor"] = "fake";
  return grpc::Status::OK;
}

grpc::Status FakeFlavorService::Healthy(grpc::ServerContext*, const fv1::HealthyRequest* r,
                                        fv1::HealthyResponse* response) {
  if (r->instance().id() == "good") {
    response->set_health(fv1::HEALTH_HEALTHY);
  } else {
    response->set_health(fv1::HEALTH_UNHEALTHY);
    response->set_reason("probe failed");
  }
  return grpc::Status::OK;
}

}  // namespace infrakit::tools::infrakitctl::testing
