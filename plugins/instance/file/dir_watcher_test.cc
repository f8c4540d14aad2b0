#include "plugins/instance/file/dir_watcher.h"

#include <sys/inotify.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::file {
namespace {

using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kDeadline = absl::Seconds(20);

// Appends one inotify event to `buffer`, as read(2) returns them (the name NUL-padded).
void AddEvent(std::string* buffer, int wd, uint32_t mask, const std::string& name) {
  const size_t len = name.empty() ? 0 : (name.size() / 16 + 1) * 16;
  std::string bytes(sizeof(struct inotify_event) + len, '\0');
  auto* event = reinterpret_cast<struct inotify_event*>(bytes.data());
  event->wd = wd;
  event->mask = mask;
  event->len = len;
  memcpy(bytes.data() + sizeof(struct inotify_event), name.data(), name.size());
  buffer->append(bytes);
}

// Summarizes what the listener was told: "name:created" / "name:deleted" / "name" per name.
std::vector<std::string> Summary(const std::vector<DirWatcher::NameEvents>& names) {
  std::vector<std::string> out;
  for (const DirWatcher::NameEvents& n : names) {
    out.push_back(n.name + (n.only_created ? ":created" : "") + (n.only_deleted ? ":deleted" : ""));
  }
  return out;
}

TEST(DirWatcherCoalesceTest, EachNameOnceWithWhetherItWasOnlyCreatedOrDeleted) {
  std::string buffer;
  AddEvent(&buffer, 1, IN_CREATE, "a");
  AddEvent(&buffer, 1, IN_CREATE, "b");
  AddEvent(&buffer, 1, IN_CLOSE_WRITE, "b");
  AddEvent(&buffer, 1, IN_DELETE, "c");
  AddEvent(&buffer, 1, IN_CREATE, ".tmp-123");      // Temporary files are never reported.
  AddEvent(&buffer, 1, IN_CREATE | IN_ISDIR, "d");  // Nor directories.
  AddEvent(&buffer, 2, IN_CREATE, "other-watch");   // Nor another watch's events.
  AddEvent(&buffer, 1, IN_CREATE, "c");
  DirWatcher::Batch batch = DirWatcher::Coalesce(buffer.data(), buffer.size(), 1);
  EXPECT_FALSE(batch.overflow);
  EXPECT_FALSE(batch.directory_gone);
  EXPECT_EQ(Summary(batch.names), (std::vector<std::string>{"a:created", "b", "c"}));
}

// instance-file moves destroyed instances' files into its spare files: a move out is a removal.
// A move in is not a creation a writer may still be busy with (the file is whole).
TEST(DirWatcherCoalesceTest, AMoveOutIsADeletionAndAMoveInIsNoCreation) {
  std::string buffer;
  AddEvent(&buffer, 1, IN_MOVED_FROM, "moved-out");
  AddEvent(&buffer, 1, IN_MOVED_TO, "moved-in");
  AddEvent(&buffer, 1, IN_DELETE, "gone-twice");
  AddEvent(&buffer, 1, IN_MOVED_FROM, "gone-twice");
  DirWatcher::Batch batch = DirWatcher::Coalesce(buffer.data(), buffer.size(), 1);
  EXPECT_EQ(Summary(batch.names),
            (std::vector<std::string>{"moved-out:deleted", "moved-in", "gone-twice:deleted"}));
}

TEST(DirWatcherCoalesceTest, OverflowAndALostDirectoryAreFlagged) {
  std::string buffer;
  AddEvent(&buffer, -1, IN_Q_OVERFLOW, "");
  EXPECT_TRUE(DirWatcher::Coalesce(buffer.data(), buffer.size(), 1).overflow);
  buffer.clear();
  AddEvent(&buffer, 1, IN_DELETE, "a");
  AddEvent(&buffer, 1, IN_DELETE_SELF, "");
  DirWatcher::Batch batch = DirWatcher::Coalesce(buffer.data(), buffer.size(), 1);
  EXPECT_TRUE(batch.directory_gone);
  EXPECT_EQ(Summary(batch.names), (std::vector<std::string>{"a:deleted"}));
}

class RecordingListener : public DirWatcher::Listener {
 public:
  void OnNamesChanged(const std::vector<DirWatcher::NameEvents>& names) override {
    absl::MutexLock lock(&mu_);
    for (const std::string& s : Summary(names)) seen_.push_back(s);
  }
  void OnRescanNeeded() override {
    absl::MutexLock lock(&mu_);
    ++rescans_;
  }
  bool Saw(const std::string& summary) {
    absl::MutexLock lock(&mu_);
    return std::find(seen_.begin(), seen_.end(), summary) != seen_.end();
  }
  int rescans() {
    absl::MutexLock lock(&mu_);
    return rescans_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> seen_ ABSL_GUARDED_BY(mu_);
  int rescans_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(DirWatcherTest, ReportsChangesOnlyOnceStartedAndRecreatesALostDirectory) {
  TempDir temp;
  const std::string dir = temp.Join("watched");
  std::filesystem::create_directory(dir);
  auto watcher = DirWatcher::Create(dir);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  std::ofstream(dir + "/before-start") << "x";  // Seen, but reported after Start.
  RecordingListener listener;
  (*watcher)->Start(&listener);
  ASSERT_TRUE(WaitFor([&] { return listener.Saw("before-start"); }, kDeadline));
  std::filesystem::remove(dir + "/before-start");
  ASSERT_TRUE(WaitFor([&] { return listener.Saw("before-start:deleted"); }, kDeadline));

  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WaitFor([&] { return listener.rescans() == 1; }, kDeadline));
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  std::ofstream(dir + "/after") << "y";  // Watched again.
  EXPECT_TRUE(WaitFor([&] { return listener.Saw("after"); }, kDeadline));
}

TEST(DirWatcherTest, CreateFailsOnAMissingDirectory) {
  TempDir temp;
  auto watcher = DirWatcher::Create(temp.Join("missing"));
  EXPECT_EQ(watcher.status().code(), absl::StatusCode::kNotFound) << watcher.status();
}

DirWatcher::NameEvents Events(const std::string& name, bool only_created, bool only_deleted) {
  DirWatcher::NameEvents events;
  events.name = name;
  events.only_created = only_created;
  events.only_deleted = only_deleted;
  return events;
}

TEST(EchoFilterTest, OurOwnLinkAndUnlinkAreEchoesOnce) {
  EchoFilter filter;
  filter.Linked("a");
  filter.Unlinked("b");
  EXPECT_TRUE(filter.IsEcho(Events("a", /*only_created=*/true, false)));
  EXPECT_TRUE(filter.IsEcho(Events("b", false, /*only_deleted=*/true)));
  // Consumed: the next events of those names are read.
  EXPECT_FALSE(filter.IsEcho(Events("a", true, false)));
  EXPECT_FALSE(filter.IsEcho(Events("b", false, true)));
  // Never recorded.
  EXPECT_FALSE(filter.IsEcho(Events("c", true, false)));
}

TEST(EchoFilterTest, MoreThanOurOwnChangeIsNoEchoButConsumesTheRecord) {
  EchoFilter filter;
  filter.Unlinked("a");
  // Deleted by us, then created again by someone: read it.
  EXPECT_FALSE(filter.IsEcho(Events("a", false, false)));
  EXPECT_FALSE(filter.IsEcho(Events("a", false, true)));
  filter.Linked("b");
  // Created by us, then written by someone: read it.
  EXPECT_FALSE(filter.IsEcho(Events("b", false, false)));
  EXPECT_FALSE(filter.IsEcho(Events("b", true, false)));
}

TEST(EchoFilterTest, ClearForgetsEverything) {
  EchoFilter filter;
  filter.Linked("a");
  filter.Unlinked("b");
  filter.Clear();
  EXPECT_FALSE(filter.IsEcho(Events("a", true, false)));
  EXPECT_FALSE(filter.IsEcho(Events("b", false, true)));
}

}  // namespace
}  // namespace infrakit::plugins::instance::file
