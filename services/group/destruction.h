// The destroy pipeline: members chosen to go (by a pass, a DestroyInstances request or the
// group's destruction) are queued, drained by the flavor section they were created from
// (BatchDrain per section) and destroyed (BatchDestroy) in batch calls spread over the parallel
// calls allowed. A member whose destroy fails goes back in the group; failures back off per
// wave of calls. DestroyInstances requests are answered once each of their members is settled.
//
// Threading: ...Locked methods require the controller's lock; Task calls the plugins without
// it.
#ifndef INFRAKIT_SERVICES_GROUP_DESTRUCTION_H_
#define INFRAKIT_SERVICES_GROUP_DESTRUCTION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/group/group_state.h"
#include "services/group/runtime.h"

namespace infrakit::services::group {

// One member of a destroy call and its outcome.
struct DestructionItem {
  std::string id;
  iv1::DestroyReason reason;
  // Failed (or not yet past) the flavor's Drain.
  bool flavor_stage = true;
  absl::Status result;
};

class Destruction {
 public:
  explicit Destruction(Runtime* rt) : rt_(rt) {}

  // Chooses `m` to be destroyed for `reason` (`why` for events); `remediation` counts it
  // against the remediation concurrency; `request` is its DestroyInstances request (0: none).
  void DoomLocked(Group* g, Member* m, iv1::DestroyReason reason, const std::string& why,
                  bool remediation, int64_t request);
  // Starts batch calls for the queued members, within the parallel calls allowed and unless a
  // failure's backoff is running (then one at a time once it ends).
  void PumpLocked(Group* g);
  // Settles member `instance` of DestroyInstances request `request`: destroyed (OK) or not
  // (its place in the group comes back). Answers the request once all are settled.
  void FinishRequestMemberLocked(Group* g, int64_t request, const std::string& instance,
                                 const absl::Status& result);

 private:
  // A scale-down or rolling-update destroy not started yet (and not asked by DestroyInstances)
  // that must not go ahead now: decided before the group's intent last changed (a size raised
  // since, an update started, stopped or paused). A rolling-update destroy also when decided
  // more than two resyncs ago (a paused process, a clock jump), or of a HEALTHY member whose
  // removal would leave fewer available members than the update's floor (`available`: the
  // count, computed at the first need, -1 until then). Withdrawn: a member again, and the next
  // pass decides anew.
  bool WithdrawLocked(Group* g, Member* m, absl::Time now, int64_t* available);
  // Drains and destroys the doomed members `instances`; settles each. `attempt` is the destroy
  // retry's failure count when the call was started.
  void Task(const std::string& id, int64_t uid, const std::vector<std::string>& instances,
            int attempt);
  // Takes the lock and settles a call's items: counts its failures as one attempt of the
  // destroy retry, settles each member, and starts what comes next.
  void Settle(const std::string& id, int64_t uid, const std::vector<DestructionItem>& items,
              int attempt);
  void OnDoneLocked(Group* g, const std::string& instance, const absl::Status& result);

  Runtime* const rt_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_DESTRUCTION_H_
