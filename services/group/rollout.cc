#include "services/group/rollout.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "services/group/events.h"
#include "services/group/persistence.h"
#include "services/group/planner.h"
#include "spec/group_spec.h"

namespace infrakit::services::group {
absl::Status Rollout::CheckUpdatableLocked(Group* g, const gv1::GroupSpec& spec) {
  if (g->destroying) {
    return absl::FailedPreconditionError(absl::StrCat("group \"", g->id, "\" is being destroyed"));
  }
  if (spec.instance().plugin() != g->spec.instance().plugin()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "instance.plugin: cannot change from \"", g->spec.instance().plugin(), "\" to \"",
        spec.instance().plugin(), "\" in an update (the members live in \"",
        g->spec.instance().plugin(), "\"); destroy the group and watch it anew instead"));
  }
  if (IsPets(spec) != IsPets(g->spec)) {
    return absl::FailedPreconditionError(
        "allocation: cannot switch between a size and logical IDs in an update");
  }
  return absl::OkStatus();
}

void Rollout::BeginLocked(Group* g, const gv1::GroupSpec& spec, const std::string& sha,
                          const std::string& summary, std::shared_ptr<UpdateStream> stream) {
  Events* events = rt_->parts.events;
  gv1::GroupSpec previous = g->update.active() ? g->update.previous_spec() : g->spec;
  if (g->update.active() && !g->update.stopped()) {
    const std::string msg = "superseded by a newer update";
    events->EndUpdateStreamLocked(g, gv1::UPDATE_PHASE_SUPERSEDED, msg);
    events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", absl::StrCat("update ", msg));
  }
  g->spec = spec;
  g->sha = sha;
  g->RememberConfigFlavor();
  ++g->intent_version;
  UpdateState u;
  u.set_active(true);
  *u.mutable_previous_spec() = std::move(previous);
  *u.mutable_started() = ToProto(rt_->Now());
  u.set_generation(++g->update_generation);
  u.set_summary(summary);
  g->update = std::move(u);
  events->FlushProgressLocked(g);  // the previous stream's steps (ended above) are not this one's
  g->update_stream = std::move(stream);
  for (auto& [iid, m] : g->members) m.reported_ready = false;
  g->updated_high = 0;
  g->last_error.clear();
  LOG(INFO) << "group " << g->id << ": update to config " << sha << ": " << summary;
  events->ProgressLocked(g, gv1::UPDATE_PHASE_STARTED, summary);
  events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "",
                     absl::StrCat("update to config ", ShortSha(sha), " started: ", summary));
  rt_->parts.persistence->MarkDirtyLocked(g);
  rt_->parts.passes->ScheduleReconcileLocked(g);
}

absl::Status Rollout::StopLocked(Group* g) {
  if (!g->update.active() || g->update.stopped()) {
    return absl::FailedPreconditionError(
        absl::StrCat("group \"", g->id, "\" has no update in progress",
                     g->update.stopped() ? " (the last one was stopped already)" : ""));
  }
  int64_t current = 0, older = 0;
  for (const auto& [id, m] : g->members) {
    if (m.doomed) continue;
    ++(m.sha == g->sha ? current : older);
  }
  const std::string msg = absl::StrCat(
      "update stopped: the group keeps its members of both configs (", current, " on config ",
      ShortSha(g->sha), ", ", older, " on older configs) at size ", DesiredCount(g->spec),
      "; members that are not healthy go first if it is above that");
  Events* events = rt_->parts.events;
  events->EndUpdateStreamLocked(g, gv1::UPDATE_PHASE_STOPPED, msg);
  events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
  LOG(INFO) << "group " << g->id << ": " << msg;
  g->update.set_stopped(true);
  g->update.set_paused(false);
  ++g->intent_version;
  g->update.clear_pause_reason();
  g->last_error.clear();
  rt_->parts.persistence->MarkDirtyLocked(g);
  rt_->parts.passes->ScheduleReconcileLocked(g);
  return absl::OkStatus();
}

void Rollout::TrackLocked(Group* g, absl::Time now) {
  if (!Rolling(g->update)) return;
  Events* events = rt_->parts.events;
  RolloutInput in;
  in.pets = IsPets(g->spec);
  in.desired = DesiredCount(g->spec);
  if (in.pets) {
    in.logical_ids.assign(g->spec.allocation().logical_ids().ids().begin(),
                          g->spec.allocation().logical_ids().ids().end());
  }
  in.now = now;
  in.started = FromProto(g->update.started());
  in.deadline = HealthDeadline(g->spec);
  in.slots = static_cast<int64_t>(g->slots.size());
  for (const auto& [seq, s] : g->slots) {
    in.first_slot_failure = std::min(in.first_slot_failure, s.first_failure);
  }
  in.members.reserve(g->members.size());
  for (auto& [id, m] : g->members) {
    RolloutMember r;
    r.id = id;
    r.logical_id = m.lid;
    r.live = !m.doomed;
    r.current = r.live && m.sha == g->sha;
    r.ready = r.current && MemberReady(*g, m, now);
    r.health = m.health;
    if (r.current && !r.ready) r.health_reason = m.health_reason;
    r.created = m.created;
    // Members this update made and that just became ready are news; the ones it had already
    // are not.
    if (r.ready && !m.reported_ready && m.update_generation == g->update.generation()) {
      m.reported_ready = true;
      events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE_STEP, id,
                         absl::StrCat("update: ", id, " is ready"));
      events->ProgressLocked(g, gv1::UPDATE_PHASE_PROGRESS, absl::StrCat(id, " is ready"));
    }
    in.members.push_back(std::move(r));
  }
  const RolloutDecision d = DecideRollout(in);
  if (d.outcome == RolloutDecision::Outcome::kFail) {
    FailLocked(g, d.creations_failed ? absl::StrCat(d.failure, ": ", g->last_error) : d.failure);
    return;
  }
  if (d.outcome != RolloutDecision::Outcome::kComplete) return;

  const bool rollback = g->update.rollback();
  const std::string msg = absl::StrCat(
      rollback ? "rollback completed: " : "update completed: ", Plural(d.current, "instance"),
      " on config ", ShortSha(g->sha), " and ready");
  LOG(INFO) << "group " << g->id << ": " << msg;
  // A rollback's stream is the failed update's: it ends once the group is back.
  events->EndUpdateStreamLocked(
      g, rollback ? gv1::UPDATE_PHASE_ROLLED_BACK : gv1::UPDATE_PHASE_COMPLETED, msg);
  events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
  g->update.Clear();
  rt_->parts.persistence->MarkDirtyLocked(g);
}

void Rollout::FailLocked(Group* g, const std::string& reason) {
  Events* events = rt_->parts.events;
  const bool can_roll_back = g->spec.update_policy().on_failure() == gv1::FAILURE_ACTION_ROLLBACK &&
                             !g->update.rollback() && g->update.has_previous_spec();
  if (can_roll_back) {
    gv1::GroupSpec failed = g->spec;
    gv1::GroupSpec previous = g->update.previous_spec();
    const std::string previous_sha = spec::ConfigSha(previous);
    const std::string msg = absl::StrCat("update failed (", reason, "); rolling back to config ",
                                         ShortSha(previous_sha));
    LOG(WARNING) << "group " << g->id << ": " << msg;
    // The stream goes on with the rollback's progress; ROLLED_BACK ends it once the group is
    // back on the previous config (PAUSED if the rollback fails too).
    events->ProgressLocked(g, gv1::UPDATE_PHASE_ROLLING_BACK, msg);
    events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
    g->last_error = msg;
    g->spec = std::move(previous);
    g->sha = previous_sha;
    g->RememberConfigFlavor();
    ++g->intent_version;
    UpdateState u;
    u.set_active(true);
    u.set_rollback(true);
    *u.mutable_previous_spec() = std::move(failed);
    *u.mutable_started() = ToProto(rt_->Now());
    u.set_generation(++g->update_generation);
    u.set_summary(absl::StrCat("Rolls back to config ", ShortSha(previous_sha)));
    g->update = std::move(u);
    g->updated_high = 0;
    for (auto& [iid, m] : g->members) m.reported_ready = false;
    rt_->parts.persistence->MarkDirtyLocked(g);
    rt_->parts.passes->ScheduleReconcileLocked(g);
    return;
  }
  const std::string msg = absl::StrCat("update paused: ", reason);
  LOG(WARNING) << "group " << g->id << ": " << msg;
  g->update.set_paused(true);
  g->update.set_pause_reason(reason);
  ++g->intent_version;
  g->last_error = msg;
  events->EndUpdateStreamLocked(g, gv1::UPDATE_PHASE_PAUSED, msg);
  events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
  rt_->parts.persistence->MarkDirtyLocked(g);
  rt_->parts.passes->ScheduleReconcileLocked(g);
}

void Rollout::EndStoppedLocked(Group* g) {
  if (!g->update.active() || !g->update.stopped()) return;
  // A stopped update holds both configs' members; once none of the older config is left (they
  // died and were replaced on the current one), there is nothing left to hold. A member being
  // destroyed still counts: its destroy may fail or be withdrawn, and then it is back.
  for (const auto& [id, m] : g->members) {
    if (m.sha != g->sha) return;
  }
  if (!g->slots.empty()) return;
  const std::string msg = absl::StrCat("every member runs config ", ShortSha(g->sha),
                                       ": the stopped update's group is whole again");
  LOG(INFO) << "group " << g->id << ": " << msg;
  rt_->parts.events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
  g->update.Clear();
  rt_->parts.persistence->MarkDirtyLocked(g);
}

}  // namespace infrakit::services::group
