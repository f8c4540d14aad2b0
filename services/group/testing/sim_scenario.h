// The scenarios of the seeded simulation: a group (cattle or pets, with or without
// remediation, watched or polled), the controller's tunables, and at each step what the user
// does (scale, update with surge / unavailable, a config that never becomes healthy, stop the
// update, change the pets' logical IDs) and what the world does (the controller crashes and
// restarts from its store, instances die or fall sick, plugins die and restart, the clock
// jumps, listings lag). Everything is drawn from the run's FaultModel, so a seed is a
// scenario.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_SIM_SCENARIO_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_SIM_SCENARIO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "infrakit/group/v1/group.pb.h"
#include "services/group/controller_options.h"
#include "services/group/testing/sim_fault_model.h"

namespace infrakit::services::group::testing {

namespace gv1 = ::infrakit::group::v1;

inline constexpr char kSimGroup[] = "sim";
inline constexpr char kSimInstancePlugin[] = "instance-sim";
inline constexpr char kSimFlavorPlugin[] = "flavor-sim";

// What a seed draws once, at the start.
struct SimSetup {
  bool pets = false;
  // The group as first watched.
  gv1::GroupSpec spec;
  ControllerOptions options;
  // The instance plugin cannot watch: the controller polls Describe.
  bool polling = false;
  // New instances are UNHEALTHY this long after their first health check.
  absl::Duration startup_delay;
  // Steps with faults, then the convergence phase.
  int steps = 0;
};

// One thing that happens at a step.
struct SimAction {
  enum class Kind {
    kScale,         // SetSize(size)
    kUpdate,        // UpdateGroup(spec); `bad`: its config never becomes HEALTHY
    kStopUpdate,    // StopUpdate
    kRestart,       // the controller crashes and starts again from its store
    kKillInstance,  // an instance of the group disappears
    kSicken,        // an instance of the group turns UNHEALTHY for good
    kInstanceDown,  // the instance plugin dies (kInstanceUp: it is back)
    kInstanceUp,
    kFlavorDown,  // the flavor plugin dies (kFlavorUp: it is back)
    kFlavorUp,
    kClockJump,   // time leaps forward by `jump` at once (a suspended machine)
    kListingLag,  // new instances are listed `jump` after their creation
  };
  Kind kind;
  int64_t size = 0;
  gv1::GroupSpec spec;
  bool bad = false;
  absl::Duration jump;
};

// Draws the setup and, step by step, the actions; keeps the spec the user last asked for.
class ScenarioGenerator {
 public:
  explicit ScenarioGenerator(FaultModel* faults) : faults_(faults) {}

  SimSetup DrawSetup();
  // This step's actions. `instance_down` / `flavor_down`: whether those plugins are down now.
  std::vector<SimAction> NextActions(bool instance_down, bool flavor_down);
  // The time the step lets pass after its actions.
  absl::Duration StepDuration();

  // The spec the user last asked for (a failed request leaves it; see Rejected).
  const gv1::GroupSpec& spec() const { return spec_; }
  // The controller refused the last kScale / kUpdate: the user's spec is what it was.
  void Rejected() { spec_ = previous_; }
  // A fresh config that becomes HEALTHY, on the spec last asked for (the convergence phase's
  // way out of a paused or failing update).
  gv1::GroupSpec FreshConfig();

 private:
  SimAction DrawUserAction();
  SimAction DrawWorldAction(bool instance_down, bool flavor_down);
  gv1::GroupSpec NewConfig(bool bad);
  void DrawPolicy(gv1::GroupSpec* spec);

  FaultModel* const faults_;
  gv1::GroupSpec spec_;
  gv1::GroupSpec previous_;
  int version_ = 1;
  int next_lid_ = 0;
};

// A spec on the simulation's plugins: cattle of `size` (or pets with `lids`), instance
// properties {"Note": note}.
gv1::GroupSpec SimSpec(const std::vector<std::string>& lids, int64_t size, const std::string& note,
                       bool pets);

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_SIM_SCENARIO_H_
