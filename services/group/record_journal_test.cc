// RecordJournal on real files: the newest whole entry is read back, a torn or foreign entry
// never is, and a full journal refuses an entry rather than overrun.
#include "services/group/record_journal.h"

#include <errno.h>
#include <sys/stat.h>

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/fault_file_ops.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::services::group {
namespace {

using ::infrakit::common::testing::FaultFileOps;
using ::infrakit::testing::TempDir;

constexpr uint64_t kNonce = 0x1234abcd5678ef01;

std::optional<std::string> Latest(const std::string& path, uint64_t nonce = kNonce) {
  auto latest = RecordJournal::ReadLatest(path, nonce);
  EXPECT_TRUE(latest.ok()) << latest.status();
  return latest.ok() ? *latest : std::nullopt;
}

TEST(RecordJournalTest, TheNewestEntryIsReadBack) {
  TempDir dir;
  const std::string path = dir.path() + "/g.journal";
  auto journal = RecordJournal::Create(path, kNonce, 64 << 10, &common::RealFileOps());
  ASSERT_TRUE(journal.ok()) << journal.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 64 << 10) << "made at its full size";
  EXPECT_EQ(Latest(path), std::nullopt) << "an empty journal has no entry";
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*journal)->Append(absl::StrCat("version ", i)).ok());
    EXPECT_EQ(Latest(path), absl::StrCat("version ", i));
  }
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 64 << 10) << "entries never grow the file";
  EXPECT_EQ(Latest(path, kNonce + 1), std::nullopt) << "entries of another nonce are not read";
  EXPECT_EQ(Latest(dir.path() + "/missing.journal"), std::nullopt);
}

TEST(RecordJournalTest, ATornEntryLeavesThePreviousOne) {
  TempDir dir;
  const std::string path = dir.path() + "/g.journal";
  FaultFileOps ops;
  auto journal = RecordJournal::Create(path, kNonce, 64 << 10, &ops);
  ASSERT_TRUE(journal.ok()) << journal.status();
  ASSERT_TRUE((*journal)->Append("old").ok());
  // The pwrite of the next entry dies half way.
  ops.CrashAt(ops.calls());
  EXPECT_FALSE((*journal)->Append(std::string(1000, 'n')).ok());
  EXPECT_EQ(Latest(path), "old");
}

TEST(RecordJournalTest, AFailedFlushIsReported) {
  TempDir dir;
  const std::string path = dir.path() + "/g.journal";
  FaultFileOps ops;
  auto journal = RecordJournal::Create(path, kNonce, 64 << 10, &ops);
  ASSERT_TRUE(journal.ok()) << journal.status();
  ops.FailAt(ops.calls() + 1, EIO);  // the fdatasync after the pwrite
  const absl::Status st = (*journal)->Append("new");
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(absl::StrContains(st.message(), path)) << st;
}

TEST(RecordJournalTest, AFullJournalRefusesAnEntry) {
  TempDir dir;
  const std::string path = dir.path() + "/g.journal";
  const size_t capacity = 2 * RecordJournal::EntrySize(100);
  auto journal = RecordJournal::Create(path, kNonce, capacity, &common::RealFileOps());
  ASSERT_TRUE(journal.ok()) << journal.status();
  ASSERT_TRUE((*journal)->Fits(100));
  ASSERT_TRUE((*journal)->Append(std::string(100, 'a')).ok());
  ASSERT_TRUE((*journal)->Append(std::string(100, 'b')).ok());
  EXPECT_FALSE((*journal)->Fits(1));
  EXPECT_EQ((*journal)->Append("c").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Latest(path), std::string(100, 'b'));
}

TEST(RecordJournalTest, CreateNeverReusesAFileAndLeavesNothingOnError) {
  TempDir dir;
  const std::string path = dir.path() + "/g.journal";
  ASSERT_TRUE(RecordJournal::Create(path, kNonce, 4096, &common::RealFileOps()).ok());
  auto again = RecordJournal::Create(path, kNonce, 4096, &common::RealFileOps());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();

  const std::string other = dir.path() + "/h.journal";
  FaultFileOps ops;
  ops.FailAt(2, ENOSPC);  // open, pwrite of the zeros, fsync
  auto failed = RecordJournal::Create(other, kNonce, 4096, &ops);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted) << failed.status();
  struct stat st;
  EXPECT_NE(stat(other.c_str(), &st), 0) << "a journal that could not be made is removed";
}

}  // namespace
}  // namespace infrakit::services::group
