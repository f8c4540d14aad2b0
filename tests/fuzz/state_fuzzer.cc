// Fuzzes the group store's record decoding (services/group/file_store): the bytes are the
// contents of group "g"'s state file, read back by FileStore::LoadAll; or, after a leading
// "journal:", of the journal that a valid state file of "g" names (services/group/record_journal).
// Invariants: a record that loads is stored again (Put) and loads again to the same record; a
// failure names the file.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/file_ops.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/group/file_store.h"
#include "services/group/state.pb.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using infrakit::services::group::FileStore;
using infrakit::services::group::GroupRecord;
using infrakit::tests::fuzz::Fail;

// The real file operations without the syncs, which would bound the run to a few hundred
// executions a second (a crash of the fuzzer itself needs no durable state).
class NoSyncFileOps : public infrakit::common::FileOps {
 public:
  int Open(const char* path, int flags, mode_t mode) override {
    return real_.Open(path, flags, mode);
  }
  int Mkostemp(char* path_template, int flags) override {
    return real_.Mkostemp(path_template, flags);
  }
  ssize_t Write(int fd, const void* data, size_t size) override {
    return real_.Write(fd, data, size);
  }
  ssize_t Pwrite(int fd, const void* data, size_t size, off_t offset) override {
    return real_.Pwrite(fd, data, size, offset);
  }
  int Fchmod(int fd, mode_t mode) override { return real_.Fchmod(fd, mode); }
  int Fsync(int fd) override { return 0; }
  int Fdatasync(int fd) override { return 0; }
  int Syncfs(int fd) override { return 0; }
  int Close(int fd) override { return real_.Close(fd); }
  int Rename(const char* from, const char* to) override { return real_.Rename(from, to); }
  int Linkat(int from_dir, const char* from, int to_dir, const char* to, int flags) override {
    return real_.Linkat(from_dir, from, to_dir, to, flags);
  }
  int Unlink(const char* path) override { return real_.Unlink(path); }
  int Truncate(const char* path, off_t length) override { return real_.Truncate(path, length); }

 private:
  infrakit::common::FileOps& real_ = infrakit::common::RealFileOps();
};

// One state directory for the whole run, holding at most g.json.
FileStore& Store() {
  static FileStore* store = [] {
    std::string dir = "/tmp/infrakit-state-fuzzer.XXXXXX";
    if (const char* tmp = getenv("TEST_TMPDIR")) dir = std::string(tmp) + "/state.XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) Fail("mkdtemp", dir);
    // A small journal: each input compacts (it is a new snapshot), and 1 MiB of zeros per
    // input would be most of the fuzzer's time.
    absl::StatusOr<std::unique_ptr<FileStore>> opened =
        FileStore::Open(dir, new NoSyncFileOps, /*min_journal_bytes=*/4096);
    if (!opened.ok()) Fail("FileStore::Open", opened.status().ToString());
    return opened->release();
  }();
  return *store;
}

void WriteAll(const std::string& path, const uint8_t* data, size_t size) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) Fail("open", path);
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n <= 0) Fail("write", path);
    data += n;
    size -= static_cast<size_t>(n);
  }
  close(fd);
}

constexpr char kJournalMode[] = "journal:";
constexpr uint64_t kJournalNonce = 1;
constexpr char kSnapshotNamingTheJournal[] =
    R"({"format_version": 1, "spec": {"id": "g"}, "journal_nonce": "1"})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FileStore& store = Store();
  std::string path = store.PathOf("g");
  const size_t mode = sizeof(kJournalMode) - 1;
  if (size >= mode && memcmp(data, kJournalMode, mode) == 0) {
    WriteAll(path, reinterpret_cast<const uint8_t*>(kSnapshotNamingTheJournal),
             sizeof(kSnapshotNamingTheJournal) - 1);
    path = store.JournalPathOf("g", kJournalNonce);
    WriteAll(path, data + mode, size - mode);
  } else {
    WriteAll(path, data, size);
  }
  absl::StatusOr<std::vector<GroupRecord>> loaded = store.LoadAll();
  if (!loaded.ok()) {
    if (loaded.status().message().find(path) == absl::string_view::npos) {
      Fail("a refused state file's error does not name it", loaded.status().ToString());
    }
    return 0;
  }
  if (loaded->size() != 1) Fail("LoadAll of one file", std::to_string(loaded->size()));
  GroupRecord record = (*loaded)[0];
  if (absl::Status put = store.Put(record); !put.ok())
    Fail("Put of a loaded record", put.ToString());
  absl::StatusOr<std::vector<GroupRecord>> again = store.LoadAll();
  if (!again.ok()) Fail("a stored record does not load", again.status().ToString());
  // A record without a format version (written before it existed) is stored with the current one.
  if (again->size() == 1 && record.format_version() == 0) {
    record.set_format_version((*again)[0].format_version());
  }
  if (again->size() != 1 ||
      !google::protobuf::util::MessageDifferencer::Equals(record, (*again)[0])) {
    Fail("load(put(x)) differs from x", record.DebugString());
  }
  return 0;
}
