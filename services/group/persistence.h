// Keeps each group's record in the Store: the spec, the update in progress, the reserved
// sequence numbers and whether it is being destroyed. Changes mark the group dirty and one
// write task per group carries the latest state (writes coalesce); a failed write is reported
// and retried with backoff.
//
// Threading: ...Locked methods require the controller's lock; Flush and WriteTask take it
// themselves and call the Store without it, serialised per group by its Writer.
#ifndef INFRAKIT_SERVICES_GROUP_PERSISTENCE_H_
#define INFRAKIT_SERVICES_GROUP_PERSISTENCE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "services/group/group_state.h"
#include "services/group/runtime.h"

namespace infrakit::services::group {

class Persistence {
 public:
  explicit Persistence(Runtime* rt) : rt_(rt) {}

  // What the Store keeps of `g`.
  GroupRecord RecordLocked(Group* g);
  // The group changed: a write will follow (one task per group at a time).
  void MarkDirtyLocked(Group* g);
  // Posts a write when a change is not written yet and none is pending (the resync's retry).
  void WriteIfDirtyLocked(Group* g);
  // Writes the group's latest state now unless written already; blocks on the Store. Returns
  // the Store's error (also reported in the group's status and retried with backoff).
  absl::Status Flush(const std::string& id, int64_t uid, std::shared_ptr<Writer> writer);
  // The next Prepare sequence number of `g`; reserves (and persists) a block of them ahead, so
  // that not every creation writes state and a restarted service never reuses one.
  int64_t NextSequenceLocked(Group* g);

 private:
  void WriteTask(const std::string& id, int64_t uid);

  Runtime* const rt_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_PERSISTENCE_H_
