#include "plugins/instance/process/watch_hub.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::process {
namespace {

using ::infrakit::testing::WaitFor;

constexpr absl::Duration kDeadline = absl::Seconds(10);

class RecordingSink : public spi::instance::WatchSink {
 public:
  void OnEvent(const v1::WatchResponse& event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  }
  void OnDone(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    done_ = status;
  }
  std::vector<v1::WatchResponse> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  size_t count() {
    absl::MutexLock lock(&mu_);
    return events_.size();
  }
  std::optional<absl::Status> done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  // "ADDED:i1" ... for compact comparisons.
  std::vector<std::string> Summary() {
    std::vector<std::string> out;
    for (const v1::WatchResponse& e : events()) {
      std::string s = v1::EventType_Name(e.type()).substr(strlen("EVENT_TYPE_"));
      if (e.has_instance()) s += ":" + e.instance().id();
      out.push_back(s);
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::WatchResponse> events_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> done_ ABSL_GUARDED_BY(mu_);
};

v1::Description Instance(const std::string& id,
                         std::vector<std::pair<std::string, std::string>> tags) {
  v1::Description d;
  d.set_id(id);
  for (const auto& [k, v] : tags) (*d.mutable_tags())[k] = v;
  d.set_state(v1::LIFECYCLE_STATE_RUNNING);
  d.mutable_spec()->set_init("echo hi");
  (*d.mutable_properties()->mutable_fields())["Pid"].set_number_value(42);
  return d;
}

v1::WatchRequest Filter(std::vector<std::pair<std::string, std::string>> tags,
                        bool include_properties = false) {
  v1::WatchRequest r;
  for (const auto& [k, v] : tags) (*r.mutable_tags())[k] = v;
  r.set_include_properties(include_properties);
  return r;
}

TEST(WatchHubTest, InitialSetThenSyncedThenChanges) {
  WatchHub hub;
  const v1::Description a = Instance("i1", {{"g", "web"}});
  const v1::Description b = Instance("i2", {{"g", "db"}});
  RecordingSink sink;
  auto handle = hub.Add(Filter({}), &sink, {&a, &b});
  hub.Added(Instance("i3", {}));
  hub.Removed(a);
  ASSERT_TRUE(WaitFor([&] { return sink.count() == 5; }, kDeadline));
  EXPECT_EQ(sink.Summary(),
            (std::vector<std::string>{"ADDED:i1", "ADDED:i2", "SYNCED", "ADDED:i3", "REMOVED:i1"}));
}

TEST(WatchHubTest, TagFilterTurnsChangesIntoAddedAndRemoved) {
  WatchHub hub;
  v1::Description a = Instance("i1", {{"g", "web"}});
  RecordingSink sink;
  auto handle = hub.Add(Filter({{"g", "web"}}), &sink, {&a});
  hub.Added(Instance("other", {{"g", "db"}}));  // Not matching: nothing.
  v1::Description moved = a;
  (*moved.mutable_tags())["g"] = "db";
  hub.Changed(a.tags(), moved);  // Leaves the filter: REMOVED.
  hub.Changed(moved.tags(), a);  // Enters it again: ADDED.
  v1::Description labelled = a;
  (*labelled.mutable_tags())["x"] = "y";
  hub.Changed(a.tags(), labelled);  // Stays in: CHANGED.
  ASSERT_TRUE(WaitFor([&] { return sink.count() == 5; }, kDeadline));
  EXPECT_EQ(sink.Summary(), (std::vector<std::string>{"ADDED:i1", "SYNCED", "REMOVED:i1",
                                                      "ADDED:i1", "CHANGED:i1"}));
}

TEST(WatchHubTest, PropertiesOnlyWhenAsked) {
  WatchHub hub;
  const v1::Description a = Instance("i1", {});
  RecordingSink plain, full;
  auto h1 = hub.Add(Filter({}), &plain, {&a});
  auto h2 = hub.Add(Filter({}, /*include_properties=*/true), &full, {&a});
  ASSERT_TRUE(WaitFor([&] { return plain.count() == 2 && full.count() == 2; }, kDeadline));
  EXPECT_FALSE(plain.events()[0].instance().has_spec());
  EXPECT_FALSE(plain.events()[0].instance().has_properties());
  EXPECT_EQ(full.events()[0].instance().spec().init(), "echo hi");
  EXPECT_EQ(full.events()[0].instance().properties().fields().at("Pid").number_value(), 42);
}

TEST(WatchHubTest, DestroyedHandleGetsNoMoreEvents) {
  WatchHub hub;
  RecordingSink gone, control;
  auto handle = hub.Add(Filter({}), &gone, {});
  ASSERT_TRUE(WaitFor([&] { return gone.count() == 1; }, kDeadline));  // SYNCED.
  handle.reset();
  auto control_handle = hub.Add(Filter({}), &control, {});
  hub.Added(Instance("i1", {}));
  // One dispatcher delivers in order: once the later watch has the event, the earlier one
  // would have had it too.
  ASSERT_TRUE(WaitFor([&] { return control.count() == 2; }, kDeadline));
  EXPECT_EQ(gone.count(), 1u);
  EXPECT_FALSE(gone.done().has_value());
}

// A sink that blocks in OnEvent until released.
class BlockingSink : public spi::instance::WatchSink {
 public:
  void OnEvent(const v1::WatchResponse& event) override {
    absl::MutexLock lock(&mu_);
    in_call_ = true;
    mu_.Await(absl::Condition(&release_));
    in_call_ = false;
  }
  void OnDone(const absl::Status& status) override {}
  bool in_call() {
    absl::MutexLock lock(&mu_);
    return in_call_;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    release_ = true;
  }

 private:
  absl::Mutex mu_;
  bool in_call_ ABSL_GUARDED_BY(mu_) = false;
  bool release_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(WatchHubTest, HandleDestructorWaitsForTheCallInProgress) {
  WatchHub hub;
  BlockingSink sink;
  auto handle = hub.Add(Filter({}), &sink, {});
  ASSERT_TRUE(WaitFor([&] { return sink.in_call(); }, kDeadline));
  std::atomic<bool> returned{false};
  bool in_call_after_return = true;
  std::thread destroyer([&] {
    handle.reset();
    in_call_after_return = sink.in_call();
    returned = true;
  });
  // While the sink is busy, the destructor must not return.
  EXPECT_FALSE(WaitFor([&] { return returned.load(); }, absl::Milliseconds(200)));
  sink.Release();
  destroyer.join();
  EXPECT_FALSE(in_call_after_return);
}

TEST(WatchHubTest, HubDestructionEndsOpenWatchesOnly) {
  RecordingSink open, cancelled;
  std::unique_ptr<spi::instance::WatchHandle> open_handle;
  {
    WatchHub hub;
    open_handle = hub.Add(Filter({}), &open, {});
    auto cancelled_handle = hub.Add(Filter({}), &cancelled, {});
    cancelled_handle.reset();
  }
  ASSERT_TRUE(open.done().has_value());
  EXPECT_EQ(open.done()->code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(cancelled.done().has_value());
  open_handle.reset();  // Outliving the hub is fine.
}

TEST(TagsMatchTest, RequiresEveryFilterTag) {
  WatchHub::TagMap tags;
  tags["a"] = "1";
  tags["b"] = "2";
  WatchHub::TagMap filter;
  EXPECT_TRUE(TagsMatch(filter, tags));
  filter["a"] = "1";
  EXPECT_TRUE(TagsMatch(filter, tags));
  filter["b"] = "3";
  EXPECT_FALSE(TagsMatch(filter, tags));
  filter["b"] = "2";
  filter["c"] = "";
  EXPECT_FALSE(TagsMatch(filter, tags));
}

}  // namespace
}  // namespace infrakit::plugins::instance::process
