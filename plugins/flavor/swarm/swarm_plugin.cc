#include "plugins/flavor/swarm/swarm_plugin.h"

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "plugins/flavor/swarm/engine_client.h"
#include "plugins/flavor/swarm/engine_init.h"
#include "plugins/flavor/swarm/manager_order.h"
#include "plugins/flavor/swarm/node_health.h"
#include "plugins/flavor/swarm/swarm_properties.h"
#include "spec/tags.h"
#include "spi/item_status.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

using ::infrakit::instance::v1::Description;

bool IsManager(const SwarmProperties& properties) {
  return properties.role == SwarmProperties::Role::kManager;
}

std::string SwarmAddress(const std::string& address) {
  return absl::StrCat(address, ":", kSwarmPort);
}

// A token as the engine issues them (SWMTKN-1-<base36>-<base36>): nothing the script would have
// to quote.
bool PlainToken(const std::string& token) {
  if (token.empty()) return false;
  for (char c : token) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

absl::Status CheckAllocation(const SwarmProperties& properties, const v1::Allocation& allocation) {
  if (!IsManager(properties)) return absl::OkStatus();
  if (!allocation.has_logical_ids() || allocation.logical_ids().ids_size() == 0) {
    return absl::InvalidArgumentError(
        "Allocation: managers are pets: the manager group's LogicalIDs are the Managers' "
        "addresses (a size is for workers)");
  }
  std::set<std::string> managers;
  for (const SwarmManager& manager : properties.managers) managers.insert(manager.address);
  for (const std::string& id : allocation.logical_ids().ids()) {
    if (!managers.count(id)) {
      return absl::InvalidArgumentError(absl::StrCat("Allocation.LogicalIDs: \"", id,
                                                     "\" is not one of Managers (",
                                                     absl::StrJoin(managers, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

// A manager's client that answered, with what it answered.
template <typename T>
struct Answer {
  const SwarmManager* manager = nullptr;
  T value;
};

// Asks the managers other than `skip` in `order`, `ask(client)` each, until one answers; the
// error lists every manager's failure.
template <typename T, typename Ask>
absl::StatusOr<Answer<T>> FirstManager(ManagerOrder* order, const SwarmProperties& properties,
                                       const std::string& skip, absl::Duration timeout,
                                       const Ask& ask) {
  std::vector<std::string> errors;
  for (const SwarmManager* manager : order->Order(properties, skip)) {
    absl::StatusOr<T> value = ask(EngineClient(manager->socket, timeout));
    if (value.ok()) {
      order->Answered(manager->socket);
      return Answer<T>{manager, *std::move(value)};
    }
    errors.push_back(absl::StrCat(manager->address, ": ", value.status().message()));
  }
  return absl::UnavailableError(
      absl::StrCat("no manager of the swarm answers",
                   errors.empty() ? "" : absl::StrCat(" (", absl::StrJoin(errors, "; "), ")")));
}

// True when a manager engine other than `skip` says it is in a swarm (it answers, but the
// swarm has no leader to answer GET /swarm): initializing another swarm then would split it.
bool SomeManagerIsInASwarm(const SwarmProperties& properties, const std::string& skip,
                           absl::Duration timeout) {
  for (const SwarmManager& manager : properties.managers) {
    if (manager.address == skip) continue;
    absl::StatusOr<EngineInfo> info = EngineClient(manager.socket, timeout).Info();
    if (info.ok() && info->local_node_state != "inactive") return true;
  }
  return false;
}

// Demotes and removes what is left at manager address `address` of the manager an instance
// replaces. FAILED_PRECONDITION when a manager there is still reachable.
absl::Status RemoveManagerAt(const EngineClient& client, const std::string& address) {
  absl::StatusOr<std::vector<SwarmNode>> nodes = client.Nodes({{"role", {"manager"}}});
  if (!nodes.ok()) return nodes.status();
  for (const SwarmNode& node : *nodes) {
    if (node.manager_addr != SwarmAddress(address)) continue;
    if (node.reachability == "reachable") {
      return absl::FailedPreconditionError(
          absl::StrCat("manager ", address, " (node ", node.id,
                       ") is still reachable: another engine serves that address"));
    }
    LOG(INFO) << "flavor-swarm: removing node " << node.id << ", the " << node.reachability
              << " manager left at " << address;
    NodeSpec demoted{"worker", node.availability, node.spec_labels};
    if (absl::Status s = client.UpdateNode(node.id, node.version, demoted); !s.ok()) return s;
    if (absl::Status s = client.RemoveNode(node.id); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// The swarm action for the instance of `logical_id` (a manager's address; empty for workers).
absl::StatusOr<SwarmAction> ActionFor(ManagerOrder* order, const SwarmProperties& properties,
                                      const std::string& logical_id, absl::Duration timeout) {
  const bool manager = IsManager(properties);
  auto swarm = FirstManager<SwarmInfo>(order, properties, manager ? logical_id : "", timeout,
                                       [](const EngineClient& c) { return c.Swarm(); });
  if (!swarm.ok()) {
    if (manager && logical_id == properties.managers.front().address &&
        !SomeManagerIsInASwarm(properties, logical_id, timeout)) {
      return SwarmAction{SwarmAction::Kind::kInit, "", {}};
    }
    return absl::UnavailableError(
        absl::StrCat(swarm.status().message(), ": nothing to join yet (the first manager, ",
                     properties.managers.front().address, ", initializes the swarm)"));
  }
  if (manager) {
    EngineClient client(swarm->manager->socket, timeout);
    if (absl::Status s = RemoveManagerAt(client, logical_id); !s.ok()) return s;
  }
  SwarmAction action;
  action.join_token = manager ? swarm->value.manager_join_token : swarm->value.worker_join_token;
  if (!PlainToken(action.join_token)) {
    return absl::InternalError(
        absl::StrCat("GET /swarm gave a join token of an unexpected form: ", action.join_token));
  }
  action.remote_addrs.push_back(SwarmAddress(swarm->manager->address));
  for (const SwarmManager& other : properties.managers) {
    if (other.address != logical_id && &other != swarm->manager) {
      action.remote_addrs.push_back(SwarmAddress(other.address));
    }
  }
  return action;
}

std::string TagOf(const Description& instance, const char* tag) {
  auto it = instance.tags().find(tag);
  return it == instance.tags().end() ? "" : it->second;
}

// The socket of the instance's own engine.
std::string EngineSocketOf(const SwarmProperties& properties, const Description& instance) {
  if (IsManager(properties)) {
    for (const SwarmManager& manager : properties.managers) {
      if (manager.address == instance.logical_id()) return manager.socket;
    }
  }
  return DefaultEngineSocket(properties.data_root_base, instance.id());
}

// Removes the dead workers of the batch's group (see node_health.h's DeadWorkers).
void SweepDeadWorkers(const EngineClient& client, const std::vector<SwarmNode>& nodes,
                      const v1::BatchHealthyRequest& request) {
  if (request.instances_size() == 0) return;
  const std::string group = TagOf(request.instances(0), spec::kGroupTag);
  std::set<std::string> live;
  for (const Description& instance : request.instances()) live.insert(instance.id());
  for (const SwarmNode* dead : DeadWorkers(nodes, group, live)) {
    absl::Status removed = client.RemoveNode(dead->id);
    LOG(INFO) << "flavor-swarm: removing node " << dead->id << " of instance "
              << dead->engine_labels.at(kInstanceLabel) << " (down, its instance is gone): "
              << (removed.ok() ? "done" : std::string(removed.message()));
  }
}

// Re-reads the node of `instance_id` and updates its spec with `change` until the engine takes
// it (a node's version moves under concurrent updates: a stale one gives HTTP 500).
template <typename Change>
absl::Status UpdateNodeOf(const EngineClient& client, const std::string& instance_id,
                          const Change& change) {
  absl::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto nodes = client.Nodes({{"label", {absl::StrCat(kInstanceLabel, "=", instance_id)}}});
    if (!nodes.ok()) return nodes.status();
    const SwarmNode* node = NodeOfInstance(*nodes, instance_id);
    if (node == nullptr) return absl::OkStatus();
    NodeSpec spec{node->role, node->availability, node->spec_labels};
    change(&spec);
    last = client.UpdateNode(node->id, node->version, spec);
    if (last.ok() || last.code() != absl::StatusCode::kInternal) return last;
  }
  return last;
}

// Waits until `done()` is true or `timeout` passes; false on timeout.
template <typename Done>
bool WaitUntil(absl::Duration timeout, const Done& done) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return true;
}

}  // namespace

SwarmPlugin::SwarmPlugin() : SwarmPlugin(Options{}) {}

SwarmPlugin::SwarmPlugin(Options options) : options_(options) {}

absl::Status SwarmPlugin::Validate(const v1::ValidateRequest& request) {
  return ValidateAllocation(request).status();
}

absl::StatusOr<v1::ValidateResponse> SwarmPlugin::ValidateAllocation(
    const v1::ValidateRequest& request) {
  auto properties = ParseSwarmProperties(request.properties());
  if (!properties.ok()) return properties.status();
  if (absl::Status s = CheckAllocation(*properties, request.allocation()); !s.ok()) return s;
  v1::ValidateResponse response;
  // Raft needs a majority of the managers: (n - 1) / 2 of them may be down at once.
  if (IsManager(*properties)) {
    response.set_max_unavailable((static_cast<int>(properties->managers.size()) - 1) / 2);
  }
  return response;
}

absl::StatusOr<v1::PrepareResponse> SwarmPlugin::Prepare(const v1::PrepareRequest& request) {
  auto properties = ParseSwarmProperties(request.properties());
  if (!properties.ok()) return properties.status();
  if (absl::Status s = CheckAllocation(*properties, request.allocation()); !s.ok()) return s;
  const std::string& logical_id = request.spec().logical_id();
  EngineInitParams params;
  if (IsManager(*properties)) {
    bool known = false;
    for (const SwarmManager& m : properties->managers) known |= m.address == logical_id;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("LogicalID: \"", logical_id, "\" is not one of Managers"));
    }
    params.manager_address = logical_id;
  }
  auto group = request.spec().tags().find(spec::kGroupTag);
  if (group != request.spec().tags().end()) params.group = group->second;
  auto action = ActionFor(&order_, *properties, params.manager_address, options_.api_timeout);
  if (!action.ok()) return action.status();
  params.action = *std::move(action);
  v1::PrepareResponse response;
  *response.mutable_spec() = request.spec();
  ::infrakit::instance::v1::Spec* spec = response.mutable_spec();
  spec->set_init(absl::StrCat(spec->init(), spec->init().empty() ? "" : "\n",
                              EngineInit(*properties, params)));
  return response;
}

absl::StatusOr<v1::HealthyResponse> SwarmPlugin::Healthy(const v1::HealthyRequest& request) {
  v1::BatchHealthyRequest batch;
  *batch.mutable_properties() = request.properties();
  *batch.add_instances() = request.instance();
  auto answered = BatchHealthy(batch);
  if (!answered.ok()) return answered.status();
  const v1::HealthyResult& result = answered->results(0);
  if (result.has_error()) return spi::FromItemStatus(result.error());
  return result.response();
}

absl::StatusOr<v1::BatchHealthyResponse> SwarmPlugin::BatchHealthy(
    const v1::BatchHealthyRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.instances_size(), "instances"); !s.ok()) {
    return s;
  }
  v1::BatchHealthyResponse response;
  auto properties = ParseSwarmProperties(request.properties());
  if (!properties.ok()) {
    for (int i = 0; i < request.instances_size(); ++i) {
      *response.add_results()->mutable_error() = spi::ToItemStatus(properties.status());
    }
    return response;
  }
  auto nodes =
      FirstManager<std::vector<SwarmNode>>(&order_, *properties, "", options_.api_timeout,
                                           [](const EngineClient& c) { return c.Nodes(); });
  for (const Description& instance : request.instances()) {
    v1::HealthyResponse* verdict = response.add_results()->mutable_response();
    if (!nodes.ok()) {
      verdict->set_health(v1::HEALTH_UNKNOWN);
      verdict->set_reason(std::string(nodes.status().message()));
      continue;
    }
    const SwarmNode* node = NodeOfInstance(nodes->value, instance.id());
    if (node != nullptr) {
      *verdict = NodeVerdict(*node, IsManager(*properties), nodes->value);
    } else {
      EngineClient engine(EngineSocketOf(*properties, instance), options_.engine_timeout);
      *verdict = NotJoinedVerdict(instance.id(), engine.Info());
    }
  }
  if (nodes.ok()) {
    SweepDeadWorkers(EngineClient(nodes->manager->socket, options_.api_timeout), nodes->value,
                     request);
  }
  return response;
}

absl::Status SwarmPlugin::Drain(const v1::DrainRequest& request) {
  auto properties = ParseSwarmProperties(request.properties());
  if (!properties.ok()) return properties.status();
  const Description& instance = request.instance();
  const std::string label = absl::StrCat(kInstanceLabel, "=", instance.id());
  // Another manager than the one drained: a demoted manager stops answering manager calls.
  const std::string self = IsManager(*properties) ? instance.logical_id() : "";
  auto found = FirstManager<std::vector<SwarmNode>>(
      &order_, *properties, self, options_.api_timeout, [&label](const EngineClient& c) {
        return c.Nodes({{"label", {label}}});
      });
  if (!found.ok()) {
    LOG(WARNING) << "flavor-swarm: nothing to drain on " << instance.id() << ": "
                 << found.status().message();
    return absl::OkStatus();
  }
  const SwarmNode* node = NodeOfInstance(found->value, instance.id());
  if (node == nullptr) {
    LOG(INFO) << "flavor-swarm: " << instance.id() << " has no node in the swarm; nothing to drain";
    return absl::OkStatus();
  }
  const std::string node_id = node->id;
  const EngineClient client(found->manager->socket, options_.drain_timeout);
  auto node_now = [&]() -> std::optional<SwarmNode> {
    auto nodes = client.Nodes({{"label", {label}}});
    if (!nodes.ok()) return std::nullopt;
    const SwarmNode* n = NodeOfInstance(*nodes, instance.id());
    return n == nullptr ? std::nullopt : std::optional<SwarmNode>(*n);
  };
  if (node->is_manager) {
    LOG(INFO) << "flavor-swarm: demoting manager " << instance.logical_id() << " (node " << node_id
              << ")";
    absl::Status demoted =
        UpdateNodeOf(client, instance.id(), [](NodeSpec* spec) { spec->role = "worker"; });
    if (!demoted.ok()) return demoted;
    if (!WaitUntil(options_.drain_timeout, [&] {
          auto n = node_now();
          return !n.has_value() || !n->is_manager;
        })) {
      return absl::DeadlineExceededError(absl::StrCat("node ", node_id, " is still a manager ",
                                                      absl::FormatDuration(options_.drain_timeout),
                                                      " after its demotion"));
    }
  }
  absl::Status drained =
      UpdateNodeOf(client, instance.id(), [](NodeSpec* spec) { spec->availability = "drain"; });
  if (!drained.ok()) return drained;
  if (!WaitUntil(options_.drain_timeout, [&] {
        auto tasks = client.RunningTasks(node_id);
        return !tasks.ok() || *tasks == 0;
      })) {
    LOG(WARNING) << "flavor-swarm: tasks still on node " << node_id << " after "
                 << options_.drain_timeout << "; removing it anyway";
  }
  absl::Status removed = client.RemoveNode(node_id);
  if (!removed.ok() && removed.code() != absl::StatusCode::kNotFound) return removed;
  LOG(INFO) << "flavor-swarm: drained and removed node " << node_id << " of " << instance.id();
  return absl::OkStatus();
}

}  // namespace infrakit::plugins::flavor::swarm
