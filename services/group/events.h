// What a group says about itself: its status (ListGroups, InspectGroup, every update message),
// its event stream (StreamGroupEvents), the progress stream of its running update (UpdateGroup),
// and the end of all of them when the group goes.
//
// Threading: every method requires the controller's lock (runtime.h); streams deliver on the
// executor, never under it.
#ifndef INFRAKIT_SERVICES_GROUP_EVENTS_H_
#define INFRAKIT_SERVICES_GROUP_EVENTS_H_

#include <string>

#include "absl/status/status.h"
#include "services/group/group_state.h"
#include "services/group/runtime.h"

namespace infrakit::services::group {

class Events {
 public:
  explicit Events(Runtime* rt) : rt_(rt) {}

  // The group's status: counts, whether it is updating / paused / stopped / converged, the
  // plugin it waits for and its latest error (GroupStatusOf: the members touched since the
  // last call are synced first, then O(1)).
  gv1::GroupStatus StatusLocked(Group* g);

  // Sends an event to the group's event streams (and logs it at VLOG 1).
  void EmitLocked(Group* g, gv1::GroupEventType type, const std::string& instance,
                  const std::string& message);
  // An error: logged, kept as the group's last_error, and sent as an ERROR event.
  void ErrorLocked(Group* g, const std::string& instance, const std::string& message);

  // A message on the running update's stream (if it has one). PROGRESS steps are gathered and
  // sent together with counts computed once (FlushProgressLocked); any other phase sends the
  // gathered steps first.
  void ProgressLocked(Group* g, gv1::UpdatePhase phase, const std::string& message);
  void FlushProgressLocked(Group* g);
  // Sends the final `phase` and ends the update's stream.
  void EndUpdateStreamLocked(Group* g, gv1::UpdatePhase phase, const std::string& message);
  // Members on the target config and ready, never fewer than already reported by this update.
  int64_t UpdatedCountLocked(Group* g);

  // Ends every stream and fails every waiter of a group that goes: OK `end` (unwatched,
  // destroyed) ends an update STOPPED with `why` and fails waiters ABORTED; another status
  // (shutdown) is passed to all of them.
  void EndAllLocked(Group* g, const absl::Status& end, const std::string& why);

 private:
  Runtime* const rt_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_EVENTS_H_
