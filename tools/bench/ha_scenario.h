// The benchmark's `ha` scenario: three infrakit-group processes (--store etcd://) on a real
// three-member etcd. Runs only when named (--only=ha), and skips (saying so) without Debian's
// etcd-server.
#ifndef INFRAKIT_TOOLS_BENCH_HA_SCENARIO_H_
#define INFRAKIT_TOOLS_BENCH_HA_SCENARIO_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tools/bench/report.h"
#include "tools/bench/stack.h"

namespace infrakit::tools::bench {

struct HaOptions {
  // Failovers timed.
  int runs = 5;
  // The group services' --etcd-lease-ttl.
  absl::Duration lease_ttl = absl::Seconds(3);
  // Fenced (and as many plain) writes timed, after a tenth as many untimed.
  int fenced_writes = 1000;
};

// Times, over options.runs failovers of a group of 2 (instance-file, flavor-vanilla): kill -9
// of the leader (an instance file removed right after, which only a new leader can replace)
// until another group service says it leads (ListGroups polled every 10 ms), and until the
// replacement's file exists (inotify): the new leader's first action. The killed service is
// started again as a follower before the next run. Then options.fenced_writes EtcdStore::Put of
// a group record, fenced on a leader key, against as many plain etcd puts of the same bytes:
// p50 / p99 of each. etcd listens on 127.0.0.31-33, on ports chosen free (EtcdCluster).
absl::Status RunHa(const Binaries& binaries, const HaOptions& options, Report* report);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_HA_SCENARIO_H_
