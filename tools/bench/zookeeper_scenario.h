// The benchmark's `zookeeper` scenario: a real 3-member ZooKeeper ensemble under infrakit-group,
// infrakit-instance-process and infrakit-flavor-zookeeper. Runs only when named (--only), and
// skips (saying so) without Debian's zookeeper package.
#ifndef INFRAKIT_TOOLS_BENCH_ZOOKEEPER_SCENARIO_H_
#define INFRAKIT_TOOLS_BENCH_ZOOKEEPER_SCENARIO_H_

#include "absl/status/status.h"
#include "tools/bench/report.h"
#include "tools/bench/stack.h"

namespace infrakit::tools::bench {

struct BenchOptions;

// Times, with every member's `srvr` sampled every 50 ms: `group watch` of 3 members until a
// quorum serves (a leader and a follower), all 3 serve, and the group sees 3 HEALTHY; the
// leader's kill -9 until a quorum serves again and until its replacement is HEALTHY; a rolling
// update of the 3 (TickTime changed) until COMPLETED, and its longest run of samples with fewer
// than 2 members serving. The members listen on 127.0.0.71-73 (2181, 2888, 3888), which must be
// free.
absl::Status RunZookeeper(const Binaries& binaries, const BenchOptions& options, Report* report);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_ZOOKEEPER_SCENARIO_H_
