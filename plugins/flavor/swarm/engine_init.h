// The init script flavor-swarm gives each instance: it starts the instance's private Docker
// engine and makes it a member of the swarm.
//
// The script runs as the instance (with instance-process: the instance's process, see
// plugins/instance/process/process_plugin.h), needs INFRAKIT_INSTANCE_ID in its environment
// (instance-process sets it), /bin/sh, dockerd and curl, and does, in order:
//   1. picks the engine's directory <DataRootBase>/<name> (name: the manager's address, or the
//      worker's instance ID) and its address: a manager's logical ID; a worker's leased from
//      AddressPool (the first address whose lease, <DataRootBase>/.leases/<address>, is free or
//      held by a process that is gone; the lease names the holder's pid and start time, so a
//      reused pid does not hold it), or none (the engine picks its own) without a pool;
//   2. clears what an earlier engine left under that directory (a replaced manager's state, the
//      containerd and mounts an engine killed with -9 left behind), refusing to start when the
//      pidfile names an engine that still runs;
//   3. starts containerd in the instance's process group (so that it dies with the instance
//      even when the instance is killed with -9; dockerd would start its own in a session of
//      its own), then dockerd on it in the background with its own data-root, exec-root, socket,
//      pidfile and cgroup parent, the flags that let several engines share a machine
//      (kSharedMachineFlags), the engine labels infrakit.instance=<instance ID> and
//      infrakit.group=<group>, the properties' Labels and DaemonFlags;
//   4. once the engine answers /_ping, POSTs /swarm/init (the first manager of an empty swarm)
//      or /swarm/join (with the join token and the managers' addresses Prepare read from the
//      Engine API) to the engine's own socket, with curl; when that fails the engine is stopped
//      and the instance dies with the engine's answer in its log, so the group replaces it with
//      a freshly prepared one;
//   5. waits for dockerd; a TERM, INT or HUP is passed on to it. When it exits (stopped, or
//      killed), the script clears the directory (with what is left of its containerd) and the
//      lease and exits with its status: the instance lives exactly as long as its engine.
#ifndef INFRAKIT_PLUGINS_FLAVOR_SWARM_ENGINE_INIT_H_
#define INFRAKIT_PLUGINS_FLAVOR_SWARM_ENGINE_INIT_H_

#include <string>
#include <vector>

#include "plugins/flavor/swarm/swarm_properties.h"

namespace infrakit::plugins::flavor::swarm {

// The dockerd flags for several engines on one machine, before DaemonFlags (which may override
// them: dockerd takes the last value of a flag given twice).
inline constexpr const char* kSharedMachineFlags[] = {
    "--iptables=false",     "--ip6tables=false",  "--bridge=none",
    "--storage-driver=vfs", "--ip-forward=false",
};

// The swarm's control-plane port, on every engine's address.
inline constexpr int kSwarmPort = 2377;

// The longest exec-root the script accepts: containerd puts
// <exec-root>/containerd/containerd.sock.ttrpc there, which must fit a unix socket path.
inline constexpr size_t kMaxExecRoot = 107 - 33;

// What the engine does once it answers.
struct SwarmAction {
  enum class Kind { kInit, kJoin };
  Kind kind = Kind::kJoin;
  // kJoin: the token (a manager's or a worker's) and managers' "address:2377", at least one.
  std::string join_token;
  std::vector<std::string> remote_addrs;
};

// What the script is for.
struct EngineInitParams {
  // A manager's address (its logical ID); empty for a worker.
  std::string manager_address;
  // The group the instance belongs to (the spec's infrakit.group tag); may be empty.
  std::string group;
  SwarmAction action;
};

// The script (see the file comment). Every value from properties and params is shell-quoted.
// Thread-safe (pure).
std::string EngineInit(const SwarmProperties& properties, const EngineInitParams& params);

// The request bodies the script POSTs, as JSON text; `address` is a shell expression for the
// engine's address (e.g. "$addr"), empty when the engine picks its own. Exposed for tests.
// Thread-safe (pure).
std::string SwarmRequestBody(const SwarmAction& action, const std::string& address);

}  // namespace infrakit::plugins::flavor::swarm

#endif  // INFRAKIT_PLUGINS_FLAVOR_SWARM_ENGINE_INIT_H_
