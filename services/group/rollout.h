// Rolling updates as the group lives them: starting one (superseding a running one), following
// it to completion, pausing or rolling back when the planner's DecideRollout says it failed,
// stopping it (the group then keeps both configs' members until the next update), and telling
// the update's stream and the group's events as it goes. What to create and destroy at each
// step is Decide's (planner.h); whether the update is done or failed is DecideRollout's.
//
// Threading: every method requires the controller's lock.
#ifndef INFRAKIT_SERVICES_GROUP_ROLLOUT_H_
#define INFRAKIT_SERVICES_GROUP_ROLLOUT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/group/group_state.h"
#include "services/group/runtime.h"

namespace infrakit::services::group {

class Rollout {
 public:
  explicit Rollout(Runtime* rt) : rt_(rt) {}

  // FAILED_PRECONDITION when `spec` cannot be applied to `g` as an update: the group is being
  // destroyed, the instance plugin would change, or it would switch between a size and logical
  // IDs.
  absl::Status CheckUpdatableLocked(Group* g, const gv1::GroupSpec& spec);
  // Starts updating `g` to `spec` (config_sha `sha`, plan summary `summary`), its progress on
  // `stream`; a running or paused update is superseded.
  void BeginLocked(Group* g, const gv1::GroupSpec& spec, const std::string& sha,
                   const std::string& summary, std::shared_ptr<UpdateStream> stream);
  // Stops the running or paused update of `g`: FAILED_PRECONDITION when there is none.
  absl::Status StopLocked(Group* g);
  // After each pass of a rolling update: reports members newly ready, and completes, pauses or
  // rolls back the update as DecideRollout says.
  void TrackLocked(Group* g, absl::Time now);
  // After each pass of a stopped update: ends it once no member of another config is left.
  void EndStoppedLocked(Group* g);

 private:
  void FailLocked(Group* g, const std::string& reason);

  Runtime* const rt_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_ROLLOUT_H_
