// flavor-swarm: Docker Swarm managers and workers, each instance a private Docker engine (see
// swarm_properties.h for the properties, engine_init.h for what runs on an instance).
//
// Managers are pets: a manager group's logical IDs are the swarm's manager addresses (1, 3 or 5,
// the properties' Managers). Workers are cattle. Everything the flavor learns of the swarm comes
// from the managers' Engine API (engine_client.h), asked until one answers: the one that answered
// last first, then in the order of Managers (manager_order.h):
//
// Prepare appends to the spec's init the engine's script, with the swarm action chosen now:
//   - a worker joins with the worker token, through every manager's address;
//   - a manager joins with the manager token through the other managers; a node left at its
//     address by the manager it replaces (dead, so not reachable) is demoted and removed first,
//     so the Raft membership stays the managers that live;
//   - the first manager (Managers[0]) initializes the swarm when no other manager answers with
//     one and none of their engines says it is in one (so a replacement never splits a swarm
//     whose managers are alive but have lost their quorum);
//   - otherwise UNAVAILABLE ("no manager of the swarm answers yet ..."): the group retries the
//     creation with backoff, which is how managers 2 and 3 of a new swarm wait for the first.
//
// Healthy (BatchHealthy: one GET /nodes for the whole batch) finds each instance's node by the
// engine label infrakit.instance=<instance ID> and gives node_health.h's verdicts: HEALTHY
// (Ready, Active, a Reachable manager for managers; the leader has update_order 1 so rolling
// updates replace it last), UNHEALTHY with what is wrong, UNKNOWN while not joined or when no
// manager answers. A batch also removes the Down worker nodes of its group whose instances are
// not in the batch (engines that died), so `docker node ls` does not fill with Down nodes.
//
// Drain: a manager is first demoted (through another manager), then, like a worker, set to
// availability drain, given up to the drain timeout for the swarm to move its tasks, and removed
// from the swarm. A node that is not in the swarm, or a swarm no manager of which answers, has
// nothing to drain (OK, logged): destroying the instance then goes on, and a Down worker's node
// is swept later. The swarm's only manager is not demoted (nothing to hand over to).
//
// ValidateAllocation: managers must be pets whose logical IDs are among Managers;
// max_unavailable = (managers - 1) / 2, so a rolling update never takes the Raft quorum down;
// none for workers.
#ifndef INFRAKIT_PLUGINS_FLAVOR_SWARM_SWARM_PLUGIN_H_
#define INFRAKIT_PLUGINS_FLAVOR_SWARM_SWARM_PLUGIN_H_

#include "absl/time/time.h"
#include "plugins/flavor/swarm/manager_order.h"
#include "spi/flavor/flavor_plugin.h"

namespace infrakit::plugins::flavor::swarm {

namespace v1 = ::infrakit::flavor::v1;

// Every method works from its request and the swarm's answers (the only state kept is which
// manager answered last, asked first next time); any number of threads may call. Methods block
// on Engine API calls, each bounded by the API timeout.
class SwarmPlugin : public spi::flavor::FlavorPlugin {
 public:
  struct Options {
    // Each Engine API call of Prepare and Healthy.
    absl::Duration api_timeout = absl::Seconds(5);
    // An engine asked why its instance has no node yet (Healthy).
    absl::Duration engine_timeout = absl::Seconds(1);
    // How long Drain waits for a demotion to take effect and for tasks to leave a node.
    absl::Duration drain_timeout = absl::Seconds(60);
  };

  SwarmPlugin();
  explicit SwarmPlugin(Options options);

  // Parses the properties and checks the allocation. INVALID_ARGUMENT naming the field.
  absl::Status Validate(const v1::ValidateRequest& request) override;

  // Validate, and max_unavailable (see the file comment).
  absl::StatusOr<v1::ValidateResponse> ValidateAllocation(
      const v1::ValidateRequest& request) override;

  // The spec with the engine's script appended to its init, the caller's tags kept.
  // INVALID_ARGUMENT as Validate, and naming "LogicalID" for a manager whose logical ID is not
  // one of Managers; UNAVAILABLE when there is no swarm to join yet (see the file comment);
  // FAILED_PRECONDITION when a live manager still answers at the manager's address.
  absl::StatusOr<v1::PrepareResponse> Prepare(const v1::PrepareRequest& request) override;

  // The verdict on one instance (a batch of one). INVALID_ARGUMENT only for bad properties.
  absl::StatusOr<v1::HealthyResponse> Healthy(const v1::HealthyRequest& request) override;

  // Drains and removes the instance's node (see the file comment). INVALID_ARGUMENT for bad
  // properties; UNAVAILABLE / INTERNAL when a manager refuses a step (the group retries).
  absl::Status Drain(const v1::DrainRequest& request) override;

  // Healthy for each instance from one node list, and the sweep of dead workers. Bad
  // properties fail every item; more than spi::kMaxBatchSize instances fail the call.
  absl::StatusOr<v1::BatchHealthyResponse> BatchHealthy(
      const v1::BatchHealthyRequest& request) override;

 private:
  const Options options_;
  ManagerOrder order_;
};

}  // namespace infrakit::plugins::flavor::swarm

#endif  // INFRAKIT_PLUGINS_FLAVOR_SWARM_SWARM_PLUGIN_H_
