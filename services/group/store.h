// Persistence of group records (spec + update progress) for the group controller.
#ifndef INFRAKIT_SERVICES_GROUP_STORE_H_
#define INFRAKIT_SERVICES_GROUP_STORE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/group/state.pb.h"

namespace infrakit::services::group {

// Where the controller keeps what must survive a restart. One record per group, keyed by
// record.spec().id().
//
// Threading: implementations are thread-safe. The controller never writes the same group from
// two threads at once, but may write different groups concurrently. Calls may block (disk I/O);
// the controller never calls them while holding its lock.
class Store {
 public:
  virtual ~Store() = default;

  // Durably saves `record`, replacing the group's earlier record: once Put returns OK the
  // record survives a crash, and a crash during Put leaves the earlier record intact.
  // INVALID_ARGUMENT when the group ID cannot name a record; other codes for I/O failures,
  // with a message naming the file.
  virtual absl::Status Put(const GroupRecord& record) = 0;

  // Forgets group `id`. OK when there was no record. Errors as for Put.
  virtual absl::Status Delete(absl::string_view id) = 0;

  // Every record, ordered by group ID. A record that cannot be read or parsed fails the whole
  // call (never read as absent or empty) with a message naming it: DATA_LOSS for corrupt
  // content, FAILED_PRECONDITION for a record of a newer format, the I/O error's code otherwise.
  virtual absl::StatusOr<std::vector<GroupRecord>> LoadAll() = 0;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_STORE_H_
