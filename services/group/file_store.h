// The Store on disk: one JSON file per group in a state directory.
#ifndef INFRAKIT_SERVICES_GROUP_FILE_STORE_H_
#define INFRAKIT_SERVICES_GROUP_FILE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/file_ops.h"
#include "services/group/record_journal.h"
#include "services/group/state.pb.h"
#include "services/group/store.h"

namespace infrakit::services::group {

// Keeps each group's record as a snapshot, `<dir>/<id>.json` (pretty JSON of GroupRecord,
// readable by a human), and a journal of its newer versions, `<dir>/<id>.<nonce>.journal`
// (RecordJournal: one framed binary entry per Put, each flushed with a single fdatasync).
//
// A Put appends to the group's journal when this store has one open for it with room left;
// otherwise (the first Put of a group since the store was opened, a full journal, an earlier
// error) it compacts: it makes a new, empty journal under a fresh nonce, then writes the record
// as the snapshot naming that nonce (common::WriteFileAtomically: a hidden temporary file,
// fsync'ed, renamed over `<id>.json`, the directory fsync'ed), then removes the group's older
// journals. A crash at any point leaves the old record or the new one: until the new snapshot
// is in place the old snapshot and its journal are untouched, and a torn journal entry is not
// read. So `<id>.json` may be older than the group's state; `infrakitctl group inspect` shows
// the latest.
//
// The store expects to be the directory's only writer (the group service locks it): LoadAll
// closes the store's journals, so that the next Put of each group compacts onto what was read.
// Hidden files (names starting with '.', e.g. temporaries left by a crash) are ignored by
// LoadAll, as is a journal no snapshot names. A snapshot that is empty, truncated, corrupt or of
// a newer format, or a journal entry that is whole but not a record of the group, fails LoadAll
// with a message naming the file and saying what to do (the service then refuses to start).
// Records without a format_version (written before it existed) are read as format 1.
//
// Thread-safe: calls for different groups may run at once (the controller never writes one
// group from two threads at once).
class FileStore : public Store {
 public:
  // Opens (creating it, mode 0700, with missing parents) the state directory `dir`.
  // Errors: INVALID_ARGUMENT for an empty path, FAILED_PRECONDITION when `dir` is not a
  // directory, the I/O error's code otherwise; each message names the path. Writes and removals
  // go through `ops` (not owned, must outlive the store; tests inject faults there). A new
  // journal takes `min_journal_bytes` at least (room for 16 records at least): made once per
  // compaction, so the fuzzer, which compacts at every input, uses a small one.
  static absl::StatusOr<std::unique_ptr<FileStore>> Open(
      const std::string& dir, common::FileOps* ops = &common::RealFileOps(),
      size_t min_journal_bytes = kDefaultJournalBytes);

  static constexpr size_t kDefaultJournalBytes = 1 << 20;

  absl::Status Put(const GroupRecord& record) override;
  absl::Status Delete(absl::string_view id) override;
  absl::StatusOr<std::vector<GroupRecord>> LoadAll() override;

  // The path of group `id`'s snapshot.
  std::string PathOf(absl::string_view id) const;
  // The path of group `id`'s journal under `nonce`.
  std::string JournalPathOf(absl::string_view id, uint64_t nonce) const;

  const std::string& dir() const { return dir_; }

 private:
  FileStore(std::string dir, common::FileOps* ops, size_t min_journal_bytes)
      : dir_(std::move(dir)), ops_(ops), min_journal_bytes_(min_journal_bytes) {}

  // Reads and checks the record at `path`, which must be group `expected_id`'s (see LoadAll).
  absl::StatusOr<GroupRecord> Decode(const std::string& path, const std::string& expected_id) const;
  // `snapshot` brought up to date from its journal, checked as Decode checks a snapshot.
  absl::StatusOr<GroupRecord> Replay(GroupRecord snapshot) const;
  // Writes `record` as a new snapshot with a new journal of room for entries of
  // `payload_size` bytes, and removes the group's other journals (see the class comment).
  absl::Status Compact(GroupRecord record, size_t payload_size);
  // Removes group `id`'s journals other than the one under `keep` (0: all of them).
  absl::Status RemoveJournals(absl::string_view id, uint64_t keep);

  const std::string dir_;
  common::FileOps* const ops_;
  const size_t min_journal_bytes_;
  // The journal each group's next Put appends to, taken out while a Put writes it.
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<RecordJournal>> journals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_FILE_STORE_H_
