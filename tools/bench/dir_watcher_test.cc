#include "tools/bench/dir_watcher.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::tools::bench {
namespace {

constexpr absl::Duration kDeadline = absl::Seconds(10);

void Touch(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  close(fd);
}

TEST(DirWatcherTest, ListsWhatIsAlreadyThereWithoutCountingCreations) {
  testing::TempDir dir;
  Touch(dir.Join("instance-1"));
  Touch(dir.Join("instance-2"));
  Touch(dir.Join(".tmp-abc"));
  absl::StatusOr<std::unique_ptr<DirWatcher>> watcher = DirWatcher::Start(dir.path());
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  EXPECT_EQ((*watcher)->count(), 2);
  EXPECT_EQ((*watcher)->peak(), 2);
  EXPECT_EQ((*watcher)->creations(), 0);
  std::vector<std::string> names = (*watcher)->Names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"instance-1", "instance-2"}));
}

TEST(DirWatcherTest, CountsCreationsAndRemovalsAndIgnoresDotFiles) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<DirWatcher>> started = DirWatcher::Start(dir.path());
  ASSERT_TRUE(started.ok()) << started.status();
  DirWatcher& watcher = **started;

  const absl::Time before = absl::Now();
  for (int i = 0; i < 3; ++i) Touch(dir.Join("instance-" + std::to_string(i)));
  Touch(dir.Join(".tmp-1"));
  absl::StatusOr<absl::Time> at = watcher.WaitForCount(3, kDeadline);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_GE(*at, before);
  EXPECT_LE(*at, absl::Now());

  absl::StatusOr<absl::Time> third = watcher.WaitForCreation(2, kDeadline);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_GE(*third, before);

  // Instance-file's writes: a dot file linked to its final name, then the dot file removed.
  ASSERT_EQ(link(dir.Join(".tmp-1").c_str(), dir.Join("instance-3").c_str()), 0);
  ASSERT_EQ(unlink(dir.Join(".tmp-1").c_str()), 0);
  ASSERT_TRUE(watcher.WaitForCount(4, kDeadline).ok());
  ASSERT_EQ(unlink(dir.Join("instance-0").c_str()), 0);
  ASSERT_EQ(rename(dir.Join("instance-1").c_str(), dir.Join(".hidden").c_str()), 0);
  ASSERT_TRUE(watcher.WaitForCount(2, kDeadline).ok()) << watcher.count();

  EXPECT_EQ(watcher.creations(), 4);
  EXPECT_EQ(watcher.peak(), 4);
  watcher.ResetPeak();
  EXPECT_EQ(watcher.peak(), 2);
  EXPECT_FALSE(watcher.overflowed());
}

TEST(DirWatcherTest, WaitsTimeOut) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<DirWatcher>> watcher = DirWatcher::Start(dir.path());
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  EXPECT_EQ((*watcher)->WaitForCount(1, absl::Milliseconds(20)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ((*watcher)->WaitForCreation(0, absl::Milliseconds(20)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(DirWatcherTest, WaitsForANameLinkedOrRenamedIntoPlace) {
  testing::TempDir dir;
  Touch(dir.Join("there"));
  absl::StatusOr<std::unique_ptr<DirWatcher>> started = DirWatcher::Start(dir.path());
  ASSERT_TRUE(started.ok()) << started.status();
  DirWatcher& watcher = **started;
  EXPECT_TRUE(watcher.WaitForName("there", absl::ZeroDuration()).ok());
  EXPECT_EQ(watcher.WaitForName("record", absl::Milliseconds(20)).code(),
            absl::StatusCode::kDeadlineExceeded);
  // A temporary file renamed to its name (its own dot-name is no entry).
  Touch(dir.Join(".record.tmp"));
  ASSERT_EQ(rename(dir.Join(".record.tmp").c_str(), dir.Join("record").c_str()), 0);
  EXPECT_TRUE(watcher.WaitForName("record", kDeadline).ok());
  // A name linked to a file.
  ASSERT_EQ(link(dir.Join("there").c_str(), dir.Join("linked").c_str()), 0);
  EXPECT_TRUE(watcher.WaitForName("linked", kDeadline).ok());
}

TEST(DirWatcherTest, MissingDirectoryIsAnError) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<DirWatcher>> watcher = DirWatcher::Start(dir.Join("missing"));
  EXPECT_EQ(watcher.status().code(), absl::StatusCode::kNotFound) << watcher.status();
}

}  // namespace
}  // namespace infrakit::tools::bench
