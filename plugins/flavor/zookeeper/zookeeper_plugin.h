// flavor-zookeeper: a ZooKeeper 3.8 ensemble, one server per logical ID (an IPv4 address): the
// voting members ("Mode": "member", the default) or observers of them ("Mode": "observer" with
// the members' addresses in "Members"), see zookeeper_properties.h.
//
// Prepare appends to the spec's init the script that writes the member's myid and zoo.cfg and
// runs ZooKeeper in the foreground (member_init.h); with instance-process and no Command, that
// server is the instance. Member IDs are positions in the sorted list of logical IDs, so a
// replaced member rejoins as itself (zookeeper_properties.h).
//
// Healthy asks the member itself, with `srvr` on <logical ID>:<ClientPort> (srvr_probe.h):
// leader, follower, observer or standalone is HEALTHY, with the role set and update_order 1 for
// the leader (a rolling update replaces it last) and 0 for the others; "not currently serving
// requests" is UNHEALTHY; a refused connection, no answer within the probe timeout (1 s) or an
// answer that is not srvr's is UNKNOWN with the reason.
//
// Drain does nothing: destroying the instance stops the server, and the rest of the ensemble
// carries on as long as a quorum is left (a group's rolling update keeps at most
// max_unavailable members down, see Validate).
//
// Observers use static configuration: an observer's zoo.cfg lists the members and itself (with
// peerType=observer); the members' does not list the observers. ZooKeeper 3.8's leader accepts
// a learner it does not know ("not in the current config") and serves it as an observer, also
// after a leader election (checked with a real ensemble, see tests/e2e/zookeeper), so no dynamic
// reconfiguration is needed and observer groups come and go without touching the members.
// Observers are pets like the members: each server needs its own address.
#ifndef INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_ZOOKEEPER_PLUGIN_H_
#define INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_ZOOKEEPER_PLUGIN_H_

#include "absl/time/time.h"
#include "spi/flavor/flavor_plugin.h"

namespace infrakit::plugins::flavor::zookeeper {

namespace v1 = ::infrakit::flavor::v1;

// How long one srvr probe may take (connect, ask, read the answer).
inline constexpr absl::Duration kProbeTimeout = absl::Seconds(1);
// How many probes one BatchHealthy runs at once.
inline constexpr int kMaxConcurrentProbes = 16;

// Stateless: every method works from its request alone, so any number of threads may call.
class ZookeeperPlugin : public spi::flavor::FlavorPlugin {
 public:
  // `probe_timeout` bounds each srvr probe (tests shorten it).
  explicit ZookeeperPlugin(absl::Duration probe_timeout = kProbeTimeout);

  // Parses the properties and checks the allocation (logical IDs that are distinct IPv4
  // addresses). INVALID_ARGUMENT naming the field.
  absl::Status Validate(const v1::ValidateRequest& request) override;

  // Validate's checks, and the ensemble's limit: max_unavailable = (n - 1) / 2 for a group of n
  // members; none (0) for observers.
  absl::StatusOr<v1::ValidateResponse> ValidateAllocation(
      const v1::ValidateRequest& request) override;

  // The spec with init = spec.init + "\n" + the member's script (member_init.h), the flavor's
  // tags merged over the caller's. INVALID_ARGUMENT as Validate, and naming "LogicalID" when the
  // spec's logical ID is not one of the allocation's.
  absl::StatusOr<v1::PrepareResponse> Prepare(const v1::PrepareRequest& request) override;

  // Asks the member with srvr (blocking up to the probe timeout); see the file comment for the
  // verdicts. UNKNOWN when the instance has no logical ID. INVALID_ARGUMENT only for bad
  // properties.
  absl::StatusOr<v1::HealthyResponse> Healthy(const v1::HealthyRequest& request) override;

  // Nothing to do: OK once the properties parse.
  absl::Status Drain(const v1::DrainRequest& request) override;

  // Healthy for each instance, in order, up to kMaxConcurrentProbes probes at once (the calling
  // thread and threads started and joined within the call). Bad properties fail every item
  // with Healthy's INVALID_ARGUMENT; more than spi::kMaxBatchSize instances fail the call.
  absl::StatusOr<v1::BatchHealthyResponse> BatchHealthy(
      const v1::BatchHealthyRequest& request) override;

 private:
  const absl::Duration probe_timeout_;
};

}  // namespace infrakit::plugins::flavor::zookeeper

#endif  // INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_ZOOKEEPER_PLUGIN_H_
