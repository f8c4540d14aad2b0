#include "services/group/destruction.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"
#include "services/group/batch_call.h"
#include "services/group/events.h"
#include "services/group/health.h"
#include "services/group/persistence.h"
#include "services/group/planner.h"
#include "spi/item_status.h"

namespace infrakit::services::group {
namespace {

using Item = DestructionItem;

// Members are drained with the flavor section they were created from (the current spec's or
// the previous one's during an update): one BatchDrain per section.
struct DrainGroup {
  std::string plugin;
  fv1::BatchDrainRequest request;
  std::vector<size_t> items;
};

// Drains the members of each flavor section (one BatchDrain each); a member whose drain failed
// stays in the flavor stage and is not destroyed.
void DrainAll(spi::PluginResolver* resolver, std::vector<DrainGroup>* drains,
              std::vector<Item>* items_out) {
  std::vector<Item>& items = *items_out;
  for (DrainGroup& drain : *drains) {
    auto flavor = resolver->Flavor(drain.plugin);
    std::vector<absl::Status> drained;
    if (!flavor.ok()) {
      drained.assign(drain.items.size(), flavor.status());
    } else {
      drained = SplitBatch(
          (*flavor)->BatchDrain(drain.request), drain.items.size(), "BatchDrain", "instances",
          [](fv1::BatchDrainResponse& r, int i) { return spi::FromItemStatus(r.results(i)); });
      for (absl::Status& s : drained) {
        if (!s.ok()) s = Prefixed(s, "Drain: ");
      }
    }
    for (size_t i = 0; i < drain.items.size(); ++i) {
      Item& item = items[drain.items[i]];
      item.result = drained[i];
      item.flavor_stage = !drained[i].ok();
    }
  }
}

// Destroys the drained members in one BatchDestroy; one already gone counts as destroyed.
void DestroyAll(spi::PluginResolver* resolver, const std::string& instance_plugin,
                const std::vector<DrainGroup>& drains, std::vector<Item>* items_out) {
  std::vector<Item>& items = *items_out;
  iv1::BatchDestroyRequest destroy;
  std::vector<Item*> destroyed;
  // Only members that were found and drained are destroyed.
  for (const DrainGroup& drain : drains) {
    for (size_t index : drain.items) {
      Item& item = items[index];
      if (item.result.ok()) destroyed.push_back(&item);
    }
  }
  for (Item* item : destroyed) {
    iv1::DestroyRequest* r = destroy.add_requests();
    r->set_id(item->id);
    r->set_reason(item->reason);
  }
  if (!destroyed.empty()) {
    auto answer = CallResolved(resolver->Instance(instance_plugin),
                               [&](auto instance) { return instance->BatchDestroy(destroy); });
    auto results =
        SplitBatch(std::move(answer), destroyed.size(), "BatchDestroy", "requests",
                   [](iv1::BatchDestroyResponse& r, int i) {
                     absl::Status s = spi::FromItemStatus(r.results(i));
                     // Already gone is what we wanted.
                     return s.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : s;
                   });
    for (size_t i = 0; i < destroyed.size(); ++i) {
      destroyed[i]->result = results[i];
    }
  }
}

}  // namespace

void Destruction::DoomLocked(Group* g, Member* m, iv1::DestroyReason reason, const std::string& why,
                             bool remediation, int64_t request) {
  g->SetDoomed(m, true);
  m->doomed_at = rt_->Now();
  m->doomed_intent = g->intent_version;
  m->destroy_started = false;
  m->destroy_reason = reason;
  m->destroy_why = why;
  m->remediation = remediation;
  m->request = request;
  g->destroy_queue.push_back(m->desc->id());
}

void Destruction::PumpLocked(Group* g) {
  if (g->destroy_retry.Waiting(rt_->Now())) return;
  if (g->destroy_queue.empty()) return;
  const ControllerOptions& o = rt_->options;
  // After a failure, one at a time until one succeeds.
  const bool probing = g->destroy_retry.failures() > 0;
  const size_t per_call =
      probing ? 1 : BatchSize(g->destroy_queue.size(), o.max_parallel_destroys, o.max_batch_size);
  while (!g->destroy_queue.empty() && g->in_flight_destroys < o.max_parallel_destroys) {
    std::vector<std::string> batch;
    while (!g->destroy_queue.empty() && batch.size() < per_call) {
      std::string iid = std::move(g->destroy_queue.front());
      g->destroy_queue.pop_front();
      auto it = g->members.find(iid);
      if (it == g->members.end() || !it->second.doomed || it->second.destroying) continue;
      it->second.destroying = true;
      batch.push_back(std::move(iid));
    }
    if (batch.empty()) break;
    ++g->in_flight_destroys;
    rt_->Post([this, id = g->id, uid = g->uid, batch = std::move(batch),
               attempt = g->destroy_retry.failures()] { Task(id, uid, batch, attempt); });
    if (probing) break;
  }
}

namespace {

// HEALTHY now as the planner counts it (Reconciler::MemberViewsLocked): not doomed, HEALTHY by a
// verdict no older than `stale_after` (or one that cannot change), seen by the last listing.
bool HealthyNow(const Member& m, absl::Time now, absl::Duration stale_after) {
  if (m.doomed || m.unconfirmed || m.health != fv1::HEALTH_HEALTHY) return false;
  return m.health_constant || now - m.checked_at <= stale_after;
}

// Counts toward a rolling update's availability now: HEALTHY, and ready when on the group's
// config.
bool AvailableNow(const Group& g, const Member& m, absl::Time now, absl::Duration stale_after) {
  return HealthyNow(m, now, stale_after) && (m.sha != g.sha || MemberReady(g, m, now));
}

}  // namespace

bool Destruction::WithdrawLocked(Group* g, Member* m, absl::Time now, int64_t* available) {
  if (m->destroy_started || m->request != 0) return false;
  const bool rolling_destroy = m->destroy_reason == iv1::DESTROY_REASON_ROLLING_UPDATE;
  if (!rolling_destroy && m->destroy_reason != iv1::DESTROY_REASON_SCALE_DOWN) return false;
  // The floor a HEALTHY member's destroy must keep: a rolling update's (available members), or
  // a stopped update's (HEALTHY members of either config, cattle), as the planner decides them.
  const bool pets = g->spec.allocation().has_logical_ids();
  const bool rolling = Rolling(g->update);
  const bool stopped = g->update.active() && g->update.stopped() && !pets;
  const absl::Duration stale_after = 2 * rt_->options.resync_period;
  const char* why = nullptr;
  if (m->doomed_intent != g->intent_version) {
    // Decided for what the group wanted before (a size since raised, an update since started,
    // stopped or paused): the member may be wanted now.
    why = "the group's spec or update changed since";
  } else if (!rolling_destroy && (pets || (!rolling && !stopped))) {
    // A steady group's scale-down, or a pet's (its logical ID left the group: it goes whatever
    // the floor).
    return false;
  } else if (now - m->doomed_at > stale_after) {
    // Decided too long ago to act on now (a paused process, a clock jump).
    why = "decided too long ago";
  } else if ((rolling || stopped) && m->health == fv1::HEALTH_HEALTHY) {
    // The members the decision counted on may have turned unhealthy (or gone) since: the floor
    // is checked again before a HEALTHY member is taken out of service (to roll, as an extra of
    // a size lowered during the update, or above the size of a stopped update).
    if (*available < 0) {
      *available = 0;
      for (const auto& [id, other] : g->members) {
        *available += (rolling ? AvailableNow(*g, other, now, stale_after)
                               : HealthyNow(other, now, stale_after))
                          ? 1
                          : 0;
      }
    }
    const int64_t desired = DesiredCount(g->spec);
    const int64_t floor =
        rolling ? desired -
                      ResolveRollingLimits(g->spec, desired, g->flavor_max_unavailable).unavailable
                : desired;
    if (*available >= floor) return false;
    why = "the others available fell below the update's floor";
  } else {
    return false;
  }
  VLOG(1) << "group " << g->id << ": destroy of " << m->desc->id() << " withdrawn: " << why;
  m->destroying = false;
  g->SetDoomed(m, false);
  if (*available >= 0 &&
      (rolling ? AvailableNow(*g, *m, now, stale_after) : HealthyNow(*m, now, stale_after))) {
    ++*available;
  }
  return true;
}

void Destruction::Task(const std::string& id, int64_t uid,
                       const std::vector<std::string>& instances, int attempt) {
  std::vector<Item> items;
  std::vector<DrainGroup> drains;
  std::string instance_plugin;
  {
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr) return;
    instance_plugin = g->spec.instance().plugin();
    absl::flat_hash_map<const gv1::PluginSpec*, size_t> drain_of;
    const absl::Time now = rt_->Now();
    bool withdrawn = false;
    int64_t available = -1;  // counted by WithdrawLocked when first needed
    for (const std::string& instance : instances) {
      auto it = g->members.find(instance);
      if (it == g->members.end()) {
        // Gone meanwhile (listed as removed): nothing to do.
        items.push_back(Item{instance, iv1::DESTROY_REASON_UNSPECIFIED, false, absl::OkStatus()});
        continue;
      }
      Member& m = it->second;
      if (WithdrawLocked(g, &m, now, &available)) {
        withdrawn = true;
        continue;
      }
      m.destroy_started = true;
      bool own = true;
      const gv1::PluginSpec& flavor = rt_->parts.health->MemberFlavorLocked(g, it->second, &own);
      auto [d, added] = drain_of.try_emplace(&flavor, drains.size());
      if (added) {
        drains.emplace_back();
        drains.back().plugin = flavor.plugin();
        *drains.back().request.mutable_properties() = flavor.properties();
      }
      *drains[d->second].request.add_instances() = *it->second.desc;
      drains[d->second].items.push_back(items.size());
      items.push_back(Item{instance, it->second.destroy_reason, true, absl::OkStatus()});
    }
    if (withdrawn) rt_->parts.passes->ScheduleReconcileLocked(g);
  }
  DrainAll(rt_->resolver, &drains, &items);
  DestroyAll(rt_->resolver, instance_plugin, drains, &items);
  Settle(id, uid, items, attempt);
}

void Destruction::Settle(const std::string& id, int64_t uid,
                         const std::vector<DestructionItem>& items, int attempt) {
  StepLock lock(rt_);
  Group* g = rt_->FindUidLocked(id, uid);
  if (g == nullptr) return;
  --g->in_flight_destroys;
  // As for creations: a success ends the failures only when none came since the call started.
  const bool any_ok =
      std::any_of(items.begin(), items.end(), [](const Item& item) { return item.result.ok(); });
  if (any_ok) {
    const bool had_failures = g->destroy_retry.failures() > 0;
    if (g->destroy_retry.Succeed(attempt)) {
      if (had_failures) g->last_error.clear();
      g->instance_error.clear();
      g->flavor_error.clear();
    }
  }
  const Item* failed = nullptr;
  int failures = 0;
  for (const Item& item : items) {
    if (item.result.ok()) OnDoneLocked(g, item.id, item.result);
  }
  for (const Item& item : items) {
    if (item.result.ok()) continue;
    ++failures;
    if (failed == nullptr) failed = &item;
    OnDoneLocked(g, item.id, item.result);
  }
  if (failed != nullptr) {
    rt_->metrics->Failed(g->id, "destroy", failures);
    (failed->flavor_stage ? g->flavor_error : g->instance_error) = failed->result.ToString();
    // One failed call (or batch with failures) is one attempt; a call of the same wave may
    // have counted it already.
    if (g->destroy_retry.Fail(attempt, rt_->Now(), rt_->backoff())) {
      const std::string& plugin =
          failed->flavor_stage ? g->spec.flavor().plugin() : g->spec.instance().plugin();
      rt_->parts.events->ErrorLocked(
          g, failures == 1 ? failed->id : "",
          absl::StrCat("destroying ", failures == 1 ? failed->id : Plural(failures, "instance"),
                       " failed (", plugin, ", attempt ", g->destroy_retry.failures(),
                       "; next try in ",
                       absl::FormatDuration(g->destroy_retry.retry_at() - rt_->Now()),
                       "): ", failed->result.ToString()));
    }
    if (g->destroy_retry.Waiting(rt_->Now())) {
      rt_->parts.passes->WakeAtLocked(g, g->destroy_retry.retry_at());
    }
  }
  PumpLocked(g);
  rt_->parts.passes->ScheduleReconcileLocked(g);
}

void Destruction::OnDoneLocked(Group* g, const std::string& instance, const absl::Status& result) {
  auto it = g->members.find(instance);
  if (!result.ok()) {
    if (absl::IsDeadlineExceeded(result) && it != g->members.end()) {
      // The call may have done its work (drained the member, or destroyed it): counting it
      // available again could break an update's floor. It stays doomed and the destroy is
      // tried again after the backoff (a Destroy of an instance already gone counts as
      // destroyed; a listing without it ends it sooner).
      it->second.destroying = false;
      g->destroy_queue.push_back(instance);
      return;
    }
    // Back in the group; Task counts the attempt and sets the backoff once per call.
    int64_t request = 0;
    if (it != g->members.end()) {
      Member& m = it->second;
      request = m.request;
      m.destroying = false;
      g->SetDoomed(&m, false);
      m.remediation = false;
      m.request = 0;
    }
    if (request != 0) FinishRequestMemberLocked(g, request, instance, result);
    return;
  }
  std::string why = "destroyed";
  iv1::DestroyReason reason = iv1::DESTROY_REASON_UNSPECIFIED;
  int64_t request = 0;
  if (it != g->members.end()) {
    why = it->second.destroy_why;
    reason = it->second.destroy_reason;
    request = it->second.request;
    if (it->second.remediation) ++g->remediation_debt;
    g->SetDoomed(&it->second, false);
    g->unannounced.erase(instance);
    g->starting_members.erase(instance);
    g->members.erase(it);
    g->TouchMember(instance);
  }
  g->recently_destroyed[instance] = rt_->Now();
  if (g->destroying) ++g->destroyed_count;
  Events* events = rt_->parts.events;
  events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_DESTROYED, instance,
                     absl::StrCat("destroyed ", instance, " (", why, ")"));
  // "DESTROY_REASON_SCALE_DOWN" -> "scale_down".
  rt_->metrics->Destroyed(g->id, absl::AsciiStrToLower(absl::StripPrefix(
                                     iv1::DestroyReason_Name(reason), "DESTROY_REASON_")));
  if (reason == iv1::DESTROY_REASON_REMEDIATION) rt_->metrics->Healed(g->id, "remediation");
  if (request != 0) FinishRequestMemberLocked(g, request, instance, absl::OkStatus());
  if (Rolling(g->update) &&
      (reason == iv1::DESTROY_REASON_ROLLING_UPDATE || reason == iv1::DESTROY_REASON_SCALE_DOWN)) {
    events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE_STEP, instance,
                       absl::StrCat("update: destroyed ", instance, " (", why, ")"));
    events->ProgressLocked(g, gv1::UPDATE_PHASE_PROGRESS,
                           absl::StrCat("destroyed ", instance, " (", why, ")"));
  }
}

void Destruction::FinishRequestMemberLocked(Group* g, int64_t request, const std::string& instance,
                                            const absl::Status& result) {
  auto it = g->requests.find(request);
  if (it == g->requests.end()) return;
  DestroyRequest& r = it->second;
  if (result.ok()) {
    r.destroyed.push_back(instance);
  } else {
    if (r.first_error.ok()) r.first_error = result;
    // Its place in the group comes back.
    auto m = g->members.find(instance);
    if (IsPets(g->spec)) {
      if (m != g->members.end() && !m->second.lid.empty()) {
        g->spec.mutable_allocation()->mutable_logical_ids()->add_ids(m->second.lid);
      }
    } else {
      g->spec.mutable_allocation()->set_size(g->spec.allocation().size() + 1);
    }
    rt_->parts.persistence->MarkDirtyLocked(g);
  }
  if (--r.pending > 0) return;
  absl::StatusOr<gv1::DestroyInstancesResponse> response;
  if (r.destroyed.empty() && !r.first_error.ok()) {
    response = r.first_error;
  } else {
    gv1::DestroyInstancesResponse ok;
    for (const std::string& d : r.destroyed) ok.add_destroyed(d);
    ok.set_size(DesiredCount(g->spec));
    response = std::move(ok);
  }
  rt_->executor->Post([done = std::move(r.done), response] { done(response); });
  g->requests.erase(it);
}

}  // namespace infrakit::services::group
