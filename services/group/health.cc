#include "services/group/health.h"

#include <algorithm>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/group/batch_call.h"
#include "services/group/events.h"
#include "spec/group_spec.h"
#include "spi/item_status.h"

namespace infrakit::services::group {
namespace {

constexpr double kDefaultUnhealthySeconds = 60;
constexpr double kDefaultInitialDelaySeconds = 10;
constexpr double kDefaultProbeIntervalSeconds = 1;

}  // namespace

RemediationTiming TimingOf(const gv1::RemediationPolicy& r) {
  auto or_default = [](double v, double d) { return absl::Seconds(v > 0 ? v : d); };
  return RemediationTiming{or_default(r.unhealthy_seconds(), kDefaultUnhealthySeconds),
                           or_default(r.initial_delay_seconds(), kDefaultInitialDelaySeconds),
                           or_default(r.probe_interval_seconds(), kDefaultProbeIntervalSeconds)};
}

absl::Time UnhealthyWindowStart(const Member& m, const RemediationTiming& timing) {
  if (m.ever_healthy) return m.unhealthy_since;
  return std::max(m.unhealthy_since, m.created + timing.initial_delay);
}

bool Remediable(const Member& m, const RemediationTiming& timing) {
  if (m.health != fv1::HEALTH_UNHEALTHY || m.health_untrusted) return false;
  const absl::Time start = UnhealthyWindowStart(m, timing);
  return m.checked_at >= start && m.checked_at - start >= timing.threshold;
}

bool RemediationPending(const Member& m) {
  return !m.doomed && !m.health_untrusted && m.health != fv1::HEALTH_HEALTHY;
}

void Health::QueueLocked(Group* g, Member* m) {
  if (m->health_queued || m->doomed || !m->announced) return;
  m->health_queued = true;
  g->health_queue.push_back(m->desc->id());
}

void Health::QueueAllLocked(Group* g) {
  for (auto& [mid, m] : g->members) {
    if (m.health_constant) {
      bool own = true;
      MemberFlavorLocked(g, m, &own);
      if (own) continue;
    }
    QueueLocked(g, &m);
  }
  PumpLocked(g);
}

void Health::RecheckPendingLocked(Group* g) {
  const absl::Time now = rt_->Now();
  const bool rolling = Rolling(g->update);
  const bool remediating = g->spec.remediation().enabled() && !g->breaker_open && !g->destroying;
  for (auto& [iid, m] : g->members) {
    if ((rolling && m.sha == g->sha && !MemberReady(*g, m, now)) ||
        (remediating && RemediationPending(m))) {
      QueueLocked(g, &m);
    }
  }
  // Members still starting, until their startup window ends (then the resync checks them).
  const RemediationTiming timing = TimingOf(g->spec.remediation());
  for (auto it = g->starting_members.begin(); it != g->starting_members.end();) {
    auto m = g->members.find(*it);
    if (m == g->members.end() || m->second.doomed || m->second.ever_healthy ||
        now >= m->second.created + timing.initial_delay + timing.threshold) {
      it = g->starting_members.erase(it);
      continue;
    }
    QueueLocked(g, &m->second);
    ++it;
  }
  PumpLocked(g);
}

void Health::AnnounceLocked(Group* g, Member* m) {
  if (m->announced) return;
  m->announced = true;
  g->unannounced.erase(m->desc->id());
  QueueLocked(g, m);
}

void Health::AnnounceUnclaimedLocked(Group* g) {
  if (g->in_flight_slots > 0 || g->unannounced.empty()) return;
  absl::btree_set<std::string> ids;
  ids.swap(g->unannounced);
  for (const std::string& id : ids) {
    auto it = g->members.find(id);
    if (it != g->members.end()) AnnounceLocked(g, &it->second);
  }
  PumpLocked(g);
}

bool MembersOnTheirWay(const Group& g) {
  return g.in_flight_slots > 0 || !g.created_slots.empty() || !g.unannounced.empty();
}

void Health::PumpLocked(Group* g) {
  if (g->health_queue.empty()) return;
  const ControllerOptions& o = rt_->options;
  if (g->health_queue.size() < kMinPerCall && o.health_gather_delay > absl::ZeroDuration() &&
      !g->health_gathered && MembersOnTheirWay(*g)) {
    // A few members, one event at a time, with more on their way: let the ones right behind
    // them join (see ControllerOptions::health_gather_delay); never longer than that, whatever
    // calls are under way (a slow probe's batch must not hold back a new member's first
    // check). With none on their way there is no one to wait for: a rolling update's step
    // goes on as soon as its replacement's verdict is in.
    if (g->health_gather_timer == 0) {
      g->health_gather_timer =
          rt_->AtGroupLocked(g, rt_->Now() + o.health_gather_delay, [this](Group* g) {
            g->health_gather_timer = 0;
            g->health_gathered = true;
            PumpLocked(g);
            g->health_gathered = false;
          });
    }
    return;
  }
  // Whoever was being waited for is here (or no longer expected): the timer has nothing left to
  // do.
  rt_->CancelTimer(&g->health_gather_timer);
  const size_t per_call =
      BatchSize(g->health_queue.size(), o.max_parallel_health_checks, o.max_health_batch_size);
  while (!g->health_queue.empty() && g->health_running < o.max_parallel_health_checks) {
    std::vector<std::string> batch;
    while (!g->health_queue.empty() && batch.size() < per_call) {
      std::string iid = std::move(g->health_queue.front());
      g->health_queue.pop_front();
      auto it = g->members.find(iid);
      if (it == g->members.end() || !it->second.health_queued) continue;
      batch.push_back(std::move(iid));
    }
    if (batch.empty()) break;
    ++g->health_running;
    rt_->Post([this, id = g->id, uid = g->uid, batch = std::move(batch)] { Task(id, uid, batch); });
  }
}

void Health::Task(const std::string& id, int64_t uid, const std::vector<std::string>& instances) {
  // Members are checked with the flavor section they were created from: an old member probed
  // with the new config's check during a roll would look broken and be replaced too soon. One
  // BatchHealthy per section.
  struct Check {
    std::string plugin;
    bool own = true;
    fv1::BatchHealthyRequest request;
    std::vector<std::string> instances;
  };
  std::vector<Check> checks;
  {
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr) return;
    absl::flat_hash_map<std::pair<const gv1::PluginSpec*, bool>, size_t> check_of;
    for (const std::string& instance : instances) {
      auto it = g->members.find(instance);
      if (it == g->members.end()) continue;
      it->second.health_queued = false;
      if (it->second.doomed) continue;
      bool own = true;
      const gv1::PluginSpec& flavor = MemberFlavorLocked(g, it->second, &own);
      auto [c, added] = check_of.try_emplace(std::make_pair(&flavor, own), checks.size());
      if (added) {
        checks.emplace_back();
        checks.back().plugin = flavor.plugin();
        checks.back().own = own;
        *checks.back().request.mutable_properties() = flavor.properties();
      }
      *checks[c->second].request.add_instances() = *it->second.desc;
      checks[c->second].instances.push_back(instance);
    }
    if (checks.empty()) {
      --g->health_running;
      PumpLocked(g);
      return;
    }
  }
  // Each call's verdicts are taken as soon as it returns: the group decides on the freshest
  // ones while the next section's call is under way.
  for (size_t c = 0; c < checks.size(); ++c) {
    const Check& check = checks[c];
    // Numbered as it starts: calls numbered in the order they are made.
    const uint64_t number = next_check_.fetch_add(1, std::memory_order_relaxed) + 1;
    auto answer = CallResolved(rt_->resolver->Flavor(check.plugin),
                               [&](auto flavor) { return flavor->BatchHealthy(check.request); });
    std::vector<absl::StatusOr<fv1::HealthyResponse>> results =
        SplitBatch(std::move(answer), check.instances.size(), "BatchHealthy", "instances",
                   [](fv1::BatchHealthyResponse& r, int i) -> absl::StatusOr<fv1::HealthyResponse> {
                     if (r.results(i).has_error()) return spi::FromItemStatus(r.results(i).error());
                     return std::move(*r.mutable_results(i)->mutable_response());
                   });
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr) return;
    const bool last = c + 1 == checks.size();
    if (last) {
      --g->health_running;
      PumpLocked(g);
    }
    for (size_t i = 0; i < check.instances.size(); ++i) {
      OnResultLocked(g, check.instances[i], check.plugin, check.own, number, results[i]);
    }
    // Health results do not always lead to a pass: the last check of a burst may end it.
    if (last) rt_->parts.passes->NoteQuietLocked(g);
  }
}

void Health::OnResultLocked(Group* g, const std::string& instance, const std::string& plugin,
                            bool own, uint64_t number,
                            const absl::StatusOr<fv1::HealthyResponse>& result) {
  Events* events = rt_->parts.events;
  PassScheduler* passes = rt_->parts.passes;
  if (!result.ok()) {
    bool first = g->flavor_error.empty();
    g->flavor_error = result.status().ToString();
    if (first) {
      events->ErrorLocked(g, instance,
                          absl::StrCat("health check of ", instance, " failed (", plugin,
                                       "): ", result.status().ToString()));
    }
    return;
  }
  if (!g->flavor_error.empty()) {
    g->flavor_error.clear();
    if (g->instance_error.empty()) g->last_error.clear();
  }
  auto it = g->members.find(instance);
  if (it == g->members.end()) return;
  Member& m = it->second;
  // A later check has answered already: this older verdict is not news.
  if (number < m.verdict_check) return;
  m.verdict_check = number;
  const fv1::Health previous = m.health;
  const bool was_untrusted = m.health_untrusted;
  const absl::Time now = rt_->Now();
  // Readers see health, reason and role: the member is published again only when one changed
  // (a steady member is checked every resync).
  if (m.health != result->health() || m.health_reason != result->reason() ||
      (own && m.role != result->role())) {
    g->TouchMember(instance);
  }
  m.health = result->health();
  m.health_reason = result->reason();
  m.health_untrusted = !own;
  m.health_constant = own && result->constant();
  m.checked_at = now;
  if (own) {
    m.update_order = result->update_order();
    m.role = result->role();
  }
  if (m.health == fv1::HEALTH_HEALTHY && own) {
    m.ever_healthy = true;
    g->starting_members.erase(instance);
    // The last member that was starting is up: a steady group needs no re-check (idle means
    // idle until the resync).
    if (g->starting_members.empty() && !g->update.active() && !g->spec.remediation().enabled()) {
      rt_->CancelTimer(&g->recheck_timer);
    }
  }
  const bool decides = g->update.active() || g->spec.remediation().enabled() || g->destroying;
  if (previous == m.health) {
    // A fresh UNHEALTHY verdict may make the member remediable (see Remediable).
    const bool remediation_news =
        g->spec.remediation().enabled() && m.health == fv1::HEALTH_UNHEALTHY;
    if (remediation_news || (was_untrusted != m.health_untrusted && decides)) {
      passes->ScheduleReconcileLocked(g);
    }
    return;
  }
  m.healthy_since = absl::InfiniteFuture();
  m.unhealthy_since = absl::InfiniteFuture();
  m.reported_ready = false;
  if (m.health == fv1::HEALTH_HEALTHY) {
    m.healthy_since = now;
    events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_HEALTHY, instance,
                       absl::StrCat(instance, " is healthy"));
  } else if (m.health == fv1::HEALTH_UNHEALTHY) {
    m.unhealthy_since = now;
    events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UNHEALTHY, instance,
                       absl::StrCat(instance, " is unhealthy: ", m.health_reason));
  } else if (previous == fv1::HEALTH_HEALTHY) {
    events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UNHEALTHY, instance,
                       absl::StrCat(instance, " health is unknown: ", m.health_reason));
  }
  // Health decides only updates and remediation (and which extras go first, which the pass
  // that removes them reads): a steady group does not need a pass per health change.
  if (decides) passes->ScheduleReconcileLocked(g);
}

const gv1::PluginSpec& Health::MemberFlavorLocked(Group* g, const Member& m, bool* own) {
  *own = true;
  if (m.sha == g->sha) return g->spec.flavor();
  if (auto it = g->config_flavors.find(m.sha); it != g->config_flavors.end()) return it->second;
  if (g->update.active() && g->update.has_previous_spec()) {
    if (g->previous_sha_generation != g->update.generation()) {
      g->previous_sha = spec::ConfigSha(g->update.previous_spec());
      g->previous_sha_generation = g->update.generation();
    }
    if (m.sha == g->previous_sha) return g->update.previous_spec().flavor();
  }
  *own = false;
  return g->spec.flavor();
}

}  // namespace infrakit::services::group
