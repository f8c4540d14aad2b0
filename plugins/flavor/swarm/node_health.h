// The verdicts flavor-swarm gives from the swarm's node list: pure functions over what
// GET /nodes answered, so that every rule is tested without engines.
#ifndef INFRAKIT_PLUGINS_FLAVOR_SWARM_NODE_HEALTH_H_
#define INFRAKIT_PLUGINS_FLAVOR_SWARM_NODE_HEALTH_H_

#include <set>
#include <string>
#include <vector>

#include "plugins/flavor/swarm/engine_client.h"
#include "plugins/flavor/swarm/swarm_properties.h"
#include "proto/infrakit/flavor/v1/flavor.pb.h"

namespace infrakit::plugins::flavor::swarm {

// The node of instance `instance_id` (engine label infrakit.instance=<id>) among `nodes`, or
// null. When several carry the label (an engine that left and joined again), a ready one wins,
// then a manager. Thread-safe (pure).
const SwarmNode* NodeOfInstance(const std::vector<SwarmNode>& nodes,
                                const std::string& instance_id);

// The verdict on `node`, the node of an instance of a group whose role is manager
// (`want_manager`) or worker, in a swarm of `nodes`:
//   HEALTHY when Ready and Active, and for a manager also a Reachable manager; role "leader",
//     "manager" or "worker", update_order 1 for the leader (a rolling update replaces it last),
//     0 otherwise, the reason e.g. "manager (leader) of a swarm of 5 nodes, 3 managers";
//   UNHEALTHY otherwise, the reason naming what is wrong ("node abc is down",
//     "availability drain", "a worker, want a manager", "manager unreachable").
// Thread-safe (pure).
::infrakit::flavor::v1::HealthyResponse NodeVerdict(const SwarmNode& node, bool want_manager,
                                                    const std::vector<SwarmNode>& nodes);

// The verdict on an instance with no node yet: UNKNOWN, with a reason from what its own engine
// says (`engine`: its GET /info, or the error of asking): not answering yet, not in a swarm
// (LocalNodeState inactive or pending, with Swarm.Error), or in the swarm but not yet listed.
// Thread-safe (pure).
::infrakit::flavor::v1::HealthyResponse NotJoinedVerdict(const std::string& instance_id,
                                                         const absl::StatusOr<EngineInfo>& engine);

// The worker nodes of group `group` (engine label infrakit.group) that are Down and belong to
// none of `live_instances`: engines that died, whose nodes a sweep removes so that the node list
// does not fill with Down nodes. Managers are never swept (a manager is removed when it is
// drained, or when its logical ID is prepared again). Thread-safe (pure).
std::vector<const SwarmNode*> DeadWorkers(const std::vector<SwarmNode>& nodes,
                                          const std::string& group,
                                          const std::set<std::string>& live_instances);

}  // namespace infrakit::plugins::flavor::swarm

#endif  // INFRAKIT_PLUGINS_FLAVOR_SWARM_NODE_HEALTH_H_
