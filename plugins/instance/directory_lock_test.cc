#include "plugins/instance/directory_lock.h"

#include <sys/stat.h>

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::instance {
namespace {

using ::infrakit::testing::TempDir;

TEST(DirectoryLockTest, CreatesTheDirectoryAndRefusesASecondHolderUntilReleased) {
  TempDir tmp;
  const std::string dir = tmp.Join("a/instances");
  std::optional<DirectoryLock> first;
  {
    absl::StatusOr<DirectoryLock> lock = LockDirectory(dir, "instance-file");
    ASSERT_TRUE(lock.ok()) << lock.status();
    first.emplace(*std::move(lock));
  }
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));

  // flock locks belong to open files: a second open, even in this process, is another holder.
  absl::StatusOr<DirectoryLock> second = LockDirectory(dir, "instance-file");
  EXPECT_EQ(second.status(),
            absl::FailedPreconditionError(absl::StrCat(
                "instance directory ", dir,
                " is in use by another instance plugin (it holds a lock on it); stop it, or "
                "give this instance-file another --dir")));
  // Nothing was added to the directory.
  EXPECT_TRUE(::infrakit::testing::SortedNames(dir).empty());

  first.reset();
  EXPECT_TRUE(LockDirectory(dir, "instance-file").ok());
}

TEST(DirectoryLockTest, AMovedLockIsStillHeld) {
  TempDir tmp;
  absl::StatusOr<DirectoryLock> lock = LockDirectory(tmp.path(), "instance-process");
  ASSERT_TRUE(lock.ok()) << lock.status();
  DirectoryLock moved = *std::move(lock);
  EXPECT_EQ(LockDirectory(tmp.path(), "instance-process").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(DirectoryLockTest, ADirectoryThatCannotBeMadeIsNamed) {
  TempDir tmp;
  const std::string file = tmp.Join("file");
  {
    FILE* f = fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fclose(f);
  }
  absl::StatusOr<DirectoryLock> lock = LockDirectory(file + "/instances", "instance-file");
  EXPECT_FALSE(lock.ok());
  EXPECT_NE(lock.status().message().find(file + "/instances"), std::string::npos) << lock.status();
}

}  // namespace
}  // namespace infrakit::plugins::instance
