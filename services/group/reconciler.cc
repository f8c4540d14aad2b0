#include "services/group/reconciler.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "services/group/creation.h"
#include "services/group/destruction.h"
#include "services/group/events.h"
#include "services/group/health.h"
#include "services/group/membership.h"
#include "services/group/persistence.h"
#include "services/group/rollout.h"

namespace infrakit::services::group {
namespace {

constexpr int64_t kDefaultMaxUnhealthyPercent = 50;

// A pass costs O(members). Run back to back, one per event, the passes of a group of thousands,
// whose events come every few hundred microseconds while it converges, would take all of a
// core, the core the plugins doing the actual work need. So a pass waits, after the previous
// one, kPassPacing times as long as that one took: passes take at most a quarter of a core and
// one pass handles every event that came meanwhile.
constexpr int kPassPacing = 3;

}  // namespace

void Reconciler::StartLocked(Group* g) {
  g->resync_timer = rt_->At(rt_->Now() + rt_->options.resync_period,
                            [this, id = g->id, uid = g->uid] { Resync(id, uid); });
  rt_->parts.membership->StartListingLocked(g);
}

void Reconciler::ScheduleReconcileLocked(Group* g) {
  if (g->reconcile_posted) return;
  g->reconcile_posted = true;
  if (rt_->Now() < g->next_pass_at) {
    g->pass_timer =
        rt_->At(g->next_pass_at, [this, id = g->id, uid = g->uid] { Reconcile(id, uid); });
    return;
  }
  rt_->Post([this, id = g->id, uid = g->uid] { Reconcile(id, uid); });
}

void Reconciler::Reconcile(const std::string& id, int64_t uid) {
  StepLock lock(rt_);
  Group* g = rt_->FindUidLocked(id, uid);
  if (g == nullptr) return;
  g->reconcile_posted = false;
  g->pass_timer = 0;
  const absl::Time start = rt_->Now();
  ReconcileLocked(g);
  const absl::Time end = rt_->Now();
  g->next_pass_at = end + kPassPacing * (end - start);
}

void Reconciler::WakeAtLocked(Group* g, absl::Time t) {
  if (t == absl::InfiniteFuture()) return;
  // A moment already past would fire at once and find nothing new: never a timer loop.
  t = std::max(t, rt_->Now() + absl::Milliseconds(1));
  if (g->wake_timer != 0 && g->wake_at <= t) return;
  rt_->CancelTimer(&g->wake_timer);
  g->wake_at = t;
  g->wake_timer = rt_->AtGroupLocked(g, t, [this](Group* g) {
    g->wake_timer = 0;
    g->wake_at = absl::InfiniteFuture();
    ReconcileLocked(g);
  });
}

std::vector<MemberView> Reconciler::MemberViewsLocked(Group* g, absl::Time now) {
  const RemediationTiming timing = TimingOf(g->spec.remediation());
  const absl::Duration stale_after = 2 * rt_->options.resync_period;
  std::vector<Member*> stale;
  std::vector<MemberView> views;
  views.reserve(g->members.size());
  for (auto& [id, m] : g->members) {
    MemberView v;
    v.id = id;
    v.logical_id = m.lid;
    v.config_sha = m.sha;
    v.health = m.health;
    if (m.health_untrusted && m.health != fv1::HEALTH_HEALTHY &&
        m.health != fv1::HEALTH_UNSPECIFIED) {
      // Probed with another config's check: it may be serving, but nothing proves it. Replaced
      // in the normal outdated order while the availability allows, never sooner, never
      // remediated, never counted available.
      v.health = fv1::HEALTH_UNSPECIFIED;
      v.unproven = true;
    }
    if (m.unconfirmed && m.health == fv1::HEALTH_HEALTHY) {
      // Missing from the last listing (kept as it may lag): it may be gone, so it counts as
      // available to nothing until a listing or an event shows it again.
      v.health = fv1::HEALTH_UNSPECIFIED;
    } else if (m.health == fv1::HEALTH_HEALTHY && !m.health_constant && !m.doomed &&
               now - m.checked_at > stale_after) {
      // A verdict older than two resyncs (checks failing, a clock jump, a paused process) is
      // no grounds to count the member available: not checked until it answers again.
      v.health = fv1::HEALTH_UNSPECIFIED;
      stale.push_back(&m);
    }
    const absl::Time grace_end = UnhealthyWindowStart(m, timing);
    if (v.health == fv1::HEALTH_UNHEALTHY && now < grace_end) {
      // Still starting (never HEALTHY, within its grace): pending, not unhealthy, for
      // remediation and the circuit breaker alike.
      v.health = fv1::HEALTH_UNKNOWN;
    }
    v.ready = v.health != fv1::HEALTH_UNSPECIFIED && MemberReady(*g, m, now);
    v.destroying = m.doomed || m.destroying;
    v.remediable = v.health == fv1::HEALTH_UNHEALTHY && Remediable(m, timing);
    v.created = m.created;
    v.unhealthy_since = std::max(m.unhealthy_since, grace_end);
    v.update_order = m.update_order;
    views.push_back(std::move(v));
  }
  for (Member* m : stale) rt_->parts.health->QueueLocked(g, m);
  if (!stale.empty()) rt_->parts.health->PumpLocked(g);
  return views;
}

std::vector<SlotView> Reconciler::SlotViewsLocked(Group* g) {
  std::vector<SlotView> views;
  views.reserve(g->slots.size());
  for (const auto& [seq, s] : g->slots) {
    // A queued retry of a sent Provision may have made its instance: it exists, and that
    // instance may be listed already, as may an in-flight one's.
    const bool resend = s.state == SlotState::kQueued && g->sent_slots.contains(seq);
    views.push_back(SlotView{s.key, s.lid, s.state != SlotState::kQueued || resend,
                             s.state == SlotState::kInFlight || resend});
  }
  return views;
}

void Reconciler::DecideLocked(Group* g, absl::Time now, DecideInput* in, Decision* d) {
  const gv1::RemediationPolicy& r = g->spec.remediation();
  in->max_unhealthy_percent =
      r.max_unhealthy_percent() > 0 ? r.max_unhealthy_percent() : kDefaultMaxUnhealthyPercent;
  if (!IsPets(g->spec) && !g->update.active() && !r.enabled()) {
    // A steady group of cattle (converging or holding its size, no update, no remediation)
    // needs counts only, not the planner's sorted views of every member: for a group of
    // thousands, building those was most of a pass's cost, and a pass runs per batch of events.
    // CountCattle is the arithmetic Decide uses (planner_test checks they agree); when members
    // must be chosen as extras, Decide does it below.
    CattleCounts c;
    c.size = g->spec.allocation().size();
    c.live = static_cast<int64_t>(g->members.size()) - g->doomed_members;
    c.slots = static_cast<int64_t>(g->slots.size());
    // A queued retry of a sent Provision may have made its instance: it exists for the counts,
    // and is unanswered as an in-flight one is.
    c.queued = g->queued_slots - g->queued_resends;
    c.unanswered = g->in_flight_slots + g->queued_resends;
    c.existing = static_cast<int64_t>(g->members.size()) + c.slots - c.queued;
    const CattleArithmetic a = CountCattle(c);
    if (a.extras == 0) {
      for (int64_t i = 0; i < a.creates; ++i) d->creates.push_back({});
      int64_t left = a.cancel;
      for (auto it = g->slots.rbegin(); it != g->slots.rend() && left > 0; ++it) {
        if (it->second.state != SlotState::kQueued || g->sent_slots.contains(it->first)) continue;
        d->cancel_slots.push_back(it->second.key);
        --left;
      }
      return;
    }
  }
  in->pets = IsPets(g->spec);
  in->size = g->spec.allocation().size();
  if (in->pets) {
    in->logical_ids.assign(g->spec.allocation().logical_ids().ids().begin(),
                           g->spec.allocation().logical_ids().ids().end());
  }
  in->target_sha = g->sha;
  in->rolling = Rolling(g->update);
  in->hold = g->update.active() && g->update.paused() && !g->update.stopped();
  in->stopped = g->update.active() && g->update.stopped();
  in->limits = ResolveRollingLimits(g->spec, DesiredCount(g->spec), g->flavor_max_unavailable);
  in->remediation = r.enabled();
  in->remediation_max_concurrent = r.max_concurrent() > 0 ? r.max_concurrent() : 1;
  int64_t in_progress = g->remediation_debt;
  for (const auto& [id, m] : g->members) {
    if (m.doomed && m.remediation) ++in_progress;
  }
  for (const auto& [seq, s] : g->slots) {
    if (s.remediation) ++in_progress;
  }
  in->remediation_in_progress = in_progress;
  in->members = MemberViewsLocked(g, now);
  in->slots = SlotViewsLocked(g);
  *d = Decide(*in);
}

void Reconciler::NoteBreakerLocked(Group* g, const Decision& d, int64_t max_unhealthy_percent) {
  if (d.breaker_open == g->breaker_open) return;
  g->breaker_open = d.breaker_open;
  Events* events = rt_->parts.events;
  if (d.breaker_open) {
    const std::string msg = absl::StrCat(
        "remediation paused (circuit breaker): ", d.unhealthy, " of ", DesiredCount(g->spec),
        " members are unhealthy, more than ", max_unhealthy_percent, "%");
    g->last_error = msg;
    events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_ERROR, "", msg);
    LOG(WARNING) << "group " << g->id << ": " << msg;
  } else {
    g->last_error.clear();
    events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "",
                       "remediation resumed: unhealthy members back within the allowed share");
  }
}

void Reconciler::ReconcileLocked(Group* g) {
  if (rt_->shut_down || g->finishing) return;
#ifndef NDEBUG
  // Debug builds (the tests) check the counters against a full count on every pass (and what
  // readers see against the members, once the members touched so far are published).
  g->SyncPublishedMembers();
  if (absl::Status st = g->CheckInvariants(); !st.ok())
    LOG(FATAL) << "group " << g->id << ": " << st;
#endif
  const absl::Time now = rt_->Now();

  // With a watch, a creation that Provision returned but that no event has shown within the
  // listing grace is looked for in a fresh listing (a new watch's initial set), which drops it
  // only if it does not show it either: time alone (a clock jump, a paused process) never
  // writes a creation off. So is the instance a failed Provision may have made, and a member
  // a lagging listing did not show. (When polling, the listings decide.)
  if (!g->polling && (rt_->parts.creation->OverdueLocked(g, now) || g->relist_at <= now)) {
    g->relist_at = absl::InfiniteFuture();
    rt_->parts.membership->StartListingLocked(g);
  }

  if (g->destroying) {
    ReconcileDestroyLocked(g);
    return;
  }
  // Never act on a membership that is not known.
  if (!g->known || g->empty_suspect) return;

  DecideInput in;
  Decision d;
  DecideLocked(g, now, &in, &d);
  NoteBreakerLocked(g, d, in.max_unhealthy_percent);

  for (const std::string& key : d.cancel_slots) {
    auto it = g->slot_by_key.find(key);
    if (it != g->slot_by_key.end()) g->EraseSlot(it->second);
  }
  for (const CreateAction& c : d.creates) rt_->parts.creation->CreateLocked(g, c.logical_id);
  for (const DestroyAction& a : d.destroys) {
    auto it = g->members.find(a.id);
    if (it == g->members.end() || it->second.doomed) continue;
    rt_->parts.destruction->DoomLocked(g, &it->second, a.reason, a.why, a.remediation, 0);
  }
  rt_->parts.creation->PumpLocked(g);
  rt_->parts.destruction->PumpLocked(g);
  rt_->parts.rollout->TrackLocked(g, now);
  rt_->parts.rollout->EndStoppedLocked(g);
  ScheduleNextLocked(g, now);
  NoteQuietLocked(g);
}

void Reconciler::ScheduleNextLocked(Group* g, absl::Time now) {
  // The next moment something may change without an event: a backoff ending, a member
  // becoming ready, a deadline, a creation's listing grace.
  absl::Time wake = absl::InfiniteFuture();
  // Only moments still ahead: a condition due now has been acted on already.
  auto consider = [&wake, now](absl::Time t) {
    if (t > now) wake = std::min(wake, t);
  };
  // The oldest creation not listed yet is the first that may be lost.
  if (!g->created_slots.empty() && !g->polling) {
    consider(g->created_slots.begin()->first + rt_->options.listing_grace);
  }
  // So is the instance a failed Provision's retry may have made, and a member a lagging listing
  // did not show.
  if (!g->polling) {
    consider(rt_->parts.creation->ResendsSettleAtLocked(g));
    consider(g->relist_at);
  }
  if (g->queued_slots > 0) consider(g->provision_retry.retry_at());
  if (!g->destroy_queue.empty()) consider(g->destroy_retry.retry_at());
  const gv1::RemediationPolicy& r = g->spec.remediation();
  const bool update_running = Rolling(g->update);
  const absl::Duration min_ready = absl::Seconds(g->spec.update_policy().min_ready_seconds());
  const absl::Duration deadline = HealthDeadline(g->spec);
  const absl::Time update_started =
      update_running ? FromProto(g->update.started()) : absl::InfinitePast();
  // Remediation waits for fresh verdicts of pending members (re-checked below) while the
  // breaker lets it act.
  const bool remediating = r.enabled() && !g->breaker_open && !g->destroying;
  bool pending_ready = false;
  bool pending_remediation = false;
  // Members matter for the wake-up only to an update or to remediation.
  if (update_running || r.enabled()) {
    for (const auto& [id, m] : g->members) {
      if (m.doomed) continue;
      if (update_running && m.sha == g->sha && !MemberReady(*g, m, now)) {
        pending_ready = true;
        if (m.health == fv1::HEALTH_HEALTHY) consider(m.healthy_since + min_ready);
        consider(std::max(m.created, update_started) + deadline);
      }
      if (remediating && RemediationPending(m)) pending_remediation = true;
    }
  }
  if (update_running) {
    for (const auto& [seq, s] : g->slots) {
      if (s.first_failure != absl::InfiniteFuture()) {
        consider(std::max(s.first_failure, update_started) + deadline);
      }
    }
  }
  WakeAtLocked(g, wake);

  // Members whose verdict is pending are checked more often than the rest: a running update's
  // new members not ready yet, members still starting, and (with remediation) members not
  // HEALTHY, so that neither a readiness nor a replacement waits for the resync or rests on an
  // old verdict.
  const bool pending_start = !g->starting_members.empty() && !g->destroying;
  if ((pending_ready || pending_remediation || pending_start) && g->recheck_timer == 0) {
    absl::Duration period = absl::InfiniteDuration();
    if (pending_ready) period = rt_->options.update_health_period;
    if (pending_remediation || pending_start) {
      period = std::min(period, TimingOf(r).probe_interval);
    }
    g->recheck_timer = rt_->AtGroupLocked(g, now + period, [this](Group* g) {
      g->recheck_timer = 0;
      rt_->parts.health->RecheckPendingLocked(g);
      ScheduleReconcileLocked(g);
    });
  }
}

void Reconciler::NoteQuietLocked(Group* g) {
  // The end of a burst of work (a convergence, a heal, a scale): said once.
  const bool quiet = g->slots.empty() && g->destroy_queue.empty() && g->in_flight_provisions == 0 &&
                     g->in_flight_destroys == 0 && g->health_queue.empty() &&
                     g->health_running == 0;
  if (quiet && !g->quiet && rt_->options.on_quiet) rt_->executor->Post(rt_->options.on_quiet);
  g->quiet = quiet;
}

void Reconciler::ReconcileDestroyLocked(Group* g) {
  std::vector<int64_t> queued;
  for (const auto& [seq, s] : g->slots) {
    if (s.state == SlotState::kQueued) queued.push_back(seq);
  }
  for (int64_t seq : queued) g->EraseSlot(seq);
  if (!g->known || g->empty_suspect) return;
  for (auto& [id, m] : g->members) {
    if (!m.doomed) {
      rt_->parts.destruction->DoomLocked(g, &m, iv1::DESTROY_REASON_TERMINATE, "group destroyed",
                                         false, 0);
    }
  }
  rt_->parts.destruction->PumpLocked(g);
  if (g->members.empty() && g->slots.empty() && g->in_flight_provisions == 0 &&
      g->in_flight_destroys == 0) {
    g->finishing = true;
    rt_->Post([this, id = g->id, uid = g->uid] { FinishDestroy(id, uid); });
  } else if (!g->destroy_queue.empty() && g->destroy_retry.Waiting(rt_->Now())) {
    WakeAtLocked(g, g->destroy_retry.retry_at());
  }
}

void Reconciler::FinishDestroy(const std::string& id, int64_t uid) {
  std::shared_ptr<Writer> writer;
  {
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr) return;
    writer = g->writer;
  }
  Trash trash;
  {
    absl::MutexLock write_lock(&writer->mu);
    absl::Status deleted = rt_->store->Delete(id);
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr) return;
    Events* events = rt_->parts.events;
    if (!deleted.ok()) {
      g->finishing = false;
      g->write_retry.Fail(g->write_retry.failures(), rt_->Now(), rt_->backoff());
      events->ErrorLocked(
          g, "", absl::StrCat("forgetting the destroyed group failed: ", deleted.ToString()));
      WakeAtLocked(g, g->write_retry.retry_at());
      return;
    }
    gv1::DestroyGroupResponse response;
    response.set_destroyed(g->destroyed_count);
    for (auto& done : g->destroy_waiters) {
      rt_->executor->Post([done = std::move(done), response] { done(response); });
    }
    g->destroy_waiters.clear();
    LOG(INFO) << "group " << id << " destroyed (" << g->destroyed_count << " instances)";
    events->EmitLocked(
        g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "",
        absl::StrCat("group destroyed (", Plural(g->destroyed_count, "instance"), ")"));
    ForgetLocked(g, absl::OkStatus(), "group destroyed", &trash);
  }
  trash.Clear();
}

void Reconciler::Resync(const std::string& id, int64_t uid) {
  StepLock lock(rt_);
  Group* g = rt_->FindUidLocked(id, uid);
  if (g == nullptr) return;
  g->resync_timer =
      rt_->At(rt_->Now() + rt_->options.resync_period, [this, id, uid] { Resync(id, uid); });
  rt_->parts.membership->ResyncLocked(g);
  rt_->parts.health->QueueAllLocked(g);
  rt_->parts.persistence->WriteIfDirtyLocked(g);
  ScheduleReconcileLocked(g);
}

void Reconciler::ForgetLocked(Group* g, const absl::Status& end, const std::string& why,
                              Trash* trash) {
  for (TimerId* t : {&g->resync_timer, &g->wake_timer, &g->recheck_timer, &g->listing_timer,
                     &g->write_timer, &g->pass_timer, &g->health_gather_timer}) {
    rt_->CancelTimer(t);
  }
  rt_->parts.events->EndAllLocked(g, end, why);
  if (g->handle != nullptr) trash->handles.push_back(std::move(g->handle));
  if (g->sink != nullptr) trash->sinks.push_back(std::move(g->sink));
  rt_->UnpublishLocked(g);
  rt_->groups.erase(g->id);
}

}  // namespace infrakit::services::group
