// The flavor plugin of the seeded simulation: a FakeFlavorPlugin (the ground truth of health)
// behind a layer of faults drawn from the run's FaultModel: calls fail, time out (a Drain
// possibly after its work), are slow, health verdicts come back UNKNOWN, and the plugin dies
// and restarts.
//
// Threading: single-threaded, as the whole simulation (see sim_runner.h).
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_SIM_FLAVOR_PLUGIN_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_SIM_FLAVOR_PLUGIN_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/group/testing/fake_flavor_plugin.h"
#include "services/group/testing/sim_fault_model.h"
#include "spi/flavor/flavor_plugin.h"

namespace infrakit::services::group::testing {

class SimFlavorPlugin : public spi::flavor::FlavorPlugin {
 public:
  // `real` and `faults` must outlive the plugin.
  SimFlavorPlugin(FakeFlavorPlugin* real, FaultModel* faults) : real_(real), faults_(faults) {}

  absl::Status Validate(const fv1::ValidateRequest& request) override;
  absl::StatusOr<fv1::ValidateResponse> ValidateAllocation(
      const fv1::ValidateRequest& request) override;
  absl::StatusOr<fv1::PrepareResponse> Prepare(const fv1::PrepareRequest& request) override;
  absl::StatusOr<fv1::HealthyResponse> Healthy(const fv1::HealthyRequest& request) override;
  absl::Status Drain(const fv1::DrainRequest& request) override;
  // A whole-call failure, else each item through the unary call above, with its own faults.
  absl::StatusOr<fv1::BatchPrepareResponse> BatchPrepare(
      const fv1::BatchPrepareRequest& request) override;
  absl::StatusOr<fv1::BatchHealthyResponse> BatchHealthy(
      const fv1::BatchHealthyRequest& request) override;
  absl::StatusOr<fv1::BatchDrainResponse> BatchDrain(
      const fv1::BatchDrainRequest& request) override;

  // Run when a Drain is asked, before its faults (no status: the controller has decided to take
  // the instance out of service; the call may then be slow, fail, or do its work), and again
  // with what the call answered.
  using DrainHook = std::function<void(const ::infrakit::instance::v1::Description&,
                                       const std::optional<absl::Status>&)>;
  void set_drain_hook(DrainHook hook) { drain_asked_ = std::move(hook); }
  // Run in the middle of a slow call (see SimInstancePlugin::set_slow).
  void set_slow(std::function<void()> slow) { slow_ = std::move(slow); }
  // Dies (every call UNAVAILABLE) or comes back.
  void set_down(bool down) { down_ = down; }
  bool down() const { return down_; }
  int faults() const { return faults_count_; }
  // The last verdict the controller was given about instance `id` was HEALTHY: what it can
  // know of the instance's health (the invariants judge its choices by it).
  bool ReportedHealthy(const std::string& id) const;

 private:
  // The fault before a call's work: UNAVAILABLE, DEADLINE_EXCEEDED or OK (go on), and the
  // slowness of a call.
  absl::Status Before();
  absl::Status DrainWithFaults(const fv1::DrainRequest& request);

  FakeFlavorPlugin* const real_;
  FaultModel* const faults_;
  std::function<void()> slow_;
  DrainHook drain_asked_;
  // Inside BatchDrain, whose items were announced to the hook already.
  bool in_batch_drain_ = false;
  bool down_ = false;
  int faults_count_ = 0;
  // What the controller was told of each instance's health, and the number of the call that
  // told it. Calls are numbered as they start; an answer is taken when its call returns unless
  // a later-started call's answer was taken (the controller drops such stale verdicts).
  struct Verdict {
    fv1::Health health = fv1::HEALTH_UNSPECIFIED;
    uint64_t call = 0;
  };
  // A BatchHealthy under way (slow items let others run, and start calls, meanwhile).
  struct Batch {
    uint64_t call = 0;
    std::map<std::string, fv1::Health> verdicts;
  };
  void Report(const std::string& id, fv1::Health health);
  void Tell(const std::string& id, fv1::Health health, uint64_t call);
  std::map<std::string, Verdict> reported_;
  std::vector<Batch> batches_;
  uint64_t calls_ = 0;
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_SIM_FLAVOR_PLUGIN_H_
