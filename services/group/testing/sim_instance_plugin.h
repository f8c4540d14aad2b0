// The instance plugin of the seeded simulation: a FakeInstancePlugin (the ground truth) behind
// a layer of faults drawn from the run's FaultModel. Calls fail, time out before or after
// their work, are slow (other work runs meanwhile) or reach the plugin twice; listings come
// back empty or fail; watch events are held back, reordered, duplicated or lost with their
// stream; the plugin dies (every call UNAVAILABLE, every watch ended) and restarts.
//
// The layer also tells an observer what the controller asked and what it was answered, which
// the fake below cannot see (a Destroy that never reached it, an answer replaced by a
// timeout).
//
// Threading: single-threaded, as the whole simulation (see sim_runner.h).
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_SIM_INSTANCE_PLUGIN_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_SIM_INSTANCE_PLUGIN_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/group/clock.h"
#include "services/group/testing/fake_instance_plugin.h"
#include "services/group/testing/sim_fault_model.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::services::group::testing {

// What the controller asked of the instance plugin, and what it was told.
struct InstanceCallHooks {
  std::function<void(const iv1::ProvisionRequest&, const absl::StatusOr<iv1::ProvisionResponse>&)>
      provision_answered;
  std::function<void(const iv1::DestroyRequest&)> destroy_asked;
  std::function<void(const iv1::DestroyRequest&, const absl::Status&)> destroy_answered;
};

class SimInstancePlugin : public spi::instance::InstancePlugin {
 public:
  // `real`, `faults` and `clock` must outlive the plugin.
  SimInstancePlugin(FakeInstancePlugin* real, FaultModel* faults, Clock* clock);
  ~SimInstancePlugin() override;

  absl::Status Validate(const iv1::ValidateRequest& request) override;
  absl::StatusOr<iv1::ProvisionResponse> Provision(const iv1::ProvisionRequest& request) override;
  absl::Status Destroy(const iv1::DestroyRequest& request) override;
  absl::StatusOr<iv1::DescribeResponse> Describe(const iv1::DescribeRequest& request) override;
  absl::StatusOr<iv1::LabelResponse> Label(const iv1::LabelRequest& request) override;
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const iv1::WatchRequest& request, spi::instance::WatchSink* sink) override;
  // A whole-call failure (the call could not be made), else each item through Provision /
  // Destroy above, with its own faults.
  absl::StatusOr<iv1::BatchProvisionResponse> BatchProvision(
      const iv1::BatchProvisionRequest& request) override;
  absl::StatusOr<iv1::BatchDestroyResponse> BatchDestroy(
      const iv1::BatchDestroyRequest& request) override;

  void set_hooks(InstanceCallHooks hooks) { hooks_ = std::move(hooks); }
  // Run in the middle of a slow call: the runner lets other tasks run and time pass there.
  void set_slow(std::function<void()> slow) { slow_ = std::move(slow); }
  // Told of the listing faults (for the run's trace).
  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }

  // Dies (every call UNAVAILABLE, every watch ended UNAVAILABLE now) or comes back. Its
  // instances live on, as an instance plugin's files or processes do.
  void set_down(bool down);
  bool down() const { return down_; }

  // Faults injected so far (for the report).
  int faults() const { return faults_; }

 private:
  class Relay;
  class Handle;

  // The fault before a call's work: UNAVAILABLE, DEADLINE_EXCEEDED or OK (go on). Also the
  // slowness of a call.
  absl::Status Before();
  // Whether the answer of a call that did its work is replaced by DEADLINE_EXCEEDED.
  bool TimeoutAfter();

  FakeInstancePlugin* const real_;
  FaultModel* const faults_model_;
  Clock* const clock_;
  InstanceCallHooks hooks_;
  std::function<void()> slow_;
  std::function<void(const std::string&)> log_;
  bool down_ = false;
  // The last listing was an injected empty one: the next one that reaches the controller whole
  // is honest, as a plugin's glitch does not last (two empty listings in a row are believed,
  // by design).
  bool last_listing_empty_ = false;
  int faults_ = 0;
  std::vector<std::weak_ptr<Relay>> relays_;
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_SIM_INSTANCE_PLUGIN_H_
