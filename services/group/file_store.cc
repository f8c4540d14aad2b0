#include "services/group/file_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/atomic_file.h"
#include "google/protobuf/util/json_util.h"

namespace infrakit::services::group {
namespace {

constexpr absl::string_view kSuffix = ".json";
constexpr absl::string_view kJournalSuffix = ".journal";
constexpr int kFormatVersion = 1;
// A journal has room for this many entries of the record's size when it was made (and
// FileStore::Open's minimum at least), rounded up to whole pages.
constexpr size_t kJournalEntries = 16;
constexpr size_t kJournalRound = 4096;

absl::Status Errno(int err, absl::string_view what, absl::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

// What an operator does about a record the service refuses to start with.
std::string WhatToDo(const std::string& dir) {
  return absl::StrCat("; restore it from a backup, or move it out of ", dir,
                      " to forget the group (its instances are left as they are), then start "
                      "the group service again");
}

// A record that cannot be used: DATA_LOSS naming the file (`kind`: "state file" or "state
// journal"), why, and what to do.
absl::Status Corrupt(absl::string_view kind, const std::string& path, const std::string& dir,
                     absl::string_view why) {
  return absl::DataLossError(absl::StrCat(kind, " ", path, " is corrupt: ", why, WhatToDo(dir)));
}

// What every decoded record must be, from a snapshot or a journal (`kind` and `path` name the
// file): of a format this service understands, and group `expected_id`'s.
absl::Status CheckRecord(const GroupRecord& record, absl::string_view kind, const std::string& path,
                         const std::string& dir, const std::string& expected_id) {
  if (record.format_version() < 0) {
    return Corrupt(kind, path, dir,
                   absl::StrCat("its format version ", record.format_version(), " is negative"));
  }
  // Records written before format_version existed read as 0: the same format as 1.
  if (record.format_version() > kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(kind, " ", path, " has format version ", record.format_version(),
                     ", newer than this group service understands (", kFormatVersion,
                     "): run the newer infrakit-group that wrote it, or move the group's files (",
                     expected_id, ".json and its journals) out of ", dir,
                     " to forget the group (its instances are left as they are)"));
  }
  if (record.spec().id() != expected_id) {
    return Corrupt(kind, path, dir,
                   absl::StrCat("it holds group \"", record.spec().id(), "\", expected \"",
                                expected_id, "\""));
  }
  return absl::OkStatus();
}

// A group ID must be usable as a file name as is: the group spec rules already allow only
// [A-Za-z0-9._-] not starting with '.', this refuses anything that could escape the directory
// or be taken for a temporary.
absl::Status CheckId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("spec.id: must not be empty");
  if (id.front() == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.id: must not start with '.', got \"", id, "\""));
  }
  for (char c : id) {
    if (c == '/' || c == '\0') {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.id: must not contain '/' or NUL, got \"", id, "\""));
    }
  }
  return absl::OkStatus();
}

// A fresh journal nonce; never 0 (no journal).
uint64_t NewNonce() {
  uint64_t nonce = 0;
  while (nonce == 0) {
    if (getrandom(&nonce, sizeof(nonce), 0) != static_cast<ssize_t>(sizeof(nonce))) {
      // No entropy to be had: the creation of the journal (O_EXCL) still keeps it from meeting
      // another of the group's.
      nonce = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^ getpid();
    }
  }
  return nonce;
}

absl::Status MakeDirs(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("state directory ", dir, " exists and is not a directory"));
    }
    return absl::OkStatus();
  }
  if (errno != ENOENT) return Errno(errno, "cannot stat state directory", dir);
  std::string::size_type slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    absl::Status parent = MakeDirs(dir.substr(0, slash));
    if (!parent.ok()) return parent;
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Errno(errno, "cannot create state directory", dir);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileStore>> FileStore::Open(const std::string& dir,
                                                           common::FileOps* ops,
                                                           size_t min_journal_bytes) {
  if (dir.empty()) return absl::InvalidArgumentError("state directory: must not be empty");
  std::string clean = dir;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  absl::Status made = MakeDirs(clean);
  if (!made.ok()) return made;
  return std::unique_ptr<FileStore>(new FileStore(clean, ops, min_journal_bytes));
}

std::string FileStore::PathOf(absl::string_view id) const {
  return absl::StrCat(dir_, "/", id, kSuffix);
}

std::string FileStore::JournalPathOf(absl::string_view id, uint64_t nonce) const {
  return absl::StrFormat("%s/%s.%016x%s", dir_, id, nonce, kJournalSuffix);
}

absl::Status FileStore::Put(const GroupRecord& record) {
  const std::string& id = record.spec().id();
  if (absl::Status ok = CheckId(id); !ok.ok()) return ok;

  GroupRecord copy = record;
  copy.set_format_version(kFormatVersion);
  copy.clear_journal_nonce();
  std::string payload;
  if (!copy.SerializeToString(&payload)) {
    return absl::InternalError(absl::StrCat("cannot encode the record of group ", id));
  }
  std::unique_ptr<RecordJournal> journal;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = journals_.find(id); it != journals_.end()) {
      journal = std::move(it->second);
      journals_.erase(it);
    }
  }
  if (journal != nullptr && journal->Fits(payload.size())) {
    // After an error the journal is dropped: the next Put compacts.
    if (absl::Status st = journal->Append(payload); !st.ok()) return st;
    absl::MutexLock lock(&mu_);
    journals_[id] = std::move(journal);
    return absl::OkStatus();
  }
  journal.reset();
  return Compact(std::move(copy), payload.size());
}

absl::Status FileStore::Compact(GroupRecord record, size_t payload_size) {
  const std::string id = record.spec().id();
  size_t capacity =
      std::max(min_journal_bytes_, kJournalEntries * RecordJournal::EntrySize(payload_size));
  capacity = (capacity + kJournalRound - 1) / kJournalRound * kJournalRound;
  const uint64_t nonce = NewNonce();
  absl::StatusOr<std::unique_ptr<RecordJournal>> journal =
      RecordJournal::Create(JournalPathOf(id, nonce), nonce, capacity, ops_);
  if (!journal.ok()) return journal.status();

  record.set_journal_nonce(nonce);
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  absl::Status st;
  if (auto encoded = google::protobuf::util::MessageToJsonString(record, &json, options);
      !encoded.ok()) {
    st = absl::InternalError(
        absl::StrCat("cannot encode the record of group ", id, ": ", encoded.ToString()));
  } else {
    st = common::WriteFileAtomically(PathOf(id), json, 0600, /*sync_directory=*/true, *ops_);
  }
  // The snapshot's directory fsync made the new journal's name durable too.
  if (st.ok()) st = RemoveJournals(id, nonce);
  if (!st.ok()) {
    // The snapshot may name the new journal or not: either way its entries are not needed (it
    // has none), and a journal that is missing reads as empty.
    journal->reset();
    ops_->Unlink(JournalPathOf(id, nonce).c_str());
    return st;
  }
  absl::MutexLock lock(&mu_);
  journals_[id] = *std::move(journal);
  return absl::OkStatus();
}

absl::Status FileStore::RemoveJournals(absl::string_view id, uint64_t keep) {
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) return Errno(errno, "cannot list state directory", dir_);
  const std::string prefix = absl::StrCat(id, ".");
  std::vector<std::string> doomed;
  errno = 0;
  while (struct dirent* e = readdir(d)) {
    absl::string_view name = e->d_name;
    if (!absl::ConsumePrefix(&name, prefix) || !absl::ConsumeSuffix(&name, kJournalSuffix)) {
      continue;
    }
    uint64_t nonce = 0;
    if (name.size() != 16 || !absl::SimpleHexAtoi(name, &nonce) || nonce == keep) continue;
    doomed.push_back(JournalPathOf(id, nonce));
  }
  const int err = errno;
  closedir(d);
  if (err != 0) return Errno(err, "cannot list state directory", dir_);
  for (const std::string& path : doomed) {
    if (ops_->Unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Errno(errno, "cannot remove old state journal", path);
    }
  }
  return absl::OkStatus();
}

absl::Status FileStore::Delete(absl::string_view id) {
  if (absl::Status ok = CheckId(id); !ok.ok()) return ok;
  {
    absl::MutexLock lock(&mu_);
    journals_.erase(std::string(id));
  }
  const std::string path = PathOf(id);
  if (ops_->Unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Errno(errno, "cannot remove state file", path);
  }
  if (absl::Status st = common::SyncDirectory(dir_, *ops_); !st.ok()) return st;
  // Without the snapshot its journals are read by no one: removed for tidiness.
  return RemoveJournals(id, 0);
}

absl::StatusOr<std::vector<GroupRecord>> FileStore::LoadAll() {
  {
    // What is read is what the next Puts build on: each starts from a snapshot of its own.
    absl::MutexLock lock(&mu_);
    journals_.clear();
  }
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) return Errno(errno, "cannot list state directory", dir_);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = readdir(d)) {
    absl::string_view name = e->d_name;
    // Hidden names are ours (temporaries of an interrupted Put) or not ours: never records.
    if (name.empty() || name.front() == '.') continue;
    if (!absl::EndsWith(name, kSuffix) || name.size() == kSuffix.size()) continue;
    names.emplace_back(name);
  }
  int err = errno;
  closedir(d);
  if (err != 0) return Errno(err, "cannot list state directory", dir_);
  std::sort(names.begin(), names.end());

  std::vector<GroupRecord> records;
  records.reserve(names.size());
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(dir_, "/", name);
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return Errno(errno, "cannot stat state file", path);
    if (!S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("state file ", path, " is not a regular file", WhatToDo(dir_)));
    }
    absl::StatusOr<GroupRecord> record = Decode(path, name.substr(0, name.size() - kSuffix.size()));
    if (record.ok()) record = Replay(*std::move(record));
    if (!record.ok()) return record.status();
    records.push_back(*std::move(record));
  }
  return records;
}

absl::StatusOr<GroupRecord> FileStore::Replay(GroupRecord snapshot) const {
  const uint64_t nonce = snapshot.journal_nonce();
  snapshot.clear_journal_nonce();
  if (nonce == 0) return snapshot;
  const std::string id = snapshot.spec().id();
  const std::string path = JournalPathOf(id, nonce);
  absl::StatusOr<std::optional<std::string>> latest = RecordJournal::ReadLatest(path, nonce);
  if (!latest.ok()) return latest.status();
  if (!latest->has_value()) return snapshot;
  GroupRecord record;
  if (!record.ParseFromString(**latest)) {
    return Corrupt("state journal", path, dir_, "its latest entry is not a group record");
  }
  if (absl::Status st = CheckRecord(record, "state journal", path, dir_, id); !st.ok()) return st;
  return record;
}

absl::StatusOr<GroupRecord> FileStore::Decode(const std::string& path,
                                              const std::string& expected_id) const {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) return text.status();
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
    return Corrupt("state file", path, dir_, "it is empty");
  }
  GroupRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto parsed = google::protobuf::util::JsonStringToMessage(*text, &record, options);
      !parsed.ok()) {
    return Corrupt(
        "state file", path, dir_,
        absl::StrCat("not a group record (truncated or edited?): ", parsed.message().ToString()));
  }
  if (absl::Status st = CheckRecord(record, "state file", path, dir_, expected_id); !st.ok()) {
    return st;
  }
  return record;
}

}  // namespace infrakit::services::group
