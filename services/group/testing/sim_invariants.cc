#include "services/group/testing/sim_invariants.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace infrakit::services::group::testing {
namespace {

std::string Tag(const iv1::Description& d, const std::string& key) {
  auto it = d.tags().find(key);
  return it == d.tags().end() ? "" : it->second;
}

}  // namespace

InvariantChecker::InvariantChecker(FakeInstancePlugin* real,
                                   std::function<bool(const iv1::Description&)> healthy,
                                   Clock* clock, std::string group)
    : real_(real), healthy_(std::move(healthy)), clock_(clock), group_(std::move(group)) {}

bool InvariantChecker::InGroup(const iv1::Description& d) const {
  return Tag(d, "infrakit.group") == group_;
}

void InvariantChecker::Fail(const std::string& what) {
  if (violation_.empty()) {
    violation_ = absl::StrCat(
        "at ", absl::FormatTime("%H:%M:%E3S", clock_->Now(), absl::UTCTimeZone()), ": ", what);
  }
}

InstanceCallHooks InvariantChecker::Hooks() {
  InstanceCallHooks hooks;
  hooks.provision_answered = [this](const iv1::ProvisionRequest& request,
                                    const absl::StatusOr<iv1::ProvisionResponse>& response) {
    const std::string& key = request.spec().idempotency_key();
    if (!response.ok() || key.empty()) return;
    auto [it, inserted] = key_to_id_.emplace(key, response->id());
    if (!inserted && it->second != response->id()) {
      Fail(absl::StrCat("idempotency key ", key, " answered ", response->id(), " after ",
                        it->second));
    }
  };
  hooks.destroy_asked = [this](const iv1::DestroyRequest& request) {
    if (destroyed_ok_.count(request.id())) {
      Fail(absl::StrCat("Destroy of ", request.id(), " asked again after one succeeded"));
    }
    // The floor was judged when its Drain was asked; without a Drain, when the controller first
    // asks: a retry after a failed call carries out the same decision.
    if (drained_.count(request.id()) || !judged_.insert(request.id()).second) return;
    for (const auto& d : real_->Instances()) {
      if (d.id() == request.id()) {
        JudgeFloor(d);
        break;
      }
    }
  };
  hooks.destroy_answered = [this](const iv1::DestroyRequest& request, const absl::Status& st) {
    if (st.ok()) destroyed_ok_.insert(request.id());
    if (absl::IsDeadlineExceeded(st)) {
      timed_out_.insert(request.id());
    } else {
      timed_out_.erase(request.id());
    }
  };
  return hooks;
}

void InvariantChecker::OnRealProvision(const iv1::Spec& spec) {
  auto g = spec.tags().find("infrakit.group");
  if (g == spec.tags().end() || g->second != group_) return;
  ++provisions_;
  const SimLimits limits = limits_ ? limits_() : SimLimits();
  int64_t mine = 0;
  for (const auto& d : real_->Instances()) {
    if (!InGroup(d)) continue;
    ++mine;
    if (limits.pets && !spec.logical_id().empty() && d.logical_id() == spec.logical_id()) {
      Fail(absl::StrCat("a Provision of logical ID ", spec.logical_id(), " while ", d.id(),
                        " has it"));
    }
  }
  peak_ = std::max(peak_, mine + 1);
  // Pets are counted per logical ID (above): a heal of one ID may go ahead while the member
  // of an ID removed from the spec is still being destroyed.
  if (!limits.pets && limits.cap >= 0 && mine + 1 > limits.cap) {
    Fail(absl::StrCat("a Provision makes ", mine + 1, " instances of ", group_, ", above ",
                      limits.cap));
  }
}

void InvariantChecker::OnDrainAsked(const iv1::Description& victim) {
  // Each Drain carries out a decision of its own (a failed one returns the member to the
  // group, and the next destroy of it is decided anew). An instance already gone (a Destroy
  // that worked but answered an error) takes nothing out of service.
  drained_.insert(victim.id());
  if (timed_out_.count(victim.id())) return;
  for (const auto& d : real_->Instances()) {
    if (d.id() == victim.id()) {
      JudgeFloor(d);
      break;
    }
  }
}

void InvariantChecker::OnDrainAnswered(const iv1::Description& victim, const absl::Status& answer) {
  if (absl::IsDeadlineExceeded(answer)) {
    timed_out_.insert(victim.id());
  } else {
    timed_out_.erase(victim.id());
  }
}

void InvariantChecker::OnRealDestroy(const iv1::Description& victim) {
  if (InGroup(victim)) ++destroys_;
}

void InvariantChecker::JudgeFloor(const iv1::Description& victim) {
  if (!InGroup(victim) || !healthy_(victim)) return;
  const SimLimits limits = limits_ ? limits_() : SimLimits();
  if (limits.floor < 0) return;
  // A logical ID that left the group takes its member with it, whatever its health: the floor
  // is about the members the group still wants.
  if (limits.pets && !limits.logical_ids.contains(Tag(victim, "infrakit.logical_id"))) return;
  int64_t healthy_after = 0;
  std::string others;
  // Lost instances still counted HEALTHY are not counted twice.
  std::set<std::string> counted;
  for (const auto& d : real_->Instances()) {
    if (!InGroup(d) || d.id() == victim.id()) continue;
    const bool healthy = healthy_(d);
    healthy_after += healthy;
    if (healthy) counted.insert(d.id());
    absl::StrAppend(&others, " ", d.id(), healthy ? "" : "(not HEALTHY)", "@",
                    Tag(d, "infrakit.config_sha").substr(0, 4));
  }
  const int64_t lost = RecentLosses(counted, victim.id());
  if (healthy_after + lost < limits.floor) {
    Fail(absl::StrCat("destroying HEALTHY ", victim.id(), " leaves ", healthy_after,
                      " HEALTHY instances (+", lost, " lost recently), below ", limits.floor,
                      "; others:", others));
  }
}

void InvariantChecker::NoteLost(const iv1::Description& d, absl::Duration window) {
  if (!InGroup(d) || !healthy_(d)) return;
  lost_until_[d.id()] = clock_->Now() + window;
}

int64_t InvariantChecker::RecentLosses(const std::set<std::string>& counted,
                                       const std::string& victim) {
  const absl::Time now = clock_->Now();
  int64_t n = 0;
  for (auto it = lost_until_.begin(); it != lost_until_.end();) {
    if (it->second < now) {
      it = lost_until_.erase(it);
      continue;
    }
    n += !counted.count(it->first) && it->first != victim;
    ++it;
  }
  return n;
}

}  // namespace infrakit::services::group::testing
