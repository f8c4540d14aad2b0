// The invariants of the seeded simulation, checked against the ground truth (the fake
// plugins) on every Provision and Destroy that reaches the fake instance plugin and on every
// call the controller makes through the fault layer:
//  - cattle: a Provision never makes more instances of the group than its size (+ surge while
//    an update runs or is paused), the larger of the limits before and after the latest change
//    of the spec (creations decided before a shrink may still land);
//  - pets: a Provision never makes a second instance of a logical ID;
//  - during a rolling update a HEALTHY instance is taken out of service (drained, or destroyed
//    without a drain) only if at least size - unavailable HEALTHY instances remain (size after
//    a stop), judged when the controller acts: at each Drain it asks, or at the first Destroy
//    asked of an instance it did not drain; HEALTHY as the flavor last told
//    the controller (a member still starting when last checked is not available to it), and
//    counting instances that died or fell sick recently (the controller may not know yet, or
//    have decided on a destroy before); judged while at most two configs are present (a
//    member of an older one has an untrusted verdict: not available to the update);
//  - no instance is asked to be destroyed again once a Destroy of it succeeded;
//  - an idempotency key always names the same instance.
// The first violation is kept, with when it happened; convergence is the runner's check.
//
// Threading: single-threaded, as the whole simulation.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_SIM_INVARIANTS_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_SIM_INVARIANTS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "services/group/clock.h"
#include "services/group/testing/fake_instance_plugin.h"
#include "services/group/testing/sim_instance_plugin.h"

namespace infrakit::services::group::testing {

// What the group's spec and status allow at a moment.
struct SimLimits {
  // The most instances of the group a Provision may leave (-1: no limit).
  int64_t cap = -1;
  // The fewest HEALTHY instances a Destroy of a HEALTHY one may leave (-1: no floor).
  int64_t floor = -1;
  // Pets: logical IDs get one instance each.
  bool pets = false;
  // Pets: the logical IDs the group wants.
  absl::flat_hash_set<std::string> logical_ids;
};

class InvariantChecker {
 public:
  // `real` and `clock` must outlive the checker. `healthy` says whether an instance counts as
  // HEALTHY.
  InvariantChecker(FakeInstancePlugin* real, std::function<bool(const iv1::Description&)> healthy,
                   Clock* clock, std::string group);

  // Asked on each Provision and Destroy for the limits in force (from the controller's spec
  // and status).
  void set_limits(std::function<SimLimits()> limits) { limits_ = std::move(limits); }

  // For the fault layer (what the controller asked and was answered) and for the fake (what
  // really happens).
  InstanceCallHooks Hooks();
  void OnRealProvision(const iv1::Spec& spec);
  // The controller asked to drain `victim` (to take it out of service): the floor is judged
  // then, when the controller acts, not when a slow call arrives; unless the last Drain or
  // Destroy of it timed out (it may have done its work: the controller carries on with the
  // same decision).
  void OnDrainAsked(const iv1::Description& victim);
  void OnDrainAnswered(const iv1::Description& victim, const absl::Status& answer);
  void OnRealDestroy(const iv1::Description& victim);

  // An instance of the group died or fell sick outside the controller: if it was HEALTHY it
  // counts toward the floor for `window` (the time the controller may take to learn of it, or
  // to finish a destroy it decided on before).
  void NoteLost(const iv1::Description& d, absl::Duration window);

  // Records a violation (the first one is kept).
  void Fail(const std::string& what);
  bool failed() const { return !violation_.empty(); }
  const std::string& violation() const { return violation_; }

  // Records of the run, for the report.
  int provisions() const { return provisions_; }
  int destroys() const { return destroys_; }
  int64_t peak() const { return peak_; }

 private:
  bool InGroup(const iv1::Description& d) const;
  // Fails when destroying `victim`, if HEALTHY, leaves fewer HEALTHY instances than the floor.
  void JudgeFloor(const iv1::Description& victim);
  // Instances lost while HEALTHY, within their window, but for `victim` and those `counted`
  // HEALTHY already.
  int64_t RecentLosses(const std::set<std::string>& counted, const std::string& victim);

  FakeInstancePlugin* const real_;
  const std::function<bool(const iv1::Description&)> healthy_;
  Clock* const clock_;
  const std::string group_;
  std::function<SimLimits()> limits_;
  std::string violation_;
  std::set<std::string> destroyed_ok_;
  // Instances whose destroy was judged against the floor (at the first ask).
  std::set<std::string> judged_;
  // Instances a Drain was asked of (judged then, not again at their Destroy).
  std::set<std::string> drained_;
  // Instances whose last Drain or Destroy timed out: the next ask carries on with the same
  // decision.
  std::set<std::string> timed_out_;
  std::map<std::string, std::string> key_to_id_;
  // Until when each lost instance counts toward the floor.
  std::map<std::string, absl::Time> lost_until_;
  int provisions_ = 0;
  int destroys_ = 0;
  int64_t peak_ = 0;
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_SIM_INVARIANTS_H_
