// The Store on disk: one JSON file per group in a state directory.
#ifndef INFRAKIT_SERVICES_GROUP_FILE_STORE_H_
#define INFRAKIT_SERVICES_GROUP_FILE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/group/state.pb.h"
#include "services/group/store.h"

namespace infrakit::services::group {

// Keeps each group's record in `<dir>/<id>.json` (pretty JSON of GroupRecord, readable by a
// human). Writes are crash-safe (common::WriteFileAtomically): the record goes to a hidden
// temporary file in the same directory, which is fsync'ed, renamed over `<id>.json`, and the
// directory is fsync'ed, so a crash leaves either the old or the new record. Hidden files (names
// starting with '.', e.g. temporaries left by a crash) are ignored by LoadAll.
//
// Thread-safe: every call works on its own files (temporaries have unique names).
class FileStore : public Store {
 public:
  // Opens (creating it, mode 0700, with missing parents) the state directory `dir`.
  // Errors: INVALID_ARGUMENT for an empty path, FAILED_PRECONDITION when `dir` is not a
  // directory, the I/O error's code otherwise; each message names the path.
  static absl::StatusOr<std::unique_ptr<FileStore>> Open(const std::string& dir);

  absl::Status Put(const GroupRecord& record) override;
  absl::Status Delete(absl::string_view id) override;
  absl::StatusOr<std::vector<GroupRecord>> LoadAll() override;

  // The path of group `id`'s record.
  std::string PathOf(absl::string_view id) const;

  const std::string& dir() const { return dir_; }

 private:
  explicit FileStore(std::string dir) : dir_(std::move(dir)) {}

  const std::string dir_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_FILE_STORE_H_
