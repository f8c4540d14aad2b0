// The sync loop of each group, the way a Kubernetes controller runs one per object: a change
// (a watch event, a result, a timer) schedules one pass (coalesced, and paced so that passes of
// a group of thousands take at most a quarter of a core); a pass asks the planner what to do
// (Decide, or from counters alone for a steady group of cattle) and hands the creations and
// destructions to their pipelines, lets the rollout track a running update, and sets the one
// timer for the next moment something may change without an event. It also owns the group's
// lifetime: starting, the periodic resync, finishing a destroyed group, forgetting one.
//
// Threading: ...Locked methods require the controller's lock.
#ifndef INFRAKIT_SERVICES_GROUP_RECONCILER_H_
#define INFRAKIT_SERVICES_GROUP_RECONCILER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/group/group_state.h"
#include "services/group/planner.h"
#include "services/group/runtime.h"

namespace infrakit::services::group {

class Reconciler : public PassScheduler {
 public:
  explicit Reconciler(Runtime* rt) : rt_(rt) {}

  // Starts managing `g`: its resync timer and its first listing.
  void StartLocked(Group* g);
  // Schedules one pass of `g` (coalesced with one already scheduled).
  void ScheduleReconcileLocked(Group* g) override;
  // A pass, at once.
  void ReconcileLocked(Group* g);
  // Makes sure a pass runs at `t` (or earlier); never a timer for a moment already past.
  void WakeAtLocked(Group* g, absl::Time t) override;
  // Notes whether the group's work ran out; posts options.on_quiet when it just did.
  void NoteQuietLocked(Group* g) override;
  // What the planner knows of the members and the creations under way of `g`.
  std::vector<MemberView> MemberViewsLocked(Group* g, absl::Time now);
  std::vector<SlotView> SlotViewsLocked(Group* g);

  // Forgets `g`: cancels its timers, ends its streams and waiters (see Events::EndAllLocked),
  // hands its watch to `trash` and removes it from the groups.
  void ForgetLocked(Group* g, const absl::Status& end, const std::string& why, Trash* trash);

 private:
  void Reconcile(const std::string& id, int64_t uid);
  void Resync(const std::string& id, int64_t uid);
  // A destroyed group: every member doomed; once none is left, the record is deleted
  // (FinishDestroy) and the group forgotten.
  void ReconcileDestroyLocked(Group* g);
  void FinishDestroy(const std::string& id, int64_t uid);
  // The decision of this pass, into `d`; `in` keeps the inputs used (for messages).
  void DecideLocked(Group* g, absl::Time now, DecideInput* in, Decision* d);
  // Opens or closes the remediation circuit breaker as the decision says.
  void NoteBreakerLocked(Group* g, const Decision& d, int64_t max_unhealthy_percent);
  // Sets the wake-up timer and the re-check timer of pending verdicts after a pass.
  void ScheduleNextLocked(Group* g, absl::Time now);

  Runtime* const rt_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_RECONCILER_H_
