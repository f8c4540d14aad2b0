// A Docker Engine API client over the engine's unix socket (libcurl's CURLOPT_UNIX_SOCKET_PATH),
// with the API version pinned to v1.41 (Docker Engine 20.10): what flavor-swarm needs of an
// engine and nothing more. Replies are read with protobuf's JSON parser into
// google.protobuf.Value (common::ParseJsonValue) and the few fields used are copied into the
// structs below; every other field is ignored, so newer engines that add fields still parse.
#ifndef INFRAKIT_PLUGINS_FLAVOR_SWARM_ENGINE_CLIENT_H_
#define INFRAKIT_PLUGINS_FLAVOR_SWARM_ENGINE_CLIENT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace infrakit::plugins::flavor::swarm {

// The Engine API version every request names (the path prefix "/v1.41").
inline constexpr absl::string_view kEngineApiVersion = "v1.41";

// What GET /info says about the engine and its swarm membership.
struct EngineInfo {
  std::string id;    // the engine's ID
  std::string name;  // its host name
  // The engine's labels (--label k=v), parsed into key -> value.
  std::map<std::string, std::string> labels;
  // Swarm.LocalNodeState: "inactive", "pending", "active", "error" or "locked".
  std::string local_node_state;
  std::string node_id;             // Swarm.NodeID: empty when not in a swarm
  std::string node_addr;           // Swarm.NodeAddr
  bool control_available = false;  // Swarm.ControlAvailable: this engine is a manager
  std::string error;               // Swarm.Error
};

// What GET /swarm says (managers only).
struct SwarmInfo {
  std::string id;
  uint64_t version = 0;
  std::string worker_join_token;
  std::string manager_join_token;
};

// One entry of GET /nodes.
struct SwarmNode {
  std::string id;
  uint64_t version = 0;      // Version.Index: what POST /nodes/{id}/update?version= needs
  std::string role;          // Spec.Role: "manager" or "worker"
  std::string availability;  // Spec.Availability: "active", "pause" or "drain"
  std::map<std::string, std::string> spec_labels;    // Spec.Labels
  std::string hostname;                              // Description.Hostname
  std::map<std::string, std::string> engine_labels;  // Description.Engine.Labels
  std::string state;         // Status.State: "unknown", "down", "ready" or "disconnected"
  std::string addr;          // Status.Addr
  bool is_manager = false;   // ManagerStatus present
  bool leader = false;       // ManagerStatus.Leader
  std::string reachability;  // ManagerStatus.Reachability: "unknown", "unreachable", "reachable"
  std::string manager_addr;  // ManagerStatus.Addr (host:port)
};

// POST /swarm/init. Empty fields are left out of the request (the engine picks its defaults).
struct SwarmInitRequest {
  std::string listen_addr;     // e.g. "127.0.0.21:2377"
  std::string advertise_addr;  // e.g. "127.0.0.21"
  std::string data_path_addr;  // e.g. "127.0.0.21"
};

// POST /swarm/join.
struct SwarmJoinRequest {
  std::string listen_addr;
  std::string advertise_addr;
  std::string data_path_addr;
  std::vector<std::string> remote_addrs;  // managers' "host:port", at least one
  std::string join_token;
};

// The changes POST /nodes/{id}/update makes. The engine replaces the whole spec, so the
// request carries role, availability and labels: UpdateNode starts from the node's current spec.
struct NodeSpec {
  std::string role;          // "manager" or "worker"
  std::string availability;  // "active", "pause" or "drain"
  std::map<std::string, std::string> labels;
};

// The HTTP status the engine answered with, attached to every error that carries one (0 for
// errors before an answer: connection refused, timeout, an unreadable reply). Thread-safe (pure).
int EngineHttpStatus(const absl::Status& status);

// Errors of every call: the engine's answer as "<METHOD> <path>: HTTP <code>: <engine message>",
// with the code mapped: 400 INVALID_ARGUMENT, 404 NOT_FOUND, 409 ALREADY_EXISTS,
// 406 / 503 FAILED_PRECONDITION (e.g. "This node is not a swarm manager"), 500 INTERNAL (e.g.
// a stale node version: read the node again and retry), others UNKNOWN; no engine listening
// UNAVAILABLE "<socket>: ..."; no answer within the timeout DEADLINE_EXCEEDED; a reply that is
// not the JSON expected INTERNAL. Every call is independent (a fresh connection): an
// EngineClient is thread-safe.
class EngineClient {
 public:
  explicit EngineClient(std::string socket_path, absl::Duration timeout = absl::Seconds(30));

  const std::string& socket_path() const { return socket_path_; }

  // GET /_ping: OK when the engine answers "OK".
  absl::Status Ping() const;

  // GET /info.
  absl::StatusOr<EngineInfo> Info() const;

  // GET /swarm (FAILED_PRECONDITION on an engine that is not a manager).
  absl::StatusOr<SwarmInfo> Swarm() const;

  // GET /nodes?filters=<JSON of `filters`>, e.g. {{"label", {"infrakit.instance=i-1"}}} or
  // {{"role", {"manager"}}}; no filters lists every node. Managers only.
  absl::StatusOr<std::vector<SwarmNode>> Nodes(
      const std::map<std::string, std::vector<std::string>>& filters = {}) const;

  // GET /tasks?filters={"node":[node_id],"desired-state":["running"]}: how many tasks the swarm
  // still wants running on the node (0 once a drain has moved them all). Managers only.
  absl::StatusOr<int> RunningTasks(absl::string_view node_id) const;

  // POST /swarm/init: returns the new node's ID.
  absl::StatusOr<std::string> InitSwarm(const SwarmInitRequest& request) const;

  // POST /swarm/join.
  absl::Status JoinSwarm(const SwarmJoinRequest& request) const;

  // POST /nodes/{id}/update?version=<version> with `spec` (the whole spec).
  absl::Status UpdateNode(absl::string_view node_id, uint64_t version, const NodeSpec& spec) const;

  // DELETE /nodes/{id}?force=true.
  absl::Status RemoveNode(absl::string_view node_id) const;

  // POST /swarm/leave?force=true.
  absl::Status LeaveSwarm() const;

 private:
  struct Reply {
    long http_status = 0;
    std::string body;
  };
  // One request; `body` is sent as application/json when not empty. Non-2xx replies are errors.
  absl::StatusOr<Reply> Call(absl::string_view method, absl::string_view path_and_query,
                             absl::string_view body) const;

  std::string socket_path_;
  absl::Duration timeout_;
};

}  // namespace infrakit::plugins::flavor::swarm

#endif  // INFRAKIT_PLUGINS_FLAVOR_SWARM_ENGINE_CLIENT_H_
