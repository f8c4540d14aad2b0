// RecordJournal on real files: the newest whole entry is read back, a torn or foreign entry
// never is, and a full journal refuses an entry rather than overrun.
#include "services/group/record_journal.h"

#include <errno.h>
#include <sys/stat.h>

#include <memory>
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

// A journal at `path_` in a fresh directory, written through `ops_` (real calls until a test
// sets a fault).
class RecordJournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<RecordJournal> Make(size_t capacity = 64 << 10) {
    auto journal = RecordJournal::Create(path_, kNonce, capacity, &ops_);
    EXPECT_TRUE(journal.ok()) << journal.status();
    return journal.ok() ? *std::move(journal) : nullptr;
  }
  off_t SizeOnDisk() {
    struct stat st;
    return stat(path_.c_str(), &st) == 0 ? st.st_size : -1;
  }

  TempDir dir_;
  const std::string path_ = dir_.path() + "/g.journal";
  FaultFileOps ops_;
};

TEST_F(RecordJournalTest, TheNewestEntryIsReadBack) {
  auto journal = Make();
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(SizeOnDisk(), 64 << 10) << "made at its full size";
  EXPECT_EQ(Latest(path_), std::nullopt) << "an empty journal has no entry";
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(journal->Append(absl::StrCat("version ", i)).ok());
    EXPECT_EQ(Latest(path_), absl::StrCat("version ", i));
  }
  EXPECT_EQ(SizeOnDisk(), 64 << 10) << "entries never grow the file";
  EXPECT_EQ(Latest(path_, kNonce + 1), std::nullopt) << "entries of another nonce are not read";
  EXPECT_EQ(Latest(dir_.path() + "/missing.journal"), std::nullopt);
}

TEST_F(RecordJournalTest, ATornEntryLeavesThePreviousOne) {
  auto journal = Make();
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->Append("old").ok());
  // The pwrite of the next entry dies half way.
  ops_.CrashAt(ops_.calls());
  EXPECT_FALSE(journal->Append(std::string(1000, 'n')).ok());
  EXPECT_EQ(Latest(path_), "old");
}

TEST_F(RecordJournalTest, AFailedFlushIsReported) {
  auto journal = Make();
  ASSERT_NE(journal, nullptr);
  ops_.FailAt(ops_.calls() + 1, EIO);  // the fdatasync after the pwrite
  const absl::Status st = journal->Append("new");
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(absl::StrContains(st.message(), path_)) << st;
}

TEST_F(RecordJournalTest, AFullJournalRefusesAnEntry) {
  auto journal = Make(2 * RecordJournal::EntrySize(100));
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->Fits(100));
  ASSERT_TRUE(journal->Append(std::string(100, 'a')).ok());
  ASSERT_TRUE(journal->Append(std::string(100, 'b')).ok());
  EXPECT_FALSE(journal->Fits(1));
  EXPECT_EQ(journal->Append("c").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Latest(path_), std::string(100, 'b'));
}

TEST_F(RecordJournalTest, CreateNeverReusesAFileAndLeavesNothingOnError) {
  ASSERT_NE(Make(4096), nullptr);
  auto again = RecordJournal::Create(path_, kNonce, 4096, &ops_);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();

  const std::string other = dir_.path() + "/h.journal";
  ops_.FailAt(ops_.calls() + 2, ENOSPC);  // open, pwrite of the zeros, fsync
  auto failed = RecordJournal::Create(other, kNonce, 4096, &ops_);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted) << failed.status();
  struct stat st;
  EXPECT_NE(stat(other.c_str(), &st), 0) << "a journal that could not be made is removed";
}

}  // namespace
}  // namespace infrakit::services::group
