#include "services/group/controller.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "services/group/creation.h"
#include "services/group/destruction.h"
#include "services/group/events.h"
#include "services/group/health.h"
#include "services/group/membership.h"
#include "services/group/persistence.h"
#include "services/group/planner.h"
#include "services/group/reconciler.h"
#include "services/group/rollout.h"
#include "services/group/runtime.h"
#include "spec/group_spec.h"

namespace infrakit::services::group {
namespace {

using ::infrakit::spec::ConfigSha;
using ::infrakit::spec::ValidateGroupSpec;

class StreamSubscription : public Subscription {
 public:
  StreamSubscription(std::function<void()> cancel_stream, std::function<void()> detach)
      : cancel_stream_(std::move(cancel_stream)), detach_(std::move(detach)) {}
  ~StreamSubscription() override { Cancel(); }

  void Cancel() override {
    std::function<void()> cancel, detach;
    {
      absl::MutexLock lock(&mu_);
      cancel.swap(cancel_stream_);
      detach.swap(detach_);
    }
    if (cancel) cancel();
    if (detach) detach();
  }

 private:
  absl::Mutex mu_;
  std::function<void()> cancel_stream_ ABSL_GUARDED_BY(mu_);
  std::function<void()> detach_ ABSL_GUARDED_BY(mu_);
};

absl::Status ShuttingDown() { return absl::UnavailableError("the group service is shutting down"); }

absl::Status MembershipUnknown(const Group& g) {
  return absl::UnavailableError(absl::StrCat("the members of group \"", g.id,
                                             "\" are not known yet: waiting for instance plugin \"",
                                             g.spec.instance().plugin(), "\""));
}

}  // namespace

// The runtime and the parts, alive as long as any task of theirs runs.
class Controller::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(ControllerOptions options, spi::PluginResolver* resolver, Store* store, Clock* clock,
       Executor* executor)
      : rt(std::move(options), resolver, store, clock, executor),
        events(&rt),
        persistence(&rt),
        health(&rt),
        membership(&rt),
        creation(&rt),
        destruction(&rt),
        rollout(&rt),
        reconciler(&rt) {
    // The reconciler is the parts' PassScheduler.
    rt.parts = Parts{&events,   &persistence, &health,  &membership,
                     &creation, &destruction, &rollout, &reconciler};
  }

  // The group `id` checked for an update with `spec`, under the lock.
  absl::StatusOr<Group*> UpdatableLocked(const gv1::GroupSpec& spec)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(rt.mu) {
    Group* g = rt.FindLocked(spec.id());
    if (g == nullptr) return GroupNotFound(spec.id());
    if (absl::Status st = rollout.CheckUpdatableLocked(g, spec); !st.ok()) return st;
    return g;
  }

  // Validates `spec` with its instance and flavor plugins (blocks on them). Returns the
  // flavor's limit on members down at once (ValidateResponse.max_unavailable, 0: none).
  absl::StatusOr<int32_t> ValidateWithPlugins(const gv1::GroupSpec& spec);
  std::unique_ptr<Group> NewGroupLocked(const gv1::GroupSpec& spec)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(rt.mu);

  Runtime rt;
  Events events;
  Persistence persistence;
  Health health;
  Membership membership;
  Creation creation;
  Destruction destruction;
  Rollout rollout;
  Reconciler reconciler;
};

absl::StatusOr<int32_t> Controller::Impl::ValidateWithPlugins(const gv1::GroupSpec& spec) {
  const std::string& ip = spec.instance().plugin();
  auto instance = rt.resolver->Instance(ip);
  if (!instance.ok()) {
    return Prefixed(instance.status(),
                    absl::StrCat("instance.plugin: instance plugin \"", ip, "\": "));
  }
  iv1::ValidateRequest iv;
  *iv.mutable_properties() = spec.instance().properties();
  if (absl::Status st = (*instance)->Validate(iv); !st.ok()) {
    return Prefixed(st, st.code() == absl::StatusCode::kInvalidArgument
                            ? absl::StrCat("instance.properties (checked by ", ip, "): ")
                            : absl::StrCat("instance plugin \"", ip, "\": "));
  }
  const std::string& fp = spec.flavor().plugin();
  auto flavor = rt.resolver->Flavor(fp);
  if (!flavor.ok()) {
    return Prefixed(flavor.status(), absl::StrCat("flavor.plugin: flavor plugin \"", fp, "\": "));
  }
  fv1::ValidateRequest fv;
  *fv.mutable_properties() = spec.flavor().properties();
  *fv.mutable_allocation() = spec.allocation();
  absl::StatusOr<fv1::ValidateResponse> checked = (*flavor)->ValidateAllocation(fv);
  if (!checked.ok()) {
    const absl::Status& st = checked.status();
    return Prefixed(st, st.code() == absl::StatusCode::kInvalidArgument
                            ? absl::StrCat("flavor.properties (checked by ", fp, "): ")
                            : absl::StrCat("flavor plugin \"", fp, "\": "));
  }
  return std::max(0, checked->max_unavailable());
}

std::unique_ptr<Group> Controller::Impl::NewGroupLocked(const gv1::GroupSpec& spec) {
  auto g = std::make_unique<Group>();
  g->id = spec.id();
  g->uid = rt.next_uid++;
  g->spec = spec;
  g->sha = ConfigSha(spec);
  g->RememberConfigFlavor();
  return g;
}

// ------------------------------------------------------------------------------------------

Controller::Controller(ControllerOptions options, spi::PluginResolver* resolver, Store* store,
                       Clock* clock, Executor* executor)
    : impl_(std::make_shared<Impl>(std::move(options), resolver, store, clock, executor)) {
  impl_->rt.set_owner(std::weak_ptr<Impl>(impl_));
}

Controller::~Controller() { Shutdown(); }

absl::Status Controller::Start() {
  Impl& c = *impl_;
  absl::StatusOr<std::vector<GroupRecord>> records = c.rt.store->LoadAll();
  if (!records.ok()) return records.status();
  StepLock lock(&c.rt);
  if (c.rt.shut_down) return absl::UnavailableError("the group controller is shut down");
  for (GroupRecord& r : *records) {
    if (c.rt.groups.count(r.spec().id())) continue;
    if (absl::Status valid = ValidateGroupSpec(r.spec()); !valid.ok()) {
      LOG(WARNING) << "stored group " << r.spec().id() << " does not pass today's checks (" << valid
                   << "); managing it anyway";
    }
    std::unique_ptr<Group> g = c.NewGroupLocked(r.spec());
    if (r.update().active()) g->update = r.update();
    g->update_generation = r.update_generation();
    g->flavor_max_unavailable = r.flavor_max_unavailable();
    g->sequence_reserved = r.sequence_reserved();
    g->next_sequence = std::max<int64_t>(1, r.sequence_reserved());
    g->destroying = r.destroying();
    g->writer->written = 0;
    g->resumed = true;
    for (const PendingCreation& p : r.pending_creations()) c.creation.RestoreLocked(g.get(), p);
    for (const auto& [sha, flavor] : r.config_flavors()) g->config_flavors.emplace(sha, flavor);
    Group* raw = g.get();
    c.rt.groups.emplace(raw->id, std::move(g));
    LOG(INFO) << "resuming group " << raw->id
              << (!raw->update.active()   ? ""
                  : raw->update.stopped() ? " (update stopped)"
                  : raw->update.paused()  ? " (update paused)"
                                          : " (update in progress)")
              << (raw->destroying ? " (being destroyed)" : "");
    if (Rolling(raw->update)) {
      c.events.EmitLocked(raw, gv1::GROUP_EVENT_TYPE_UPDATE, "", "update resumed after a restart");
    }
    c.rt.MarkViewDirtyLocked(raw);
    c.reconciler.StartLocked(raw);
  }
  return absl::OkStatus();
}

void Controller::Shutdown() {
  Impl& c = *impl_;
  Trash trash;
  {
    StepLock lock(&c.rt);
    if (c.rt.shut_down) return;
    std::vector<Group*> all;
    for (auto& [id, g] : c.rt.groups) all.push_back(g.get());
    for (Group* g : all) c.reconciler.ForgetLocked(g, ShuttingDown(), "shutdown", &trash);
    c.rt.shut_down = true;
  }
  trash.Clear();
}

absl::StatusOr<gv1::WatchGroupResponse> Controller::WatchGroup(
    const gv1::WatchGroupRequest& request) {
  Impl& c = *impl_;
  const gv1::GroupSpec& spec = request.spec();
  if (absl::Status st = ValidateGroupSpec(spec); !st.ok()) return Prefixed(st, "spec.");
  int64_t uid;
  std::shared_ptr<Writer> writer;
  {
    StepLock lock(&c.rt);
    if (c.rt.shut_down) return ShuttingDown();
    if (c.rt.groups.count(spec.id())) {
      return absl::AlreadyExistsError(absl::StrCat("group \"", spec.id(), "\" is already watched"));
    }
    std::unique_ptr<Group> g = c.NewGroupLocked(spec);
    g->starting = true;
    uid = g->uid;
    writer = g->writer;
    c.rt.groups.emplace(spec.id(), std::move(g));
  }
  auto abandon = [&](absl::Status st) {
    StepLock lock(&c.rt);
    auto it = c.rt.groups.find(spec.id());
    if (it != c.rt.groups.end() && it->second->uid == uid) c.rt.groups.erase(it);
    return st;
  };
  absl::StatusOr<int32_t> flavor_limit = c.ValidateWithPlugins(spec);
  if (!flavor_limit.ok()) return abandon(flavor_limit.status());
  GroupRecord record;
  *record.mutable_spec() = spec;
  record.set_flavor_max_unavailable(*flavor_limit);
  {
    absl::MutexLock write_lock(&writer->mu);
    if (absl::Status st = c.rt.store->Put(record); !st.ok()) {
      return abandon(Prefixed(st, "saving the group failed: "));
    }
  }
  gv1::WatchGroupResponse response;
  StepLock lock(&c.rt);
  auto it = c.rt.groups.find(spec.id());
  if (c.rt.shut_down || it == c.rt.groups.end() || it->second->uid != uid) return ShuttingDown();
  Group* g = it->second.get();
  g->starting = false;
  c.rt.MarkViewDirtyLocked(g);
  g->flavor_max_unavailable = *flavor_limit;
  LOG(INFO) << "watching group " << g->id << " (config " << g->sha << ")";
  c.reconciler.StartLocked(g);
  response.set_message(absl::StrCat("watching ", g->id));
  response.set_config_sha(g->sha);
  return response;
}

absl::Status Controller::UnwatchGroup(const gv1::UnwatchGroupRequest& request) {
  Impl& c = *impl_;
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    StepLock lock(&c.rt);
    if (c.rt.shut_down) return ShuttingDown();
    Group* g = c.rt.FindLocked(request.id());
    if (g == nullptr) return GroupNotFound(request.id());
    writer = g->writer;
    uid = g->uid;
  }
  Trash trash;
  {
    absl::MutexLock write_lock(&writer->mu);
    if (absl::Status st = c.rt.store->Delete(request.id()); !st.ok()) {
      return Prefixed(st, "forgetting the group failed: ");
    }
    StepLock lock(&c.rt);
    Group* g = c.rt.FindUidLocked(request.id(), uid);
    if (g == nullptr) return GroupNotFound(request.id());
    LOG(INFO) << "unwatching group " << g->id;
    c.events.EmitLocked(g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "", "group unwatched");
    c.reconciler.ForgetLocked(g, absl::OkStatus(), "group unwatched", &trash);
  }
  trash.Clear();
  return absl::OkStatus();
}

absl::StatusOr<gv1::InspectGroupResponse> Controller::InspectGroup(
    const gv1::InspectGroupRequest& request) {
  std::shared_ptr<const GroupView> view = impl_->rt.views.Find(request.id());
  if (view == nullptr) return GroupNotFound(request.id());
  return view->Inspect();
}

absl::Status Controller::InspectGroupPage(const gv1::InspectGroupRequest& request,
                                          const common::PageCursor& cursor,
                                          absl::string_view fingerprint,
                                          gv1::InspectGroupResponse* out) {
  std::shared_ptr<const GroupView> view = impl_->rt.views.Find(request.id());
  if (view == nullptr) return GroupNotFound(request.id());
  gv1::InspectGroupResponse& r = *out;
  *r.mutable_spec() = view->spec;
  *r.mutable_status() = view->status;
  common::PageBuilder page(cursor, fingerprint);
  view->members->ForEachAfter(cursor.after_key, [&](const PublishedMembers::Entry& e) {
    gv1::Member* member = r.add_members();
    view->FillMember(*e.value, member);
    if (page.Offer(e.key, member->ByteSizeLong())) return true;
    r.mutable_members()->RemoveLast();  // the page is full without it
    return false;
  });
  r.set_next_page_token(page.next_page_token());
  return absl::OkStatus();
}

absl::StatusOr<gv1::DescribeUpdateResponse> Controller::DescribeUpdate(
    const gv1::DescribeUpdateRequest& request) {
  Impl& c = *impl_;
  const gv1::GroupSpec& spec = request.spec();
  if (absl::Status st = ValidateGroupSpec(spec); !st.ok()) return Prefixed(st, "spec.");
  {
    StepLock lock(&c.rt);
    if (auto g = c.UpdatableLocked(spec); !g.ok()) return g.status();
  }
  if (auto checked = c.ValidateWithPlugins(spec); !checked.ok()) return checked.status();
  StepLock lock(&c.rt);
  absl::StatusOr<Group*> g = c.UpdatableLocked(spec);
  if (!g.ok()) return g.status();
  if (!(*g)->known) return MembershipUnknown(**g);
  gv1::DescribeUpdateResponse r;
  *r.mutable_plan() = MakePlan(c.reconciler.MemberViewsLocked(*g, c.rt.Now()),
                               c.reconciler.SlotViewsLocked(*g), spec, ConfigSha(spec));
  return r;
}

absl::StatusOr<std::unique_ptr<Subscription>> Controller::UpdateGroup(
    const gv1::UpdateGroupRequest& request, UpdateProgressCallback on_progress,
    StreamEndCallback on_end) {
  Impl& c = *impl_;
  const gv1::GroupSpec& spec = request.spec();
  if (absl::Status st = ValidateGroupSpec(spec); !st.ok()) return Prefixed(st, "spec.");
  {
    StepLock lock(&c.rt);
    if (c.rt.shut_down) return ShuttingDown();
    if (auto g = c.UpdatableLocked(spec); !g.ok()) return g.status();
  }
  absl::StatusOr<int32_t> flavor_limit = c.ValidateWithPlugins(spec);
  if (!flavor_limit.ok()) return flavor_limit.status();

  auto stream =
      std::make_shared<UpdateStream>(std::move(on_progress), std::move(on_end), c.rt.executor);
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    StepLock lock(&c.rt);
    absl::StatusOr<Group*> found = c.UpdatableLocked(spec);
    if (!found.ok()) return found.status();
    Group* g = *found;
    if (!g->known) return MembershipUnknown(*g);
    const std::string sha = ConfigSha(spec);
    const gv1::Plan plan = MakePlan(c.reconciler.MemberViewsLocked(g, c.rt.Now()),
                                    c.reconciler.SlotViewsLocked(g), spec, sha);
    c.rollout.BeginLocked(g, spec, sha, plan.summary(), stream);
    g->flavor_max_unavailable = *flavor_limit;
    writer = g->writer;
    uid = g->uid;
  }
  // Durable before answering, so that a crash right after resumes this update; a failure is
  // reported in the status and retried.
  c.persistence.Flush(spec.id(), uid, writer).IgnoreError();
  std::weak_ptr<UpdateStream> weak_stream = stream;
  return std::unique_ptr<Subscription>(new StreamSubscription(
      [weak_stream] {
        if (auto s = weak_stream.lock()) s->Cancel();
      },
      nullptr));
}

absl::Status Controller::StopUpdate(const gv1::StopUpdateRequest& request) {
  Impl& c = *impl_;
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    StepLock lock(&c.rt);
    Group* g = c.rt.FindLocked(request.id());
    if (g == nullptr) return GroupNotFound(request.id());
    if (absl::Status st = c.rollout.StopLocked(g); !st.ok()) return st;
    writer = g->writer;
    uid = g->uid;
  }
  c.persistence.Flush(request.id(), uid, writer).IgnoreError();
  return absl::OkStatus();
}

void Controller::DestroyGroup(const gv1::DestroyGroupRequest& request,
                              DoneCallback<gv1::DestroyGroupResponse> done) {
  Impl& c = *impl_;
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    StepLock lock(&c.rt);
    Group* g = c.rt.shut_down ? nullptr : c.rt.FindLocked(request.id());
    if (g == nullptr) {
      absl::Status st = c.rt.shut_down ? ShuttingDown() : GroupNotFound(request.id());
      c.rt.executor->Post([done = std::move(done), st] { done(st); });
      return;
    }
    g->destroy_waiters.push_back(std::move(done));
    if (g->destroying) return;
    g->destroying = true;
    g->destroyed_count = 0;
    if (g->update.active()) {
      c.events.EndUpdateStreamLocked(g, gv1::UPDATE_PHASE_STOPPED, "the group is being destroyed");
      g->update.Clear();
    }
    LOG(INFO) << "destroying group " << g->id;
    c.events.EmitLocked(g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "", "destroying the group");
    c.persistence.MarkDirtyLocked(g);
    c.reconciler.ScheduleReconcileLocked(g);
    writer = g->writer;
    uid = g->uid;
  }
  c.persistence.Flush(request.id(), uid, writer).IgnoreError();
}

gv1::ListGroupsResponse Controller::ListGroups() {
  gv1::ListGroupsResponse r;
  for (const std::shared_ptr<const GroupView>& view : impl_->rt.views.All()) {
    gv1::GroupSummary* s = r.add_groups();
    *s->mutable_spec() = view->spec;
    *s->mutable_status() = view->status;
  }
  return r;
}

absl::StatusOr<gv1::SetSizeResponse> Controller::SetSize(const gv1::SetSizeRequest& request) {
  Impl& c = *impl_;
  if (request.size() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("size: must be >= 0, got ", request.size()));
  }
  std::shared_ptr<Writer> writer;
  int64_t uid;
  gv1::SetSizeResponse response;
  {
    StepLock lock(&c.rt);
    Group* g = c.rt.FindLocked(request.id());
    if (g == nullptr) return GroupNotFound(request.id());
    if (IsPets(g->spec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "group \"", g->id,
          "\" is a group of pets (logical IDs): change its list of logical IDs with an update"));
    }
    if (g->destroying) {
      return absl::FailedPreconditionError(
          absl::StrCat("group \"", g->id, "\" is being destroyed"));
    }
    response.set_previous_size(g->spec.allocation().size());
    g->spec.mutable_allocation()->set_size(request.size());
    ++g->intent_version;
    if (g->update.active() && g->update.previous_spec().allocation().has_size()) {
      g->update.mutable_previous_spec()->mutable_allocation()->set_size(request.size());
    }
    c.events.EmitLocked(g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "",
                        absl::StrCat("size ", response.previous_size(), " -> ", request.size()));
    c.persistence.MarkDirtyLocked(g);
    c.reconciler.ScheduleReconcileLocked(g);
    writer = g->writer;
    uid = g->uid;
  }
  c.persistence.Flush(request.id(), uid, writer).IgnoreError();
  return response;
}

void Controller::DestroyInstances(const gv1::DestroyInstancesRequest& request,
                                  DoneCallback<gv1::DestroyInstancesResponse> done) {
  Impl& c = *impl_;
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    StepLock lock(&c.rt);
    auto fail = [&](absl::Status st) {
      c.rt.executor->Post([done = std::move(done), st] { done(st); });
    };
    Group* g = c.rt.shut_down ? nullptr : c.rt.FindLocked(request.id());
    if (g == nullptr) {
      fail(c.rt.shut_down ? ShuttingDown() : GroupNotFound(request.id()));
      return;
    }
    if (g->destroying) {
      fail(absl::FailedPreconditionError(absl::StrCat("group \"", g->id, "\" is being destroyed")));
      return;
    }
    if (!g->known) {
      fail(MembershipUnknown(*g));
      return;
    }
    std::vector<std::string> ids;
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < request.instance_ids_size(); ++i) {
      const std::string& iid = request.instance_ids(i);
      if (!seen.insert(iid).second) continue;
      auto it = g->members.find(iid);
      if (it == g->members.end() || it->second.doomed) {
        fail(absl::NotFoundError(absl::StrCat("instance_ids[", i, "]: \"", iid,
                                              "\" is not a member of group \"", g->id, "\"")));
        return;
      }
      ids.push_back(iid);
    }
    if (ids.empty()) {
      gv1::DestroyInstancesResponse r;
      r.set_size(DesiredCount(g->spec));
      c.rt.executor->Post([done = std::move(done), r] { done(r); });
      return;
    }
    const int64_t rid = g->next_request++;
    DestroyRequest& r = g->requests[rid];
    r.pending = static_cast<int>(ids.size());
    r.done = std::move(done);
    const int64_t before = DesiredCount(g->spec);
    ++g->intent_version;
    for (const std::string& iid : ids) {
      Member& m = g->members[iid];
      if (IsPets(g->spec)) {
        auto* list = g->spec.mutable_allocation()->mutable_logical_ids()->mutable_ids();
        auto pos = std::find(list->begin(), list->end(), m.lid);
        if (pos != list->end()) list->erase(pos);
      } else {
        g->spec.mutable_allocation()->set_size(
            std::max<int64_t>(0, g->spec.allocation().size() - 1));
      }
      c.destruction.DoomLocked(g, &m, iv1::DESTROY_REASON_TERMINATE, "destroyed on request", false,
                               rid);
    }
    c.events.EmitLocked(
        g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "",
        absl::StrCat("size ", before, " -> ", DesiredCount(g->spec), " (destroying ",
                     Plural(static_cast<int64_t>(ids.size()), "instance"), ")"));
    c.persistence.MarkDirtyLocked(g);
    c.destruction.PumpLocked(g);
    c.reconciler.ScheduleReconcileLocked(g);
    writer = g->writer;
    uid = g->uid;
  }
  c.persistence.Flush(request.id(), uid, writer).IgnoreError();
}

absl::StatusOr<std::unique_ptr<Subscription>> Controller::StreamGroupEvents(
    const gv1::StreamGroupEventsRequest& request, GroupEventCallback on_event,
    StreamEndCallback on_end) {
  Impl& c = *impl_;
  auto stream =
      std::make_shared<EventStream>(std::move(on_event), std::move(on_end), c.rt.executor);
  {
    StepLock lock(&c.rt);
    if (c.rt.shut_down) return ShuttingDown();
    Group* g = c.rt.FindLocked(request.id());
    if (g == nullptr) return GroupNotFound(request.id());
    g->event_streams.push_back(stream);
  }
  std::weak_ptr<EventStream> weak_stream = stream;
  std::weak_ptr<Impl> weak_impl = impl_;
  std::string id = request.id();
  return std::unique_ptr<Subscription>(new StreamSubscription(
      [weak_stream] {
        if (auto s = weak_stream.lock()) s->Cancel();
      },
      [weak_impl, weak_stream, id] {
        auto impl = weak_impl.lock();
        auto s = weak_stream.lock();
        if (impl == nullptr || s == nullptr) return;
        StepLock lock(&impl->rt);
        Group* g = impl->rt.FindLocked(id);
        if (g == nullptr) return;
        auto& v = g->event_streams;
        v.erase(std::remove(v.begin(), v.end(), s), v.end());
      }));
}

}  // namespace infrakit::services::group
