// Health scheduling of the group's members: which members are checked when (new members at
// once, gathered for a few milliseconds; everyone at each resync unless the flavor said the
// verdict cannot change; members whose verdict is pending every probe interval), in batches
// per flavor section (a member is checked with the flavor section of the config it was
// created from), and what a verdict means for remediation (startup grace, fresh verdicts).
//
// Threading: ...Locked methods require the controller's lock; Task calls the flavor plugin
// without it.
#ifndef INFRAKIT_SERVICES_GROUP_HEALTH_H_
#define INFRAKIT_SERVICES_GROUP_HEALTH_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/group/group_state.h"
#include "services/group/runtime.h"

namespace infrakit::services::group {

// A group's remediation timings, defaults applied.
struct RemediationTiming {
  // How long a member must be seen UNHEALTHY before it is replaced (default 60 s).
  absl::Duration threshold;
  // The startup grace of a member that has not been HEALTHY yet (default 10 s).
  absl::Duration initial_delay;
  // How often pending verdicts are checked again (default 1 s).
  absl::Duration probe_interval;
};
RemediationTiming TimingOf(const gv1::RemediationPolicy& r);

// When `m`'s UNHEALTHY verdicts start to count: at once for a member that has been HEALTHY,
// else at the end of its startup grace (and never before it was first seen UNHEALTHY).
absl::Time UnhealthyWindowStart(const Member& m, const RemediationTiming& timing);
// `m` has been seen UNHEALTHY at both ends of the threshold window: its latest verdict, still
// UNHEALTHY, came at least `threshold` after the window started. A verdict older than the
// window never condemns a member (it is checked again every probe interval meanwhile).
bool Remediable(const Member& m, const RemediationTiming& timing);
// Its verdict is pending for remediation: not HEALTHY, not being destroyed, and checked with
// its own flavor section; such members are re-checked every probe interval.
bool RemediationPending(const Member& m);

// New members are on their way: creations under way, creations returned whose instance no
// listing has shown yet, or members listed whose creation has not returned (not announced).
bool MembersOnTheirWay(const Group& g);

class Health {
 public:
  explicit Health(Runtime* rt) : rt_(rt) {}

  // Queues a check of `m` (once; not for doomed or not yet announced members).
  void QueueLocked(Group* g, Member* m);
  // Starts batch calls for what is queued, within the parallel calls allowed. A few members
  // wait health_gather_delay for the ones right behind them while more are on their way (see
  // MembersOnTheirWay); otherwise they are checked at once.
  void PumpLocked(Group* g);
  // The resync: queues every member but those whose own flavor section said its verdict
  // cannot change.
  void QueueAllLocked(Group* g);
  // Queues the members whose verdict is pending (a running update's new members not ready
  // yet; with remediation, members not HEALTHY) and starts the checks.
  void RecheckPendingLocked(Group* g);

  // Says a member is there: its health may be checked from now on.
  void AnnounceLocked(Group* g, Member* m);
  // Announces the members no creation claimed, once no creation is under way (they were not
  // ours: adopted).
  void AnnounceUnclaimedLocked(Group* g);

  // The flavor section `m` was created from, by its config_sha: the current spec's, or the
  // previous spec's (kept while an update is running, paused or stopped). When it is neither
  // (an unknown config), the current spec's, and `*own` is set to false (else true).
  const gv1::PluginSpec& MemberFlavorLocked(Group* g, const Member& m, bool* own);

 private:
  // Checks the members `instances` (BatchHealthy per flavor section) and settles each.
  void Task(const std::string& id, int64_t uid, const std::vector<std::string>& instances);
  // `number` is the call's (see next_check_): an answer older than the member's verdict is
  // dropped.
  void OnResultLocked(Group* g, const std::string& instance, const std::string& plugin, bool own,
                      uint64_t number, const absl::StatusOr<fv1::HealthyResponse>& result);

  Runtime* const rt_;
  // BatchHealthy calls made, numbering each as it starts (Member::verdict_check).
  std::atomic<uint64_t> next_check_{0};
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_HEALTH_H_
