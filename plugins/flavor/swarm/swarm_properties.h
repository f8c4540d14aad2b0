// flavor-swarm's properties: parsing and validation.
//
//   {
//     "Role": "manager",                         or "worker"
//     "Managers": ["127.0.0.21", "127.0.0.22", {"Address": "127.0.0.23",
//                                               "Socket": "/run/swarm/m3.sock"}],
//     "DataRootBase": "/var/lib/infrakit-swarm",
//     "DaemonFlags": ["--log-level=warn"],
//     "Labels": {"tier": "swarm"},
//     "AddressPool": "127.0.1.0/24"              workers only
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
// ties a swarm node to its instance, and infrakit.group, which ties it to its group; neither may
// be given.
//
// Every engine of a swarm needs an address of its own (the swarm's ports 2377 and 7946 are bound
// on it). Managers advertise their logical ID. Workers are cattle: without AddressPool their
// engine picks its address itself (one host per worker); with AddressPool (an IPv4 CIDR of at
// most 4096 addresses, e.g. a loopback range for several engines on one machine) each worker
// leases the first address of the pool no live worker holds, when it starts.
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
// The engine label tying a swarm node to its group: infrakit.group=<group ID>.
inline constexpr char kGroupLabel[] = "infrakit.group";
// The smallest AddressPool prefix length (4096 addresses): leasing walks the pool.
inline constexpr int kMinAddressPoolPrefix = 20;
// Where engines keep their state when DataRootBase is not given.
inline constexpr char kDefaultDataRootBase[] = "/var/lib/infrakit-swarm";
// The longest DataRootBase: the engine's exec root <base>/<instance>/x, under which containerd
// puts its sockets, must fit unix socket paths (engine_init.h's kMaxExecRoot) with instance IDs
// of up to 31 characters (instance-process's are 25).
inline constexpr size_t kMaxDataRootBase = 40;

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
  // Workers only: the pool's first and last host address (network and broadcast addresses
  // excluded for prefixes up to /30), empty when not given.
  std::string address_pool;  // as written, e.g. "127.0.1.0/24"
  std::string pool_first;
  std::string pool_last;
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
// flavor sets, a label that is empty, has '=' in its name or is infrakit.instance or
// infrakit.group, and an AddressPool that is not an IPv4 CIDR of /20 to /32 or is given for
// managers.
// Thread-safe (pure).
absl::StatusOr<SwarmProperties> ParseSwarmProperties(const google::protobuf::Struct& properties);

}  // namespace infrakit::plugins::flavor::swarm

#endif  // INFRAKIT_PLUGINS_FLAVOR_SWARM_SWARM_PROPERTIES_H_
