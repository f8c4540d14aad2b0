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
#include "absl/strings/str_join.h"
#include "common/testing/fault_file_ops.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::common {
namespace {

using ::infrakit::common::testing::FaultFileOps;
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

// The errors a disk or a process runs into, each injected at every call in turn.
constexpr int kFaults[] = {EIO, ENOSPC, EMFILE};

// How many FileOps calls a fault-free WriteFileAtomically of `path` makes.
int CallsOfOneWrite(const std::string& path) {
  FaultFileOps counting;
  EXPECT_TRUE(WriteFileAtomically(path, "count", 0600, true, counting).ok());
  EXPECT_GT(counting.calls(), 0);
  return counting.calls();
}

TEST(WriteFileAtomicallyFaultTest, AFailureAtAnyCallIsReportedAndLeavesTheOldOrNewFile) {
  TempDir scratch;
  const std::string dir = scratch.path();
  const std::string path = dir + "/record.json";
  const int calls = CallsOfOneWrite(path);
  const std::string old_text(10000, 'o');
  const std::string new_text(12000, 'n');
  for (int error : kFaults) {
    for (int index = 0; index < calls; ++index) {
      ASSERT_TRUE(WriteFileAtomically(path, old_text).ok());
      FaultFileOps ops;
      ops.FailAt(index, error);
      const absl::Status status = WriteFileAtomically(path, new_text, 0600, true, ops);
      const std::string where =
          absl::StrCat(strerror(error), " at call ", index, ":\n", absl::StrJoin(ops.log(), "\n"));
      EXPECT_FALSE(status.ok()) << where;
      EXPECT_EQ(status.code(), absl::ErrnoToStatus(error, "").code()) << status << "\n" << where;
      const std::string now = *ReadFile(path);
      EXPECT_TRUE(now == old_text || now == new_text)
          << "torn: " << now.size() << " bytes, " << where;
      // The writer cleaned up after itself.
      EXPECT_THAT(SortedNames(dir), ElementsAre("record.json")) << where;
    }
  }
}

TEST(WriteFileAtomicallyFaultTest, ACrashAtAnyCallLeavesTheOldOrNewFile) {
  TempDir scratch;
  const std::string dir = scratch.path();
  const std::string path = dir + "/record.json";
  const int calls = CallsOfOneWrite(path);
  const std::string old_text(10000, 'o');
  const std::string new_text(12000, 'n');
  for (int index = 0; index < calls; ++index) {
    ASSERT_TRUE(WriteFileAtomically(path, old_text).ok());
    FaultFileOps ops;
    ops.CrashAt(index);
    EXPECT_FALSE(WriteFileAtomically(path, new_text, 0600, true, ops).ok()) << index;
    EXPECT_TRUE(ops.crashed());
    const std::string now = *ReadFile(path);
    EXPECT_TRUE(now == old_text || now == new_text) << "torn at call " << index << ":\n"
                                                    << absl::StrJoin(ops.log(), "\n");
    // Whatever a crash leaves besides the file is hidden (a dot-named temporary).
    for (const std::string& name : SortedNames(dir)) {
      EXPECT_TRUE(name == "record.json" || name[0] == '.') << name;
    }
  }
}

TEST(TempFileWriterFaultTest, AFailureAtAnyCallIsReportedAndNeverPublishesAPart) {
  TempDir scratch;
  const std::string dir = scratch.path();
  const std::string contents(20000, 'c');
  for (bool unnamed : {true, false}) {
    FaultFileOps counting;
    TempFileWriter::Options options;
    options.unnamed = unnamed;
    options.file_ops = &counting;
    {
      TempFileWriter writer(dir, options);
      absl::StatusOr<TempFile> temp = writer.Write(contents);
      ASSERT_TRUE(temp.ok()) << temp.status();
      ASSERT_EQ(temp->Link(dir + "/counted"), 0);
    }
    ASSERT_EQ(unlink((dir + "/counted").c_str()), 0);
    const int calls = counting.calls();
    for (int error : kFaults) {
      for (int index = 0; index < calls; ++index) {
        FaultFileOps ops;
        ops.FailAt(index, error);
        options.file_ops = &ops;
        TempFileWriter writer(dir, options);
        const std::string path = absl::StrCat(dir, "/file-", index);
        absl::StatusOr<TempFile> temp = writer.Write(contents);
        int linked = temp.ok() ? temp->Link(path) : -1;
        if (temp.ok()) temp->Discard();
        const std::string where =
            absl::StrCat(unnamed ? "unnamed" : "named", ", ", strerror(error), " at call ", index,
                         ":\n", absl::StrJoin(ops.log(), "\n"));
        absl::StatusOr<std::string> now = ReadFile(path);
        if (temp.ok() && linked == 0) {
          // The fault hit a call with a fallback (EMFILE on O_TMPFILE: a named file instead).
          EXPECT_EQ(*now, contents) << where;
        } else {
          EXPECT_TRUE(absl::IsNotFound(now.status())) << where;
        }
        unlink(path.c_str());
        // Only a failed removal of a temporary name (Discard cannot report it: the file is
        // published or abandoned already) leaves a hidden name, which readers skip.
        for (const std::string& name : SortedNames(dir)) {
          EXPECT_TRUE(name[0] == '.' && absl::StrContains(ops.log().back(), "unlink"))
              << name << ", " << where;
          unlink((dir + "/" + name).c_str());
        }
      }
    }
  }
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
