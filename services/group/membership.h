// Who the group's members are: the instance plugin's Watch filtered by infrakit.group=<id>
// (first the current set, up to SYNCED, then every change), or Describe polled every resync
// period where Watch is UNIMPLEMENTED. Until a listing has arrived the membership is unknown
// and nothing is created or destroyed; a failed listing makes it unknown again and is retried
// with backoff; an empty listing where members were known is confirmed by a second listing
// before it is believed.
//
// Threading: ...Locked methods require the controller's lock; the tasks call the instance
// plugin without it; watch events arrive on the plugin client's threads and take the lock.
#ifndef INFRAKIT_SERVICES_GROUP_MEMBERSHIP_H_
#define INFRAKIT_SERVICES_GROUP_MEMBERSHIP_H_

#include <string>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/group/group_state.h"
#include "services/group/runtime.h"

namespace infrakit::services::group {

class Membership {
 public:
  explicit Membership(Runtime* rt) : rt_(rt) {}

  // Starts a listing (a new watch, or a Describe when polling) unless one is under way.
  void StartListingLocked(Group* g);
  // The resync: lists again when there is no live watch (polling, or a watch that ended and is
  // not being retried already), and forgets destroyed and vanished instances older than the
  // listing grace.
  void ResyncLocked(Group* g);

  // A member that vanished (not destroyed by us) may be the instance of a Provision still
  // under way: remembers it for that Provision's return.
  void NoteVanishedLocked(Group* g, const std::string& id);

  // Called by the watch's sink (on the plugin client's thread).
  void OnWatchEvent(const std::string& id, int64_t uid, int64_t gen,
                    const iv1::WatchResponse& event);
  void OnWatchDone(const std::string& id, int64_t uid, int64_t gen, const absl::Status& status);

 private:
  class Sink;

  void WatchTask(const std::string& id, int64_t uid, int64_t gen);
  void PollTask(const std::string& id, int64_t uid, int64_t gen);
  void ListingFailedLocked(Group* g, const absl::Status& status);
  // Replaces the members with a complete listing begun at `started`.
  void ApplyListingLocked(Group* g, absl::btree_map<std::string, iv1::Description> listing,
                          absl::Time started);
  void UpsertLocked(Group* g, const iv1::Description& d);
  void RemoveLocked(Group* g, const std::string& id);
  // Fills `m` from `d`; a new member takes its creation's slot (if a creation made it) and is
  // queued for a health check once announced.
  void FillMemberLocked(Group* g, Member* m, const iv1::Description& d, bool is_new);
  // A member disappeared without our Destroy: says so and settles its DestroyInstances request.
  void VanishedLocked(Group* g, const std::string& id, const Member& m);

  Runtime* const rt_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_MEMBERSHIP_H_
