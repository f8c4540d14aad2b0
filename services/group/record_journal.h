// A group record's journal: a file of fixed size, zero-filled when it is made, to which each new
// version of the record is written as one framed entry after the last and flushed with
// fdatasync. Neither the file's size nor its blocks change afterwards, so a flush writes the
// entry's blocks and nothing else: one device flush, where a new file renamed over the record
// costs two (the file's and the directory's) plus its inode and directory blocks (measured in
// docs/benchmarks.md, "The group's record journal").
//
// Entry layout (integers little-endian):
//   magic "IKJ1" | nonce u64 | sequence u64 | payload length u32 | checksum u64 | payload
// where the checksum is the first 8 bytes of the SHA-1 of nonce, sequence, length and
// payload. Entries of one journal carry the nonce of the snapshot they continue (a record that
// names it, see FileStore) and sequence numbers 1, 2, 3... from the start of the file. A reader
// takes the entries in order up to the first that is not such an entry (zeros, a torn write,
// another nonce): the last one read is the newest version. A crash in the middle of a write thus
// leaves the previous version.
#ifndef INFRAKIT_SERVICES_GROUP_RECORD_JOURNAL_H_
#define INFRAKIT_SERVICES_GROUP_RECORD_JOURNAL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/file_ops.h"

namespace infrakit::services::group {

// One journal file, open for writing. Not thread-safe: one writer at a time (the FileStore
// never writes one group from two threads at once).
class RecordJournal {
 public:
  // The bytes an entry of `payload_size` bytes takes in the file.
  static size_t EntrySize(size_t payload_size);

  // Makes a new journal at `path` (which must not exist) of `capacity` bytes, all zeros and
  // flushed, for entries under `nonce`. Its name is made durable by the caller's next directory
  // fsync. Errors: the I/O error's code with a message naming the file; nothing is left behind
  // on error (the file is removed).
  static absl::StatusOr<std::unique_ptr<RecordJournal>> Create(const std::string& path,
                                                               uint64_t nonce, size_t capacity,
                                                               common::FileOps* ops);

  // The newest payload in the journal at `path` under `nonce`; nullopt when the file does not
  // exist or holds no entry under `nonce`. Errors: the I/O error's code with a message naming
  // the file.
  static absl::StatusOr<std::optional<std::string>> ReadLatest(const std::string& path,
                                                               uint64_t nonce);

  ~RecordJournal();
  RecordJournal(const RecordJournal&) = delete;
  RecordJournal& operator=(const RecordJournal&) = delete;

  // Whether an entry of `payload_size` bytes fits after the last one.
  bool Fits(size_t payload_size) const;

  // Writes `payload` as the next entry and flushes it; once it returns OK the entry survives a
  // crash. Errors: FAILED_PRECONDITION when it does not fit (see Fits); the I/O error's code
  // with a message naming the file. After an error the journal must not be written again (the
  // entry may be torn or half-flushed): the FileStore starts another.
  absl::Status Append(absl::string_view payload);

  const std::string& path() const { return path_; }
  uint64_t nonce() const { return nonce_; }

 private:
  RecordJournal(std::string path, int fd, uint64_t nonce, size_t capacity, common::FileOps* ops)
      : path_(std::move(path)), fd_(fd), nonce_(nonce), capacity_(capacity), ops_(ops) {}

  const std::string path_;
  const int fd_;
  const uint64_t nonce_;
  const size_t capacity_;
  common::FileOps* const ops_;
  // Where the next entry goes, and its sequence number.
  off_t end_ = 0;
  uint64_t next_sequence_ = 1;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_RECORD_JOURNAL_H_
