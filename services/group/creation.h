// The creation pipeline: creations decided by a pass become slots (each with a Prepare
// sequence number and an idempotency key kept across retries), are sent in batch calls
// (BatchPrepare for cattle, Prepare per pet, then BatchProvision) spread over the parallel
// calls allowed, count as existing while under way, and end when their instance is listed (or
// is lost: not listed within the listing grace). Failures back off per wave of calls.
//
// Threading: ...Locked methods require the controller's lock; Task calls the plugins without
// it.
#ifndef INFRAKIT_SERVICES_GROUP_CREATION_H_
#define INFRAKIT_SERVICES_GROUP_CREATION_H_

#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/group/group_state.h"
#include "services/group/runtime.h"

namespace infrakit::services::group {

// One creation of a batch call, filled in stages: Prepare's spec, then the outcome.
struct CreationItem {
  int64_t seq;
  std::string lid;
  std::string key;
  iv1::Spec spec;
  // Failed (or not yet past) the flavor's Prepare.
  bool flavor_stage = true;
  absl::StatusOr<iv1::ProvisionResponse> result = absl::UnknownError("not attempted");
};

class Creation {
 public:
  explicit Creation(Runtime* rt) : rt_(rt) {}

  // A creation a previous process had sent (from the group's record), queued again with its
  // key, sequence and logical ID; the plugin answers with the instance that key made, if any.
  void RestoreLocked(Group* g, const PendingCreation& p);
  // A creation decided by a pass (for logical ID `lid`, "" for cattle), queued.
  void CreateLocked(Group* g, const std::string& lid);
  // Starts batch calls for the queued slots, within the parallel calls allowed and unless a
  // failure's backoff is running (then one at a time once it ends).
  void PumpLocked(Group* g);
  // Whether a creation Provision returned has not been listed for the listing grace, or a failed
  // Provision's retry has waited that long, as of `now` (a listing begun now decides whether
  // the creation was lost, or shows what the failed attempt made).
  bool OverdueLocked(const Group* g, absl::Time now) const;
  // When the first queued retry of a failed Provision will have waited the listing grace
  // (InfiniteFuture: none queued). O(sent creations) while retries are queued, else O(1).
  absl::Time ResendsSettleAtLocked(const Group* g) const;
  // Forgets creations absent from `listing`, a listing begun at `as_of`, at least
  // `listing_grace` after their Provision returned, with an error saying so.
  void DropLostSlotsLocked(Group* g, absl::Time as_of,
                           const absl::btree_map<std::string, iv1::Description>& listing);

 private:
  // Cattle: the most instances that may exist now: the size, plus the surge while an update
  // is running or paused.
  int64_t CattleCapLocked(const Group& g) const;
  // A new queued slot for `lid` with a fresh sequence and idempotency key.
  Slot& NewSlotLocked(Group* g, const std::string& lid);
  // Prepares and provisions the queued slots `seqs`; settles each. `attempt` is the provision
  // retry's failure count when the call was started.
  void Task(const std::string& id, int64_t uid, const std::vector<int64_t>& seqs, int attempt);
  // Takes the lock and settles a call's items: counts its failures as one attempt of the
  // provision retry, settles each slot, and starts what comes next.
  void Settle(const std::string& id, int64_t uid, const std::vector<CreationItem>& items,
              int attempt);
  void OnDoneLocked(Group* g, int64_t seq, const absl::StatusOr<iv1::ProvisionResponse>& result);

  Runtime* const rt_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_CREATION_H_
