// The seeded simulation of the group controller: one seed is one run, deterministic from the
// seed (one mt19937_64, a fake clock, a manual executor; no threads, no wall clock, no sleeps).
//
// A run draws a scenario (sim_scenario.h) and a fault profile (sim_fault_model.h), starts a
// Controller over the simulation's plugins (sim_instance_plugin.h, sim_flavor_plugin.h: fakes
// behind a fault layer) and an in-memory store, and plays steps: the step's actions, then time
// passing (timers firing, every task run), with the invariants of sim_invariants.h checked on
// every Provision and Destroy. Slow plugin calls run other tasks and move time while they are
// under way, so the controller's tasks interleave as on a thread pool. Then faults stop (the
// plugins come back, sick instances heal, a paused, stopped or never-healthy update is
// replaced by a fresh config) and the group must converge within kConvergeBound: the
// controller converged, the instances exactly the desired ones on its config and HEALTHY, and
// its members exactly the plugin's instances.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_SIM_RUNNER_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_SIM_RUNNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "infrakit/group/v1/group.pb.h"
#include "services/group/controller.h"
#include "services/group/testing/fake_clock.h"
#include "services/group/testing/fake_flavor_plugin.h"
#include "services/group/testing/fake_instance_plugin.h"
#include "services/group/testing/fake_resolver.h"
#include "services/group/testing/manual_executor.h"
#include "services/group/testing/memory_store.h"
#include "services/group/testing/sim_fault_model.h"
#include "services/group/testing/sim_flavor_plugin.h"
#include "services/group/testing/sim_instance_plugin.h"
#include "services/group/testing/sim_invariants.h"
#include "services/group/testing/sim_scenario.h"

namespace infrakit::services::group::testing {

// How a run ended.
struct SimResult {
  uint64_t seed = 0;
  bool ok = true;
  // The first violation (or the convergence failure), with the step it happened at.
  std::string failure;
  int step = 0;
  // What the run did: steps, faults, provisions, destroys, restarts, simulated time.
  std::string summary;
  // The run's last actions, oldest first (for the reproduction report).
  std::vector<std::string> trace;
};

class SimRunner {
 public:
  // Simulated time the group has to converge once faults stop.
  static constexpr absl::Duration kConvergeBound = absl::Minutes(20);

  explicit SimRunner(uint64_t seed);
  ~SimRunner();

  SimRunner(const SimRunner&) = delete;
  SimRunner& operator=(const SimRunner&) = delete;

  SimResult Run();

 private:
  void Setup();
  void Apply(const SimAction& action);
  void ApplyUser(const SimAction& action);
  void ApplyWorld(const SimAction& action);
  void Scale(int64_t size);
  // Asks for an update to `spec` (`bad`: a config that never becomes HEALTHY); returns
  // whether the controller accepted it.
  absl::Status Update(const gv1::GroupSpec& spec, bool bad);
  void Restart();
  // An instance of the group, drawn: "" when there is none.
  std::string PickInstance();
  void ConvergencePhase();
  // Why the group has not converged ("" when it has).
  std::string NotConverged();

  // Runs every queued task (and the ones they post); a livelock is a violation.
  void RunTasks();
  // Lets `d` of time pass, timer by timer, running the tasks after each.
  void Advance(absl::Duration d);
  // A slow plugin call: a few other tasks run and a little time passes meanwhile.
  void Interleave();

  SimLimits LimitsNow();
  SimLimits Limits();
  // Widens the step's limits by the ones in force now (after each task): a Provision decided
  // under an update's surge may land after the update ended, and is judged by the limits it
  // was decided under.
  void WidenStepLimits();
  absl::StatusOr<gv1::InspectGroupResponse> Inspect();
  void Trace(const std::string& line);

  const uint64_t seed_;
  FaultModel faults_;
  ScenarioGenerator scenario_;
  SimSetup setup_;
  FakeClock clock_;
  ManualExecutor executor_;
  MemoryStore store_;
  FakeResolver resolver_;
  FakeInstancePlugin real_instance_;
  FakeFlavorPlugin real_flavor_;
  std::shared_ptr<SimInstancePlugin> instance_;
  std::shared_ptr<SimFlavorPlugin> flavor_;
  InvariantChecker checker_;
  std::unique_ptr<Controller> controller_;
  // The limits in force when the step began: a change made by the step's actions may leave
  // work decided under them.
  SimLimits step_limits_;
  int step_ = 0;
  int depth_ = 0;
  int restarts_ = 0;
  // The instance plugin's listing lag.
  absl::Duration lag_;
  std::vector<std::string> sick_;
  std::vector<std::string> trace_;
  absl::Time start_;
};

// Runs seed `seed`; a shorthand for SimRunner(seed).Run().
SimResult RunSimulation(uint64_t seed);

// The one line that reproduces seed `seed`.
std::string ReproductionLine(uint64_t seed);

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_SIM_RUNNER_H_
