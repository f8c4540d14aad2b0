// flavor-swarm's properties: parsing and validation.
//
//   {
//     "Role": "manager",                         or "worker"
//     "Managers": ["127.0.0.21", "127.0.0.22", {"Address": "127.0.0.23",
//                                               "Socket": "/run/swarm/m3.sock"}],
//     "DataRootBase": "/var/lib/infrakit-swarm",
//     "DaemonFlags": ["--log-level=warn"],
//     "Labels": {"tier": "swarm"}
//   }
//
// "Role" and "Managers" are required; keys and the role's name match case-insensitively ("role"
// is "Role", "Manager" is "manager"), every other value is taken as written. The swarm's managers
// are pets: each manager is an IPv4 address (its engine's advertise address, and the manager
// group's logical ID), given as a string or as {"Address", "Socket"} with the manager engine's unix
// socket when it is not the default <DataRootBase>/<Address>/docker.sock. There are 1, 3 or 5
// managers: Raft keeps a quorum of an odd number, and more than 5 only slows it. A worker group
// reaches the swarm through them; a manager group's logical IDs are these addresses.
//
// Each instance's engine keeps its state under <DataRootBase>/<instance>/ (data, exec root,
// socket, pidfile). DaemonFlags are passed to its dockerd after the flags the flavor sets, and
// may not set those (--data-root, --exec-root, --host / -H, --pidfile, --cgroup-parent); Labels
// become engine labels (--label key=value) besides the flavor's own infrakit.instance, which
// ties a swarm node to its instance and may not be given.
#ifndef INFRAKIT_PLUGINS_FLAVOR_SWARM_SWARM_PROPERTIES_H_
#define INFRAKIT_PLUGINS_FLAVOR_SWARM_SWARM_PROPERTIES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"

namespace infrakit::plugins::flavor::swarm {

// The engine label tying a swarm node to its instance: infrakit.instance=<instance ID>.
inline constexpr char kInstanceLabel[] = "infrakit.instance";
// Where engines keep their state when DataRootBase is not given.
inline constexpr char kDefaultDataRootBase[] = "/var/lib/infrakit-swarm";
// The longest DataRootBase: <base>/<instance>/docker.sock must fit a unix socket path (107
// bytes) with instance IDs of up to 40 characters.
inline constexpr size_t kMaxDataRootBase = 54;

// One of the swarm's managers.
struct SwarmManager {
  std::string address;  // IPv4: the advertise address and the manager's logical ID
  std::string socket;   // its engine's unix socket (the default filled in)
};

// Parsed flavor properties, defaults filled in.
struct SwarmProperties {
  enum class Role { kManager, kWorker };
  Role role = Role::kWorker;
  // In the order given; 1, 3 or 5, addresses distinct.
  std::vector<SwarmManager> managers;
  std::string data_root_base = kDefaultDataRootBase;
  std::vector<std::string> daemon_flags;
  std::map<std::string, std::string> labels;
};

// The keys ParseSwarmProperties accepts, spelled as documented (matched case-insensitively):
// the very list it refuses other keys by. Thread-safe.
const std::vector<std::string>& SwarmPropertyKeys();

// The default socket of the engine of instance (or manager address) `id` under `base`:
// <base>/<id>/docker.sock. Thread-safe (pure).
std::string DefaultEngineSocket(const std::string& base, const std::string& id);

// Parses and checks `properties`. INVALID_ARGUMENT "<field>: <problem>" naming the field in the
// documented spelling (e.g. "Role: \"boss\" is not \"manager\" or \"worker\"",
// "Managers: 2 managers; want 1, 3 or 5", "Managers[1].Address: required") for an unknown key,
// a key given twice, a wrong type, a missing Role or Managers, a manager that is not an IPv4
// address, repeats one, or has a Socket that is not an absolute path, a DataRootBase that is
// not an absolute path or too long, a DaemonFlags entry that is not a flag or sets one the
// flavor sets, and a label that is empty, has '=' in its name or is infrakit.instance.
// Thread-safe (pure).
absl::StatusOr<SwarmProperties> ParseSwarmProperties(const google::protobuf::Struct& properties);

}  // namespace infrakit::plugins::flavor::swarm

#endif  // INFRAKIT_PLUGINS_FLAVOR_SWARM_SWARM_PROPERTIES_H_
