// The Store on disk: one JSON file per group in a state directory.
#ifndef INFRAKIT_SERVICES_GROUP_FILE_STORE_H_
#define INFRAKIT_SERVICES_GROUP_FILE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/file_ops.h"
#include "services/group/state.pb.h"
#include "services/group/store.h"

namespace infrakit::services::group {

// Keeps each group's record in `<dir>/<id>.json` (pretty JSON of GroupRecord, readable by a
// human). Writes are crash-safe (common::WriteFileAtomically): the record goes to a hidden
// temporary file in the same directory, which is fsync'ed, renamed over `<id>.json`, and the
// directory is fsync'ed, so a crash leaves either the old or the new record. Hidden files (names
// starting with '.', e.g. temporaries left by a crash) are ignored by LoadAll. A record that is
// empty, truncated, corrupt or of a newer format fails LoadAll with a message naming the file
// and saying what to do (the service then refuses to start). Records without a format_version
// (written before it existed) are read as format 1.
//
// Thread-safe: every call works on its own files (temporaries have unique names).
class FileStore : public Store {
 public:
  // Opens (creating it, mode 0700, with missing parents) the state directory `dir`.
  // Errors: INVALID_ARGUMENT for an empty path, FAILED_PRECONDITION when `dir` is not a
  // directory, the I/O error's code otherwise; each message names the path. Writes and removals
  // go through `ops` (not owned, must outlive the store; tests inject faults there).
  static absl::StatusOr<std::unique_ptr<FileStore>> Open(
      const std::string& dir, common::FileOps* ops = &common::RealFileOps());

  absl::Status Put(const GroupRecord& record) override;
  absl::Status Delete(absl::string_view id) override;
  absl::StatusOr<std::vector<GroupRecord>> LoadAll() override;

  // The path of group `id`'s record.
  std::string PathOf(absl::string_view id) const;

  const std::string& dir() const { return dir_; }

 private:
  FileStore(std::string dir, common::FileOps* ops) : dir_(std::move(dir)), ops_(ops) {}

  // Reads and checks the record at `path`, which must be group `expected_id`'s (see LoadAll).
  absl::StatusOr<GroupRecord> Decode(const std::string& path, const std::string& expected_id) const;

  const std::string dir_;
  common::FileOps* const ops_;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_FILE_STORE_H_
