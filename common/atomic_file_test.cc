#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::common {
namespace {

using ::infrakit::testing::SortedNames;
using ::infrakit::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

bool HasUnnamedFiles(const std::string& dir) {
  const int fd = open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  close(fd);
  return true;
}

TEST(TempFileWriterTest, UnnamedFilesHaveNoNameUntilLinkedAndTheModeAsked) {
  TempDir scratch;
  const std::string dir = scratch.path();
  if (!HasUnnamedFiles(dir)) GTEST_SKIP() << dir << " has no O_TMPFILE";
  TempFileWriter writer(dir, TempFileWriter::Options());
  ASSERT_TRUE(writer.unnamed());
  absl::StatusOr<TempFile> temp = writer.Write("hello");
  ASSERT_TRUE(temp.ok()) << temp.status();
  EXPECT_TRUE(temp->unnamed());
  EXPECT_TRUE(temp->path().empty());
  EXPECT_THAT(SortedNames(dir), IsEmpty());
  struct stat st;
  ASSERT_EQ(temp->Stat(&st), 0);
  EXPECT_EQ(st.st_size, 5);

  ASSERT_EQ(temp->Link(dir + "/a"), 0);
  EXPECT_EQ(temp->Link(dir + "/a"), EEXIST);  // Never overwrites.
  temp->Discard();
  EXPECT_THAT(SortedNames(dir), ElementsAre("a"));
  EXPECT_EQ(*ReadFile(dir + "/a"), "hello");
  EXPECT_EQ(ModeOf(dir + "/a"), 0644u);
}

TEST(TempFileWriterTest, NamedFilesAreDotFilesUntilLinkedOrRenamed) {
  TempDir scratch;
  const std::string dir = scratch.path();
  TempFileWriter::Options options;
  options.unnamed = false;
  options.mode = 0640;
  TempFileWriter writer(dir, options);
  EXPECT_FALSE(writer.unnamed());
  absl::StatusOr<TempFile> temp = writer.Write("one", /*sync=*/false);
  ASSERT_TRUE(temp.ok()) << temp.status();
  EXPECT_FALSE(temp->unnamed());
  EXPECT_TRUE(absl::StartsWith(temp->path(), dir + "/.tmp-")) << temp->path();
  struct stat st;
  EXPECT_EQ(temp->Stat(&st), EBADF);

  ASSERT_EQ(temp->Link(dir + "/a"), 0);
  EXPECT_EQ(temp->Link(dir + "/a"), EEXIST);
  temp->Discard();  // The temporary name goes, the link stays.
  EXPECT_THAT(SortedNames(dir), ElementsAre("a"));
  EXPECT_EQ(ModeOf(dir + "/a"), 0640u);

  absl::StatusOr<TempFile> replacement = writer.Write("two");
  ASSERT_TRUE(replacement.ok()) << replacement.status();
  ASSERT_EQ(replacement->RenameOver(dir + "/a"), 0);
  EXPECT_TRUE(replacement->path().empty());
  EXPECT_THAT(SortedNames(dir), ElementsAre("a"));
  EXPECT_EQ(*ReadFile(dir + "/a"), "two");
}

TEST(TempFileWriterTest, NamedWhenAskedWhateverTheOptions) {
  TempDir scratch;
  const std::string dir = scratch.path();
  TempFileWriter writer(dir, TempFileWriter::Options());
  absl::StatusOr<TempFile> temp = writer.Write("x", /*sync=*/true, /*named=*/true);
  ASSERT_TRUE(temp.ok()) << temp.status();
  EXPECT_FALSE(temp->unnamed());
  EXPECT_FALSE(temp->path().empty());
  EXPECT_EQ(temp->RenameOver(dir + "/x"), 0);
}

TEST(TempFileWriterTest, DestroyingOrMovingOverATempFileDiscardsIt) {
  TempDir scratch;
  const std::string dir = scratch.path();
  TempFileWriter::Options options;
  options.unnamed = false;
  TempFileWriter writer(dir, options);
  {
    absl::StatusOr<TempFile> first = writer.Write("1");
    absl::StatusOr<TempFile> second = writer.Write("2");
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(SortedNames(dir).size(), 2u);
    TempFile kept = *std::move(first);
    kept = *std::move(second);  // The first is discarded.
    EXPECT_EQ(SortedNames(dir).size(), 1u);
  }
  EXPECT_THAT(SortedNames(dir), IsEmpty());
}

TEST(TempFileWriterTest, AMissingDirectoryIsAnErrorNamingIt) {
  TempDir scratch;
  const std::string dir = scratch.Join("missing");
  for (bool unnamed : {true, false}) {
    TempFileWriter::Options options;
    options.unnamed = unnamed;
    TempFileWriter writer(dir, options);
    absl::StatusOr<TempFile> temp = writer.Write("x");
    ASSERT_FALSE(temp.ok());
    EXPECT_EQ(temp.status().code(), absl::StatusCode::kNotFound) << temp.status();
    EXPECT_TRUE(absl::StrContains(temp.status().message(), dir)) << temp.status();
  }
}

TEST(WriteFileAtomicallyTest, CreatesAndReplacesLeavingNoTemporaryFile) {
  TempDir scratch;
  const std::string dir = scratch.path();
  const std::string path = dir + "/record.json";
  ASSERT_TRUE(WriteFileAtomically(path, "old").ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  ASSERT_TRUE(WriteFileAtomically(path, "new", 0644).ok());
  EXPECT_EQ(*ReadFile(path), "new");
  EXPECT_EQ(ModeOf(path), 0644u);
  EXPECT_THAT(SortedNames(dir), ElementsAre("record.json"));
  ASSERT_TRUE(WriteFileAtomically(path, "newer", 0600, /*sync_directory=*/false).ok());
  EXPECT_EQ(*ReadFile(path), "newer");
  EXPECT_THAT(SortedNames(dir), ElementsAre("record.json"));
}

TEST(WriteFileAtomicallyTest, FailsNamingThePathAndLeavesNothing) {
  TempDir scratch;
  const std::string dir = scratch.path();
  // A directory in the way: the rename fails after the temporary file was written.
  std::filesystem::create_directory(dir + "/taken");
  std::filesystem::create_directory(dir + "/taken/inside");
  absl::Status status = WriteFileAtomically(dir + "/taken", "x");
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), dir + "/taken")) << status;
  EXPECT_THAT(SortedNames(dir), ElementsAre("taken"));

  status = WriteFileAtomically(dir + "/missing/file", "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
}

TEST(ReadFileTest, ReadsEverythingOrSaysNotFound) {
  TempDir scratch;
  const std::string dir = scratch.path();
  const std::string big(100 * 1024 + 7, 'z');
  ASSERT_TRUE(WriteFileAtomically(dir + "/big", big).ok());
  EXPECT_EQ(*ReadFile(dir + "/big"), big);
  absl::StatusOr<std::string> missing = ReadFile(dir + "/none");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), dir + "/none"));
}

TEST(SyncDirectoryTest, SyncsADirectoryAndNamesAMissingOne) {
  TempDir scratch;
  const std::string dir = scratch.path();
  EXPECT_TRUE(SyncDirectory(dir).ok());
  absl::Status missing = SyncDirectory(dir + "/none");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(missing.message(), dir + "/none"));
}

}  // namespace
}  // namespace infrakit::common
