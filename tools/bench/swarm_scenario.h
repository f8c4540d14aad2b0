// The benchmark's `swarm` scenario: a real Docker swarm of 3 managers and 2 workers under
// infrakit-group, infrakit-instance-process and infrakit-flavor-swarm, each member a private
// dockerd. Runs only when named (--only), and skips (saying why) where PrivateEngine::Missing()
// says the engines cannot run (not root, no dockerd / unshare / ip).
#ifndef INFRAKIT_TOOLS_BENCH_SWARM_SCENARIO_H_
#define INFRAKIT_TOOLS_BENCH_SWARM_SCENARIO_H_

#include "absl/status/status.h"
#include "tools/bench/report.h"
#include "tools/bench/stack.h"

namespace infrakit::tools::bench {

struct BenchOptions;

// Re-executes the whole benchmark (the binary at /proc/self/exe with argv[1..]) in new network
// and mount namespaces with loopback up, marking the environment so that it happens once; the
// engines' 127.0.0.x addresses, docker_gwbridge and mounts then stay inside and vanish with the
// run. Returns only when it does not re-execute: already inside, PrivateEngine::Missing() not
// empty (RunSwarm then skips), or exec failed.
void ReRunInOwnNamespacesForSwarm(char** argv);

// Times, with the managers' Engine API (GET /nodes) polled every 100 ms: `group watch` of both
// groups until the swarm is formed (5 nodes Ready and Active, 3 managers Reachable, one leader)
// and until the groups report 3 + 2 HEALTHY; a worker's dockerd kill -9 until its replacement's
// node is Ready (5 Ready nodes of live members) and until the dead node leaves the node list;
// a rolling update of the managers (engine labels changed) until COMPLETED, with the number of
// 100 ms samples in which no manager answered GET /nodes (no quorum).
absl::Status RunSwarm(const Binaries& binaries, const BenchOptions& options, Report* report);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_SWARM_SCENARIO_H_
