// The invariants of the seeded simulation, checked against the ground truth (the fake
// plugins) on every Provision and Destroy that reaches the fake instance plugin and on every
// call the controller makes through the fault layer:
//  - a Provision never makes more instances of the group than its size (+ surge while an
//    update runs or is paused), the larger of the limits before and after the latest change
//    of the spec (creations decided before a shrink may still land);
//  - pets: a Provision never makes a second instance of a logical ID;
//  - during a rolling update a HEALTHY instance is destroyed only if at least size -
//    unavailable HEALTHY instances remain (size after a stop), counting instances that died or
//    fell sick recently as still HEALTHY (the controller cannot know yet);
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

#include "absl/time/time.h"
#include "services/group/clock.h"
#include "services/group/testing/fake_flavor_plugin.h"
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
};

class InvariantChecker {
 public:
  // `real`, `flavor` and `clock` must outlive the checker.
  InvariantChecker(FakeInstancePlugin* real, FakeFlavorPlugin* flavor, Clock* clock,
                   std::string group);

  // Asked on each Provision and Destroy for the limits in force (from the controller's spec
  // and status).
  void set_limits(std::function<SimLimits()> limits) { limits_ = std::move(limits); }

  // For the fault layer (what the controller asked and was answered) and for the fake (what
  // really happens).
  InstanceCallHooks Hooks();
  void OnRealProvision(const iv1::Spec& spec);
  void OnRealDestroy(const iv1::Description& victim);

  // An instance of the group died, or fell sick, outside the controller: if it was HEALTHY it
  // counts toward the floor for `window` (the time the controller may take to learn of it).
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
  // Instances that died or fell sick while HEALTHY, within their window.
  int64_t RecentLosses();

  FakeInstancePlugin* const real_;
  FakeFlavorPlugin* const flavor_;
  Clock* const clock_;
  const std::string group_;
  std::function<SimLimits()> limits_;
  std::string violation_;
  std::set<std::string> destroyed_ok_;
  std::map<std::string, std::string> key_to_id_;
  // Until when each lost instance counts toward the floor.
  std::map<std::string, absl::Time> lost_until_;
  int provisions_ = 0;
  int destroys_ = 0;
  int64_t peak_ = 0;
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_SIM_INVARIANTS_H_
