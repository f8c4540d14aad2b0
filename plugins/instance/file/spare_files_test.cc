#include "plugins/instance/file/spare_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/atomic_file.h"
#include "common/file_ops.h"
#include "common/testing/fault_file_ops.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::instance::file {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

ino_t InodeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

void WriteText(const std::string& path, const std::string& text) {
  ASSERT_TRUE(common::WriteFileAtomically(path, text, 0644, /*sync_directory=*/false).ok());
}

// The names in the pool that are spares (no dot).
std::vector<std::string> Spares(const std::string& pool) {
  std::vector<std::string> names;
  for (const std::string& name : testing::SortedNames(pool)) {
    if (name[0] != '.') names.push_back(name);
  }
  return names;
}

// Retire, then Settle what was retired: the plugin's Destroy.
int RetireAndSettle(SpareFiles& spares, const std::string& path) {
  std::string retired;
  const int error = spares.Retire(path, &retired);
  if (!retired.empty()) spares.Settle({retired});
  return error;
}

class SpareFilesTest : public ::testing::Test {
 protected:
  std::unique_ptr<SpareFiles> Open(size_t capacity) {
    absl::StatusOr<std::unique_ptr<SpareFiles>> spares =
        SpareFiles::Open(dir_.path(), capacity, &common::RealFileOps());
    EXPECT_TRUE(spares.ok()) << spares.status();
    return spares.ok() ? *std::move(spares) : nullptr;
  }
  std::string Pool() const { return dir_.Join(".spare"); }
  // Writes `n` instance files and retires (and settles) each, checking that each is gone.
  void RetireNewFiles(SpareFiles& spares, int n) {
    for (int i = 0; i < n; ++i) {
      const std::string path = dir_.Join(absl::StrCat("instance-", i));
      WriteText(path, "x");
      ASSERT_EQ(RetireAndSettle(spares, path), 0);
      EXPECT_FALSE(std::filesystem::exists(path));
    }
  }

  testing::TempDir dir_;
};

TEST_F(SpareFilesTest, RetireRemovesTheNameAndKeepsTheInodeEmptied) {
  std::unique_ptr<SpareFiles> spares = Open(8);
  ASSERT_NE(spares, nullptr);
  const std::string path = dir_.Join("instance-1");
  WriteText(path, "the destroyed instance's data");
  const ino_t inode = InodeOf(path);

  ASSERT_EQ(RetireAndSettle(*spares, path), 0);
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_THAT(Spares(Pool()), SizeIs(1));
  const std::string spare = absl::StrCat(Pool(), "/", Spares(Pool())[0]);
  EXPECT_EQ(InodeOf(spare), inode);
  EXPECT_EQ(std::filesystem::file_size(spare), 0u) << "a spare keeps no data";
  EXPECT_EQ(spares->size(), 1u);
}

// A retired file is claimable only once its removal is on disk (the instance directory
// fsynced), and it is emptied only then: a crash before cannot bring its name back emptied or
// holding another instance.
TEST_F(SpareFilesTest, ARetiredFileIsEmptiedAndClaimableOnlyAfterTheDirectoryIsSynced) {
  common::testing::FaultFileOps ops;
  absl::StatusOr<std::unique_ptr<SpareFiles>> opened = SpareFiles::Open(dir_.path(), 8, &ops);
  ASSERT_TRUE(opened.ok()) << opened.status();
  SpareFiles& spares = **opened;
  const std::string path = dir_.Join("instance-1");
  WriteText(path, "the destroyed instance's data");
  std::string retired;
  ASSERT_EQ(spares.Retire(path, &retired), 0);
  ASSERT_FALSE(retired.empty());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(spares.Claim(), std::nullopt) << "not settled yet";
  EXPECT_EQ(std::filesystem::file_size(absl::StrCat(Pool(), "/", retired)), 29u)
      << "not emptied before the directory is synced";

  const int before = ops.calls();
  spares.Settle({retired});
  const std::vector<std::string> log = ops.log();
  const std::vector<std::string> calls(log.begin() + before, log.end());
  ASSERT_GE(calls.size(), 3u);
  const auto fsync = std::find_if(calls.begin(), calls.end(), [](const std::string& c) {
    return absl::StrContains(c, "fsync");
  });
  const auto truncate = std::find_if(calls.begin(), calls.end(), [](const std::string& c) {
    return absl::StrContains(c, "truncate");
  });
  ASSERT_NE(fsync, calls.end()) << absl::StrJoin(calls, "\n");
  ASSERT_NE(truncate, calls.end()) << absl::StrJoin(calls, "\n");
  EXPECT_LT(fsync - calls.begin(), truncate - calls.begin()) << absl::StrJoin(calls, "\n");
  EXPECT_EQ(std::filesystem::file_size(absl::StrCat(Pool(), "/", retired)), 0u);
  EXPECT_TRUE(spares.Claim().has_value());
}

TEST_F(SpareFilesTest, AFailedDirectorySyncKeepsNoSpare) {
  common::testing::FaultFileOps ops;
  absl::StatusOr<std::unique_ptr<SpareFiles>> opened = SpareFiles::Open(dir_.path(), 8, &ops);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const std::string path = dir_.Join("instance-1");
  WriteText(path, "x");
  std::string retired;
  ASSERT_EQ((*opened)->Retire(path, &retired), 0);
  ops.FailAt(ops.calls() + 1, EIO);  // open of the directory, then its fsync
  (*opened)->Settle({retired});
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_THAT(Spares(Pool()), IsEmpty()) << "removed from the pool as unlink would have";
  EXPECT_EQ((*opened)->Claim(), std::nullopt);
  EXPECT_EQ((*opened)->size(), 0u);
}

TEST_F(SpareFilesTest, ARetiredFileIsClaimedWrittenAndLinkedWithItsInode) {
  std::unique_ptr<SpareFiles> spares = Open(8);
  ASSERT_NE(spares, nullptr);
  const std::string old_path = dir_.Join("instance-1");
  WriteText(old_path, "old");
  const ino_t inode = InodeOf(old_path);
  ASSERT_EQ(RetireAndSettle(*spares, old_path), 0);

  std::optional<std::string> claim = spares->Claim();
  ASSERT_TRUE(claim.has_value());
  EXPECT_THAT(std::filesystem::path(*claim).filename().string(), StartsWith(".claim-"));
  EXPECT_THAT(Spares(Pool()), IsEmpty());
  common::TempFileWriter writer(dir_.path(), {});
  absl::StatusOr<common::TempFile> temp = writer.WriteOver(*claim, "new");
  ASSERT_TRUE(temp.ok()) << temp.status();
  const std::string new_path = dir_.Join("instance-2");
  ASSERT_EQ(temp->Link(new_path), 0);
  temp->Discard();

  EXPECT_EQ(InodeOf(new_path), inode);
  EXPECT_EQ(*common::ReadFile(new_path), "new");
  EXPECT_THAT(testing::SortedNames(Pool()), IsEmpty()) << "the claim name is gone";
  EXPECT_EQ(spares->Claim(), std::nullopt);
}

TEST_F(SpareFilesTest, AFullPoolUnlinks) {
  std::unique_ptr<SpareFiles> spares = Open(2);
  ASSERT_NE(spares, nullptr);
  RetireNewFiles(*spares, 3);
  EXPECT_THAT(Spares(Pool()), SizeIs(2));
  EXPECT_EQ(spares->size(), 2u);
}

TEST_F(SpareFilesTest, ZeroCapacityKeepsNothing) {
  std::unique_ptr<SpareFiles> spares = Open(0);
  ASSERT_NE(spares, nullptr);
  const std::string path = dir_.Join("instance-1");
  WriteText(path, "x");
  ASSERT_EQ(RetireAndSettle(*spares, path), 0);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_THAT(testing::SortedNames(Pool()), IsEmpty());
}

TEST_F(SpareFilesTest, RetireOfAMissingFileIsEnoentAndKeepsNothing) {
  std::unique_ptr<SpareFiles> spares = Open(8);
  ASSERT_NE(spares, nullptr);
  EXPECT_EQ(RetireAndSettle(*spares, dir_.Join("instance-none")), ENOENT);
  EXPECT_EQ(spares->size(), 0u);
  EXPECT_EQ(spares->Claim(), std::nullopt);
}

TEST_F(SpareFilesTest, AFileWithAnotherNameKeepsItsDataAndIsNotKept) {
  std::unique_ptr<SpareFiles> spares = Open(8);
  ASSERT_NE(spares, nullptr);
  const std::string path = dir_.Join("instance-1");
  WriteText(path, "precious");
  const std::string backup = dir_.Join("backup-hard-link");
  ASSERT_EQ(link(path.c_str(), backup.c_str()), 0);

  ASSERT_EQ(RetireAndSettle(*spares, path), 0);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(*common::ReadFile(backup), "precious");
  EXPECT_THAT(testing::SortedNames(Pool()), IsEmpty());
  EXPECT_EQ(spares->Claim(), std::nullopt);
}

TEST_F(SpareFilesTest, AReopenedPoolTakesTheSparesLeftInIt) {
  {
    std::unique_ptr<SpareFiles> spares = Open(8);
    ASSERT_NE(spares, nullptr);
    RetireNewFiles(*spares, 3);
  }
  std::unique_ptr<SpareFiles> reopened = Open(2);  // takes 2 of the 3
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->size(), 2u);
  EXPECT_TRUE(reopened->Claim().has_value());
  EXPECT_TRUE(reopened->Claim().has_value());
  EXPECT_EQ(reopened->Claim(), std::nullopt);
}

// Two processes serving one directory (two pools opened on it): a spare goes to one claimant.
TEST_F(SpareFilesTest, TwoPoolsOnOneDirectoryNeverClaimTheSameFile) {
  std::unique_ptr<SpareFiles> first = Open(64);
  ASSERT_NE(first, nullptr);
  constexpr int kSpares = 40;
  RetireNewFiles(*first, kSpares);
  std::unique_ptr<SpareFiles> second = Open(64);  // sees the same 40
  ASSERT_NE(second, nullptr);
  ASSERT_EQ(second->size(), static_cast<size_t>(kSpares));

  std::vector<std::string> claimed[2];
  auto claim_all = [](SpareFiles* pool, std::vector<std::string>* out) {
    while (std::optional<std::string> claim = pool->Claim()) out->push_back(*claim);
  };
  std::thread a(claim_all, first.get(), &claimed[0]);
  std::thread b(claim_all, second.get(), &claimed[1]);
  a.join();
  b.join();

  std::set<ino_t> inodes;
  for (const auto& list : claimed) {
    for (const std::string& claim : list) inodes.insert(InodeOf(claim));
  }
  EXPECT_EQ(claimed[0].size() + claimed[1].size(), static_cast<size_t>(kSpares));
  EXPECT_THAT(inodes, SizeIs(kSpares)) << "no inode claimed twice";
  EXPECT_THAT(Spares(Pool()), IsEmpty());
}

TEST_F(SpareFilesTest, ARecreatedDirectoryGetsItsPoolBack) {
  std::unique_ptr<SpareFiles> spares = Open(8);
  ASSERT_NE(spares, nullptr);
  std::filesystem::remove_all(Pool());
  const std::string path = dir_.Join("instance-1");
  WriteText(path, "x");
  EXPECT_EQ(RetireAndSettle(*spares, path), 0) << "unlinked when the pool is gone";
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_directory(Pool()));
  WriteText(path, "y");
  EXPECT_EQ(RetireAndSettle(*spares, path), 0);
  EXPECT_THAT(Spares(Pool()), SizeIs(1));
}

TEST_F(SpareFilesTest, APoolThatIsAFileIsRefusedByName) {
  WriteText(Pool(), "not a directory");
  absl::StatusOr<std::unique_ptr<SpareFiles>> spares =
      SpareFiles::Open(dir_.path(), 8, &common::RealFileOps());
  ASSERT_FALSE(spares.ok());
  EXPECT_EQ(spares.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(spares.status().message(), Pool())) << spares.status();
}

TEST_F(SpareFilesTest, AClaimLeftByADeadProcessIsRemovedOnceStale) {
  ASSERT_EQ(mkdir(Pool().c_str(), 0755), 0);
  const std::string claim = absl::StrCat(Pool(), "/.claim-1-00000000-1");
  WriteText(claim, "being written by a live process, or left by a dead one");
  std::unique_ptr<SpareFiles> spares = Open(8);
  ASSERT_NE(spares, nullptr);
  EXPECT_TRUE(std::filesystem::exists(claim)) << "a recent claim may be a live writer's";
  EXPECT_EQ(spares->Claim(), std::nullopt) << "a claim is never a spare";

  // Reopened with every claim counted as stale: it is removed; a spare beside it stays.
  WriteText(absl::StrCat(Pool(), "/1-1-00000000"), "");
  absl::StatusOr<std::unique_ptr<SpareFiles>> later =
      SpareFiles::Open(dir_.path(), 8, &common::RealFileOps(), absl::ZeroDuration());
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_FALSE(std::filesystem::exists(claim));
  EXPECT_EQ((*later)->size(), 1u);
}

}  // namespace
}  // namespace infrakit::plugins::instance::file
