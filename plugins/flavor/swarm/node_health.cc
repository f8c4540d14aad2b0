#include "plugins/flavor/swarm/node_health.h"

#include "absl/strings/str_cat.h"
#include "plugins/flavor/swarm/swarm_properties.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

namespace v1 = ::infrakit::flavor::v1;

v1::HealthyResponse Verdict(v1::Health health, std::string reason) {
  v1::HealthyResponse response;
  response.set_health(health);
  response.set_reason(std::move(reason));
  return response;
}

std::string LabelOf(const SwarmNode& node, const char* label) {
  auto it = node.engine_labels.find(label);
  return it == node.engine_labels.end() ? "" : it->second;
}

}  // namespace

const SwarmNode* NodeOfInstance(const std::vector<SwarmNode>& nodes,
                                const std::string& instance_id) {
  const SwarmNode* best = nullptr;
  auto rank = [](const SwarmNode& n) {
    return (n.state == "ready" ? 2 : 0) + (n.is_manager ? 1 : 0);
  };
  for (const SwarmNode& node : nodes) {
    if (LabelOf(node, kInstanceLabel) != instance_id) continue;
    if (best == nullptr || rank(node) > rank(*best)) best = &node;
  }
  return best;
}

v1::HealthyResponse NodeVerdict(const SwarmNode& node, bool want_manager,
                                const std::vector<SwarmNode>& nodes) {
  const std::string name = absl::StrCat("node ", node.id);
  if (node.state != "ready") {
    return Verdict(v1::HEALTH_UNHEALTHY, absl::StrCat(name, " is ", node.state));
  }
  if (node.availability != "active") {
    return Verdict(v1::HEALTH_UNHEALTHY,
                   absl::StrCat(name, " has availability ", node.availability, ", want active"));
  }
  if (want_manager && !node.is_manager) {
    return Verdict(v1::HEALTH_UNHEALTHY, absl::StrCat(name, " is a worker, want a manager"));
  }
  if (!want_manager && node.is_manager) {
    return Verdict(v1::HEALTH_UNHEALTHY, absl::StrCat(name, " is a manager, want a worker"));
  }
  if (node.is_manager && node.reachability != "reachable") {
    return Verdict(v1::HEALTH_UNHEALTHY,
                   absl::StrCat(name, " is a manager the others find ", node.reachability));
  }
  int managers = 0;
  for (const SwarmNode& n : nodes) managers += n.is_manager ? 1 : 0;
  const std::string role = node.leader ? "leader" : node.is_manager ? "manager" : "worker";
  v1::HealthyResponse response = Verdict(
      v1::HEALTH_HEALTHY,
      absl::StrCat(node.is_manager ? (node.leader ? "manager (leader)" : "manager") : "worker",
                   " of a swarm of ", nodes.size(), " nodes, ", managers, " managers"));
  response.set_role(role);
  response.set_update_order(node.leader ? 1 : 0);
  return response;
}

v1::HealthyResponse NotJoinedVerdict(const std::string& instance_id,
                                     const absl::StatusOr<EngineInfo>& engine) {
  const std::string missing =
      absl::StrCat("no node labelled ", kInstanceLabel, "=", instance_id, " in the swarm");
  if (!engine.ok()) {
    return Verdict(v1::HEALTH_UNKNOWN, absl::StrCat(missing, "; its engine does not answer yet (",
                                                    engine.status().message(), ")"));
  }
  const std::string& state = engine->local_node_state;
  if (state == "inactive" || state == "pending" || state == "error" || state == "locked") {
    return Verdict(v1::HEALTH_UNKNOWN,
                   absl::StrCat(missing, "; its engine answers, not yet joined (swarm state ",
                                state, engine->error.empty() ? "" : ": ", engine->error, ")"));
  }
  return Verdict(v1::HEALTH_UNKNOWN,
                 absl::StrCat(missing, "; its engine says it is node ", engine->node_id,
                              " (swarm state ", state, "), not yet listed"));
}

std::vector<const SwarmNode*> DeadWorkers(const std::vector<SwarmNode>& nodes,
                                          const std::string& group,
                                          const std::set<std::string>& live_instances) {
  std::vector<const SwarmNode*> dead;
  for (const SwarmNode& node : nodes) {
    const std::string instance = LabelOf(node, kInstanceLabel);
    if (node.is_manager || node.state != "down" || instance.empty() ||
        LabelOf(node, kGroupLabel) != group || live_instances.count(instance) > 0) {
      continue;
    }
    dead.push_back(&node);
  }
  return dead;
}

}  // namespace infrakit::plugins::flavor::swarm
