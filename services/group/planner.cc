#include "services/group/planner.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace infrakit::services::group {
namespace {

bool Healthy(const MemberView& m) { return m.health == fv1::HEALTH_HEALTHY; }

// Checked at least once and not HEALTHY: replacing it costs no availability.
bool KnownNotHealthy(const MemberView& m) {
  return m.health != fv1::HEALTH_UNSPECIFIED && m.health != fv1::HEALTH_HEALTHY;
}

// Which extras go first: outdated, then not healthy, then the newest.
void SortForScaleDown(std::vector<const MemberView*>* v, const std::string& target) {
  std::sort(v->begin(), v->end(), [&target](const MemberView* a, const MemberView* b) {
    bool ao = a->config_sha != target, bo = b->config_sha != target;
    if (ao != bo) return ao;
    bool ah = Healthy(*a), bh = Healthy(*b);
    if (ah != bh) return !ah;
    if (a->created != b->created) return a->created > b->created;
    return a->id > b->id;
  });
}

// Which extras go first once an update was stopped: not healthy, then not ready (a surge member
// the update was still waiting for), then the newest. The config does not matter: both are
// the group's now, and a HEALTHY member is the last thing to give up.
void SortForStop(std::vector<const MemberView*>* v) {
  std::sort(v->begin(), v->end(), [](const MemberView* a, const MemberView* b) {
    bool ah = Healthy(*a), bh = Healthy(*b);
    if (ah != bh) return !ah;
    if (a->ready != b->ready) return !a->ready;
    if (a->created != b->created) return a->created > b->created;
    return a->id > b->id;
  });
}

// Which outdated members are replaced first: broken ones, then the newest. The same order as
// SortForScaleDown among outdated members, so that a plan's "terminate" steps (extras of a
// smaller size) and "replace" steps name the instances the roll really takes, in that order.
void SortForRoll(std::vector<const MemberView*>* v) {
  std::sort(v->begin(), v->end(), [](const MemberView* a, const MemberView* b) {
    bool ab = KnownNotHealthy(*a), bb = KnownNotHealthy(*b);
    if (ab != bb) return ab;
    if (a->update_order != b->update_order) return a->update_order < b->update_order;
    if (a->created != b->created) return a->created > b->created;
    return a->id > b->id;
  });
}

// Which of several members of one logical ID stays: current config, healthy, oldest.
bool KeepFirst(const MemberView* a, const MemberView* b, const std::string& target) {
  bool ac = a->config_sha == target, bc = b->config_sha == target;
  if (ac != bc) return ac;
  bool ah = Healthy(*a), bh = Healthy(*b);
  if (ah != bh) return ah;
  if (a->created != b->created) return a->created < b->created;
  return a->id < b->id;
}

// Whether a member counts as available during an update.
bool Available(const MemberView& m, const std::string& target) {
  return m.config_sha == target ? m.ready : Healthy(m);
}

int64_t Resolve(const gv1::IntOrPercent& v, int64_t desired) {
  switch (v.value_case()) {
    case gv1::IntOrPercent::kCount:
      return std::max<int64_t>(0, v.count());
    case gv1::IntOrPercent::kPercent:
      return (desired * std::max<int64_t>(0, v.percent()) + 99) / 100;
    default:
      return 0;
  }
}

void Remediate(const DecideInput& in, const std::vector<const MemberView*>& live,
               const absl::flat_hash_set<std::string>& chosen, int64_t desired, Decision* d) {
  int64_t unhealthy = 0;
  for (const MemberView* m : live) {
    if (m->health == fv1::HEALTH_UNHEALTHY) ++unhealthy;
  }
  d->unhealthy = unhealthy;
  if (!in.remediation) return;
  if (desired > 0 && unhealthy * 100 > in.max_unhealthy_percent * desired) {
    d->breaker_open = true;
    return;
  }
  int64_t budget = in.remediation_max_concurrent - in.remediation_in_progress;
  if (budget <= 0) return;
  std::vector<const MemberView*> candidates;
  for (const MemberView* m : live) {
    if (m->remediable && m->health == fv1::HEALTH_UNHEALTHY && !chosen.count(m->id)) {
      candidates.push_back(m);
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const MemberView* a, const MemberView* b) {
    if (a->unhealthy_since != b->unhealthy_since) return a->unhealthy_since < b->unhealthy_since;
    return a->id < b->id;
  });
  for (const MemberView* m : candidates) {
    if (budget-- <= 0) break;
    d->destroys.push_back(
        {m->id, iv1::DESTROY_REASON_REMEDIATION, "unhealthy for too long (remediation)", true});
  }
}

// Decide for cattle: the state of one decision, and one method per mode.
class CattleDecider {
 public:
  CattleDecider(const DecideInput& in, Decision* d) : in_(in), d_(d), n_(in.size) {
    for (const MemberView& m : in.members) {
      ++existing_;
      if (m.config_sha != in.target_sha) any_outdated_ = true;
      if (!m.destroying) live_.push_back(&m);
    }
    for (const SlotView& s : in.slots) {
      if (s.exists) {
        ++existing_;
        ++started_slots_;
      }
      if (s.unanswered) ++unanswered_;
    }
    kept_slots_ = static_cast<int64_t>(in.slots.size());
  }

  void Decide() {
    if (in_.hold) {
      Hold();
    } else if (!in_.rolling) {
      Steady();
    } else {
      Roll();
    }
  }

 private:
  // Paused: neither roll nor undo; keep up to size + surge, replace what is gone.
  void Hold();
  // Not rolling (steady, or a stopped update): the size, extras, remediation.
  void Steady();
  void Roll();

  // Creations decided and not started yet: they will exist, so they count against the size +
  // surge allowance as much as existing instances do (kept_slots_ shrinks as CancelSlots drops
  // some; it only drops unstarted ones).
  int64_t Queued() const { return kept_slots_ - started_slots_; }
  // Members beyond `limit`, not counting creations whose Provision has not answered (they may
  // be among the members already).
  int64_t Extras(int64_t members, int64_t limit) const {
    return members + kept_slots_ - unanswered_ - limit;
  }
  // Drops creations not started yet, newest first, while more than `excess` are wanted.
  void CancelSlots(int64_t excess) {
    for (auto it = in_.slots.rbegin(); it != in_.slots.rend() && excess > 0; ++it) {
      if (it->exists) continue;
      d_->cancel_slots.push_back(it->key);
      --excess;
      --kept_slots_;
    }
  }

  const DecideInput& in_;
  Decision* const d_;
  const int64_t n_;
  std::vector<const MemberView*> live_;
  int64_t existing_ = 0;
  bool any_outdated_ = false;
  int64_t unanswered_ = 0;
  int64_t started_slots_ = 0;
  int64_t kept_slots_ = 0;
  absl::flat_hash_set<std::string> chosen_;
};

void CattleDecider::Hold() {
  const int64_t allowance = n_ + in_.limits.surge;
  int64_t have = static_cast<int64_t>(live_.size()) + kept_slots_;
  if (have > allowance) {
    CancelSlots(have - allowance);
    int64_t excess = Extras(static_cast<int64_t>(live_.size()), allowance);
    std::vector<const MemberView*> order;
    if (excess > 0) order = live_;
    SortForScaleDown(&order, in_.target_sha);
    for (const MemberView* m : order) {
      if (excess-- <= 0) break;
      d_->destroys.push_back({m->id, iv1::DESTROY_REASON_SCALE_DOWN, "scale down", false});
    }
  } else if (have < n_) {
    int64_t creates = std::min(n_ - have, allowance - existing_ - Queued());
    for (int64_t i = 0; i < creates; ++i) d_->creates.push_back({});
  }
}

void CattleDecider::Steady() {
  const CattleArithmetic a = CountCattle(CattleCounts{
      n_, static_cast<int64_t>(live_.size()), existing_, kept_slots_, Queued(), unanswered_});
  if (a.cancel > 0 || a.extras > 0) {
    // A smaller size: first drop creations not started yet, then destroy extras.
    CancelSlots(a.cancel);
    int64_t excess = a.extras;
    std::vector<const MemberView*> order;
    // Sorting thousands of members is for when some must go (not for creations under way
    // that are listed already, counted twice).
    if (excess > 0) order = live_;
    // Stopped: the extras may be creations not listed yet, whose health is unknown; a HEALTHY
    // member goes only while more than the size of them would remain, and a member whose
    // verdict is unknown (never checked, or too old: it may well be HEALTHY) only while the
    // size of them remain without it.
    int64_t healthy_spare = std::numeric_limits<int64_t>::max();
    if (in_.stopped) {
      SortForStop(&order);
      healthy_spare = -n_;
      for (const MemberView* m : order) healthy_spare += Healthy(*m) ? 1 : 0;
    } else {
      SortForScaleDown(&order, in_.target_sha);
    }
    for (const MemberView* m : order) {
      if (excess <= 0) break;
      if (Healthy(*m)) {
        if (healthy_spare-- <= 0) continue;
      } else if (!KnownNotHealthy(*m) && healthy_spare < 0) {
        continue;
      }
      --excess;
      d_->destroys.push_back(
          {m->id, iv1::DESTROY_REASON_SCALE_DOWN,
           in_.stopped ? "above the size after the update stopped" : "scale down", false});
      chosen_.insert(m->id);
    }
    live_.erase(std::remove_if(live_.begin(), live_.end(),
                               [&](const MemberView* m) { return chosen_.count(m->id) > 0; }),
                live_.end());
  } else {
    for (int64_t i = 0; i < a.creates; ++i) d_->creates.push_back({});
  }
  Remediate(in_, live_, chosen_, n_, d_);
}

void CattleDecider::Roll() {
  // Outdated members go as the availability allows (which also applies a smaller
  // size at once: extra outdated members cost no availability below the floor).
  std::vector<const MemberView*> outdated, current;
  int64_t available = 0;
  for (const MemberView* m : live_) {
    (m->config_sha == in_.target_sha ? current : outdated).push_back(m);
    if (Available(*m, in_.target_sha)) ++available;
  }
  int64_t current_count = static_cast<int64_t>(current.size());
  if (current_count + kept_slots_ > n_) CancelSlots(current_count + kept_slots_ - n_);

  const int64_t floor = n_ - in_.limits.unavailable;
  SortForRoll(&outdated);
  // Unproven members still in place. Replacing one is judged as if the others (not itself) were
  // available: never counted for a HEALTHY member's replacement, they must not hold each other
  // back either (several of them would otherwise keep the floor out of reach for good).
  int64_t unproven = 0;
  for (const MemberView* m : outdated) unproven += m->unproven ? 1 : 0;
  for (const MemberView* m : outdated) {
    if (m->health == fv1::HEALTH_UNSPECIFIED && !m->unproven) continue;
    if (KnownNotHealthy(*m)) {
      d_->destroys.push_back(
          {m->id, iv1::DESTROY_REASON_ROLLING_UPDATE, "rolling update (not healthy)", false});
    } else if (m->unproven) {
      if (available + unproven - 1 >= floor) {
        d_->destroys.push_back(
            {m->id, iv1::DESTROY_REASON_ROLLING_UPDATE, "rolling update (health unproven)", false});
        --unproven;
      }
    } else if (available - 1 >= floor) {
      d_->destroys.push_back({m->id, iv1::DESTROY_REASON_ROLLING_UPDATE, "rolling update", false});
      --available;
    }
  }

  // Current-config extras (a smaller size) only once no outdated instance is left, so that a
  // current-config member is never destroyed while outdated ones remain. The extras may be
  // creations not listed yet, whose health is unknown, and a member whose verdict is unknown
  // (never checked, or too old) may well be HEALTHY: unless it is known not to be, a member goes
  // only while the members proven available stay at the floor without it. The others wait
  // until those creations are listed and the verdicts are in.
  if (!any_outdated_ && Extras(current_count, n_) > 0) {
    int64_t excess = Extras(current_count, n_);
    SortForScaleDown(&current, in_.target_sha);
    for (const MemberView* m : current) {
      if (excess <= 0) break;
      const bool counted = Available(*m, in_.target_sha);
      if (!KnownNotHealthy(*m) && available - (counted ? 1 : 0) < floor) continue;
      if (counted) --available;
      --excess;
      d_->destroys.push_back({m->id, iv1::DESTROY_REASON_SCALE_DOWN, "scale down", false});
    }
  }

  // New members: at most the size in total, and at most size + surge instances existing,
  // counting the creations already queued (each pass would otherwise queue another surge's
  // worth while the first waits to start: tools/bench saw 1,125 instances in an update of 1,000
  // at 10% surge with --max-parallel=32).
  const int64_t room = n_ + in_.limits.surge - existing_ - Queued();
  const int64_t need = n_ - current_count - kept_slots_;
  for (int64_t i = 0; i < std::min(room, need); ++i) d_->creates.push_back({});
}

void DecideCattle(const DecideInput& in, Decision* d) { CattleDecider(in, d).Decide(); }

void DecidePets(const DecideInput& in, Decision* d) {
  absl::flat_hash_map<std::string, size_t> index;
  for (size_t i = 0; i < in.logical_ids.size(); ++i) index.emplace(in.logical_ids[i], i);

  absl::flat_hash_set<std::string> has_member;  // any member, including ones being destroyed
  absl::btree_map<std::string, std::vector<const MemberView*>> by_lid;
  std::vector<const MemberView*> live;
  absl::flat_hash_set<std::string> chosen;
  for (const MemberView& m : in.members) {
    if (index.count(m.logical_id)) has_member.insert(m.logical_id);
    if (m.destroying) continue;
    if (m.logical_id.empty()) {
      d->destroys.push_back({m.id, iv1::DESTROY_REASON_REMEDIATION,
                             "member without a logical ID in a group of pets", false});
      chosen.insert(m.id);
    } else if (!index.count(m.logical_id)) {
      d->destroys.push_back({m.id, iv1::DESTROY_REASON_SCALE_DOWN,
                             absl::StrCat("logical ID ", m.logical_id, " is not in the group"),
                             false});
      chosen.insert(m.id);
    } else {
      by_lid[m.logical_id].push_back(&m);
    }
  }

  // One member per logical ID: the best stays, the others go.
  std::vector<const MemberView*> kept(in.logical_ids.size(), nullptr);
  for (auto& [lid, ms] : by_lid) {
    std::sort(ms.begin(), ms.end(), [&](const MemberView* a, const MemberView* b) {
      return KeepFirst(a, b, in.target_sha);
    });
    kept[index[lid]] = ms[0];
    live.push_back(ms[0]);
    for (size_t i = 1; i < ms.size(); ++i) {
      d->destroys.push_back({ms[i]->id, iv1::DESTROY_REASON_REMEDIATION,
                             absl::StrCat("duplicate member for logical ID ", lid), false});
      chosen.insert(ms[i]->id);
    }
  }

  absl::flat_hash_set<std::string> slot_lids;
  for (const SlotView& s : in.slots) {
    bool wanted = index.count(s.logical_id) && !slot_lids.count(s.logical_id) &&
                  !has_member.count(s.logical_id);
    if (!wanted && !s.exists) {
      d->cancel_slots.push_back(s.key);
      continue;
    }
    slot_lids.insert(s.logical_id);
  }
  for (const std::string& lid : in.logical_ids) {
    if (!has_member.count(lid) && !slot_lids.count(lid)) d->creates.push_back({lid});
  }

  if (in.rolling) {
    const int64_t allowed = std::max<int64_t>(1, in.limits.unavailable);
    int64_t unavailable = 0;
    std::vector<const MemberView*> outdated;
    for (const MemberView* k : kept) {
      if (k == nullptr || !Available(*k, in.target_sha)) ++unavailable;
      if (k != nullptr && k->config_sha != in.target_sha) outdated.push_back(k);
    }
    // Broken ones first (no availability lost), then the others, in list order but by their
    // flavor's update order (a leader last), while the unavailable logical IDs stay within the
    // allowance.
    std::stable_sort(
        outdated.begin(), outdated.end(),
        [](const MemberView* a, const MemberView* b) { return a->update_order < b->update_order; });
    for (const MemberView* m : outdated) {
      if (KnownNotHealthy(*m)) {
        d->destroys.push_back(
            {m->id, iv1::DESTROY_REASON_ROLLING_UPDATE, "rolling update (not healthy)", false});
        chosen.insert(m->id);
      }
    }
    // Unproven members (counted unavailable) first, each judged as if the others were available
    // (as for cattle), then the HEALTHY ones against the unavailable as counted.
    int64_t optimistic = unavailable;
    for (const MemberView* m : outdated) optimistic -= m->unproven ? 1 : 0;
    for (const MemberView* m : outdated) {
      if (!m->unproven) continue;
      if (optimistic + 1 > allowed) break;
      d->destroys.push_back(
          {m->id, iv1::DESTROY_REASON_ROLLING_UPDATE, "rolling update (health unproven)", false});
      chosen.insert(m->id);
      ++optimistic;
    }
    for (const MemberView* m : outdated) {
      if (!Healthy(*m)) continue;
      if (unavailable + 1 > allowed) break;
      d->destroys.push_back({m->id, iv1::DESTROY_REASON_ROLLING_UPDATE, "rolling update", false});
      chosen.insert(m->id);
      ++unavailable;
    }
    return;
  }
  if (!in.hold) Remediate(in, live, chosen, static_cast<int64_t>(in.logical_ids.size()), d);
}

std::string Instances(int64_t n) { return absl::StrCat(n, n == 1 ? " instance" : " instances"); }

}  // namespace

absl::Duration HealthDeadline(const gv1::GroupSpec& spec) {
  constexpr double kDefaultHealthDeadlineSeconds = 300;
  const double s = spec.update_policy().health_deadline_seconds();
  return absl::Seconds(s > 0 ? s : kDefaultHealthDeadlineSeconds);
}

CattleArithmetic CountCattle(const CattleCounts& c) {
  CattleArithmetic a;
  const int64_t have = c.live + c.slots;
  a.missing = std::max<int64_t>(0, c.size - have);
  if (have <= c.size) {
    // Never more instances than the size, counting those still being destroyed and the
    // creations queued already (each pass would otherwise add one more while the destroys wait).
    a.creates = std::max<int64_t>(0, std::min(c.size - have, c.size - c.existing - c.queued));
    return a;
  }
  a.cancel = std::min(have - c.size, c.queued);
  a.extras = std::max<int64_t>(0, c.live + (c.slots - a.cancel) - c.unanswered - c.size);
  return a;
}

RolloutDecision DecideRollout(const RolloutInput& in) {
  RolloutDecision d;
  bool complete = in.slots == 0;
  absl::flat_hash_set<std::string> lids;
  for (const RolloutMember& m : in.members) {
    if (!m.live || !m.current) {
      complete = false;
      continue;
    }
    ++d.current;
    if (in.pets) lids.insert(m.logical_id);
    if (m.ready) continue;
    complete = false;
    if (in.now - std::max(m.created, in.started) >= in.deadline) {
      d.outcome = RolloutDecision::Outcome::kFail;
      d.failure =
          absl::StrCat("instance ", m.id, " did not become healthy within ",
                       absl::FormatDuration(in.deadline), " (health: ", fv1::Health_Name(m.health),
                       m.health_reason.empty() ? "" : ", " + m.health_reason, ")");
      return d;
    }
  }
  if (in.first_slot_failure != absl::InfiniteFuture() &&
      in.now - std::max(in.first_slot_failure, in.started) >= in.deadline) {
    d.outcome = RolloutDecision::Outcome::kFail;
    d.failure = absl::StrCat("creating instances has been failing for longer than ",
                             absl::FormatDuration(in.deadline));
    d.creations_failed = true;
    return d;
  }
  if (d.current != in.desired) complete = false;
  for (const std::string& lid : in.logical_ids) {
    if (!lids.count(lid)) complete = false;
  }
  if (complete) d.outcome = RolloutDecision::Outcome::kComplete;
  return d;
}

std::string ShortSha(const std::string& sha) { return sha.substr(0, 8); }

int64_t DesiredCount(const gv1::GroupSpec& spec) {
  if (spec.allocation().has_logical_ids()) return spec.allocation().logical_ids().ids_size();
  return spec.allocation().size();
}

RollingLimits ResolveRollingLimits(const gv1::GroupSpec& spec, int64_t desired,
                                   int32_t flavor_max_unavailable) {
  const gv1::UpdatePolicy& p = spec.update_policy();
  RollingLimits r;
  if (spec.allocation().has_logical_ids()) {
    r.surge = 0;
    r.unavailable = p.has_max_unavailable() ? Resolve(p.max_unavailable(), desired) : 1;
    if (flavor_max_unavailable > 0)
      r.unavailable = std::min<int64_t>(r.unavailable, flavor_max_unavailable);
    r.unavailable = std::max<int64_t>(1, r.unavailable);
    return r;
  }
  r.surge = p.has_max_surge() ? Resolve(p.max_surge(), desired) : 1;
  r.unavailable = p.has_max_unavailable() ? Resolve(p.max_unavailable(), desired) : 0;
  if (flavor_max_unavailable > 0)
    r.unavailable = std::min<int64_t>(r.unavailable, flavor_max_unavailable);
  if (r.surge == 0 && r.unavailable == 0) r.surge = 1;
  return r;
}

Decision Decide(const DecideInput& in) {
  Decision d;
  if (in.pets) {
    DecidePets(in, &d);
  } else {
    DecideCattle(in, &d);
  }
  return d;
}

namespace {

// Builds a plan's steps in the order they are carried out.
class PlanBuilder {
 public:
  explicit PlanBuilder(const std::string& sha) : sha_(sha), short_sha_(ShortSha(sha)) {}

  void Pets(const std::vector<MemberView>& members, const std::vector<const MemberView*>& live,
            const std::vector<SlotView>& slots, const gv1::GroupSpec& proposed);
  void Cattle(const std::vector<MemberView>& members, std::vector<const MemberView*> live,
              const std::vector<SlotView>& slots, const gv1::GroupSpec& proposed);
  // The plan: extras destroyed and missing members created at once, then the replacements;
  // its counts and summary.
  gv1::Plan Finish();

 private:
  void Destroy(const MemberView& m, const std::string& why) {
    gv1::PlanStep s;
    s.set_action(gv1::STEP_ACTION_DESTROY);
    s.set_instance_id(m.id);
    s.set_logical_id(m.logical_id);
    s.set_description(absl::StrCat("terminate ", m.id, " (", why, ")"));
    destroys_.push_back(std::move(s));
  }
  void Replace(const MemberView& m) {
    gv1::PlanStep s;
    s.set_action(gv1::STEP_ACTION_REPLACE);
    s.set_instance_id(m.id);
    s.set_logical_id(m.logical_id);
    s.set_description(absl::StrCat("replace ", m.id,
                                   m.logical_id.empty() ? "" : " (logical ID " + m.logical_id + ")",
                                   " with one on config ", short_sha_));
    replaces_.push_back(std::move(s));
  }
  void Create(const std::string& lid) {
    gv1::PlanStep s;
    s.set_action(gv1::STEP_ACTION_CREATE);
    s.set_logical_id(lid);
    s.set_description(lid.empty() ? absl::StrCat("add an instance on config ", short_sha_)
                                  : absl::StrCat("add the instance of logical ID ", lid,
                                                 " on config ", short_sha_));
    creates_.push_back(std::move(s));
  }

  const std::string sha_;
  const std::string short_sha_;
  std::vector<gv1::PlanStep> destroys_, creates_, replaces_;
};

void PlanBuilder::Pets(const std::vector<MemberView>& members,
                       const std::vector<const MemberView*>& live,
                       const std::vector<SlotView>& slots, const gv1::GroupSpec& proposed) {
  const auto& ids = proposed.allocation().logical_ids().ids();
  absl::flat_hash_map<std::string, size_t> index;
  for (int i = 0; i < ids.size(); ++i) index.emplace(ids[i], i);
  absl::btree_map<std::string, std::vector<const MemberView*>> by_lid;
  absl::flat_hash_set<std::string> has_member;
  for (const MemberView& m : members) {
    if (index.count(m.logical_id)) has_member.insert(m.logical_id);
  }
  for (const MemberView* m : live) {
    if (m->logical_id.empty()) {
      Destroy(*m, "no logical ID");
    } else if (!index.count(m->logical_id)) {
      Destroy(*m, absl::StrCat("logical ID ", m->logical_id, " is not in the group"));
    } else {
      by_lid[m->logical_id].push_back(m);
    }
  }
  std::vector<const MemberView*> kept(ids.size(), nullptr);
  for (auto& [lid, ms] : by_lid) {
    std::sort(ms.begin(), ms.end(),
              [&](const MemberView* a, const MemberView* b) { return KeepFirst(a, b, sha_); });
    kept[index[lid]] = ms[0];
    for (size_t i = 1; i < ms.size(); ++i) {
      Destroy(*ms[i], absl::StrCat("duplicate for logical ID ", lid));
    }
  }
  absl::flat_hash_set<std::string> slot_lids;
  for (const SlotView& s : slots) slot_lids.insert(s.logical_id);
  for (const std::string& lid : ids) {
    if (!has_member.count(lid) && !slot_lids.count(lid)) Create(lid);
  }
  std::vector<const MemberView*> outdated;
  for (const MemberView* k : kept) {
    if (k != nullptr && k->config_sha != sha_) outdated.push_back(k);
  }
  // As the roll goes: broken ones first, then by their flavor's update order (a leader last).
  std::stable_sort(outdated.begin(), outdated.end(), [](const MemberView* a, const MemberView* b) {
    if (KnownNotHealthy(*a) != KnownNotHealthy(*b)) return KnownNotHealthy(*a);
    return a->update_order < b->update_order;
  });
  for (const MemberView* m : outdated) Replace(*m);
}

void PlanBuilder::Cattle(const std::vector<MemberView>& members,
                         std::vector<const MemberView*> live, const std::vector<SlotView>& slots,
                         const gv1::GroupSpec& proposed) {
  CattleCounts counts;
  counts.size = proposed.allocation().size();
  counts.live = static_cast<int64_t>(live.size());
  counts.existing = static_cast<int64_t>(members.size());
  counts.slots = static_cast<int64_t>(slots.size());
  for (const SlotView& s : slots) {
    if (!s.exists) ++counts.queued;
    if (s.exists) ++counts.existing;
    if (s.unanswered) ++counts.unanswered;
  }
  // As Decide, with creations counted once they will exist (the plan is the whole update).
  const CattleArithmetic a = CountCattle(counts);
  int64_t have = counts.live + counts.slots - a.cancel;
  if (a.extras > 0) {
    int64_t excess = a.extras;
    std::vector<const MemberView*> order = live;
    SortForScaleDown(&order, sha_);
    absl::flat_hash_set<std::string> gone;
    for (const MemberView* m : order) {
      if (excess <= 0) break;
      Destroy(*m, "scale down");
      gone.insert(m->id);
      --excess;
      --have;
    }
    live.erase(std::remove_if(live.begin(), live.end(),
                              [&](const MemberView* m) { return gone.count(m->id) > 0; }),
               live.end());
  }
  for (int64_t i = have; i < counts.size; ++i) Create("");
  std::vector<const MemberView*> outdated;
  for (const MemberView* m : live) {
    if (m->config_sha != sha_) outdated.push_back(m);
  }
  SortForRoll(&outdated);
  for (const MemberView* m : outdated) Replace(*m);
}

gv1::Plan PlanBuilder::Finish() {
  gv1::Plan plan;
  plan.set_config_sha(sha_);
  plan.set_destroys(static_cast<int64_t>(destroys_.size()));
  plan.set_creates(static_cast<int64_t>(creates_.size()));
  plan.set_replaces(static_cast<int64_t>(replaces_.size()));
  for (auto* v : {&destroys_, &creates_, &replaces_}) {
    for (gv1::PlanStep& s : *v) *plan.add_steps() = std::move(s);
  }

  std::string summary;
  auto then = [&summary](const std::string& first, const std::string& rest) {
    summary = summary.empty() ? first : absl::StrCat(summary, ", then ", rest);
  };
  if (plan.replaces() > 0) {
    then(absl::StrCat("Performs a rolling update of ", Instances(plan.replaces())), "");
  }
  if (plan.destroys() > 0) {
    then(absl::StrCat("Terminates ", Instances(plan.destroys())),
         absl::StrCat("terminates ", Instances(plan.destroys())));
  }
  if (plan.creates() > 0) {
    then(absl::StrCat("Adds ", Instances(plan.creates())),
         absl::StrCat("adds ", Instances(plan.creates())));
  }
  plan.set_summary(summary.empty() ? "Noop" : summary);
  return plan;
}

}  // namespace

gv1::Plan MakePlan(const std::vector<MemberView>& members, const std::vector<SlotView>& slots,
                   const gv1::GroupSpec& proposed, const std::string& proposed_sha) {
  std::vector<const MemberView*> live;
  for (const MemberView& m : members) {
    if (!m.destroying) live.push_back(&m);
  }
  PlanBuilder plan(proposed_sha);
  if (proposed.allocation().has_logical_ids()) {
    plan.Pets(members, live, slots, proposed);
  } else {
    plan.Cattle(members, std::move(live), slots, proposed);
  }
  return plan.Finish();
}

}  // namespace infrakit::services::group
