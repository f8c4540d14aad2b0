#include "plugins/instance/watch_fanout.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/conformance/watch_recorder.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::testing::WaitFor;
using ::infrakit::tests::conformance::Summaries;
using ::infrakit::tests::conformance::WatchRecorder;
using Delivery = WatchFanout::Delivery;

constexpr absl::Duration kDeadline = absl::Seconds(10);

// Waits until `sink` has at least `n` events; returns them summarized ("ADDED i1").
std::vector<std::string> WaitForSummaries(WatchRecorder& sink, size_t n) {
  sink.WaitUntil([n](const WatchRecorder::Events& events) { return events.size() >= n; },
                 kDeadline);
  return Summaries(sink.events());
}

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

// Every behaviour but the thread of delivery is the same in both modes.
class WatchFanoutTest : public ::testing::TestWithParam<Delivery> {};

INSTANTIATE_TEST_SUITE_P(Deliveries, WatchFanoutTest,
                         ::testing::Values(Delivery::kCallingThread, Delivery::kDispatcherThread));

TEST_P(WatchFanoutTest, InitialSetThenSyncedThenChanges) {
  WatchFanout fanout(GetParam());
  const v1::Description a = Instance("i1", {{"g", "web"}});
  const v1::Description b = Instance("i2", {{"g", "db"}});
  WatchRecorder sink;
  auto handle = fanout.Subscribe(Filter({}), &sink, {&a, &b});
  const v1::Description c = Instance("i3", {});
  fanout.Publish(nullptr, &c);
  fanout.Publish(&a, nullptr);
  EXPECT_EQ(WaitForSummaries(sink, 5),
            (std::vector<std::string>{"ADDED i1", "ADDED i2", "SYNCED", "ADDED i3", "REMOVED i1"}));
}

TEST_P(WatchFanoutTest, TagFilterTurnsChangesIntoAddedAndRemoved) {
  WatchFanout fanout(GetParam());
  v1::Description a = Instance("i1", {{"g", "web"}});
  WatchRecorder sink;
  auto handle = fanout.Subscribe(Filter({{"g", "web"}}), &sink, {&a});
  const v1::Description other = Instance("other", {{"g", "db"}});
  fanout.Publish(nullptr, &other);  // Not matching: nothing.
  v1::Description moved = a;
  (*moved.mutable_tags())["g"] = "db";
  fanout.Publish(&a, &moved);  // Leaves the filter: REMOVED.
  fanout.Publish(&moved, &a);  // Enters it again: ADDED.
  v1::Description labelled = a;
  (*labelled.mutable_tags())["x"] = "y";
  fanout.Publish(&a, &labelled);  // Stays in: CHANGED.
  EXPECT_EQ(WaitForSummaries(sink, 5), (std::vector<std::string>{"ADDED i1", "SYNCED", "REMOVED i1",
                                                                 "ADDED i1", "CHANGED i1"}));
  // REMOVED carries what the watch saw; CHANGED what it sees now.
  EXPECT_EQ(sink.events()[2].instance().tags().at("g"), "web");
  EXPECT_EQ(sink.events()[4].instance().tags().at("x"), "y");
}

// Two watches of every instance: one plain, one with properties.
struct PlainAndFull {
  PlainAndFull(WatchFanout& fanout, const std::vector<const v1::Description*>& current)
      : plain_handle(fanout.Subscribe(Filter({}), &plain, current)),
        full_handle(fanout.Subscribe(Filter({}, /*include_properties=*/true), &full, current)) {}

  WatchRecorder plain, full;
  std::unique_ptr<spi::instance::WatchHandle> plain_handle, full_handle;
};

TEST_P(WatchFanoutTest, PropertiesOnlyWhenAsked) {
  WatchFanout fanout(GetParam());
  const v1::Description a = Instance("i1", {});
  PlainAndFull watches(fanout, {&a});
  ASSERT_EQ(WaitForSummaries(watches.plain, 2).size(), 2u);
  ASSERT_EQ(WaitForSummaries(watches.full, 2).size(), 2u);
  const v1::Description plain = watches.plain.events()[0].instance();
  EXPECT_FALSE(plain.has_spec());
  EXPECT_FALSE(plain.has_properties());
  EXPECT_EQ(plain.state(), v1::LIFECYCLE_STATE_RUNNING);
  const v1::Description full = watches.full.events()[0].instance();
  EXPECT_EQ(full.spec().init(), "echo hi");
  EXPECT_EQ(full.properties().fields().at("Pid").number_value(), 42);
}

TEST_P(WatchFanoutTest, ChangedOnlyWhenWhatTheWatchSeesChanged) {
  WatchFanout fanout(GetParam());
  const v1::Description a = Instance("i1", {});
  PlainAndFull watches(fanout, {&a});
  v1::Description new_pid = a;
  (*new_pid.mutable_properties()->mutable_fields())["Pid"].set_number_value(43);
  fanout.Publish(&a, &new_pid);  // Only the properties: the plain watch sees no change.
  v1::Description terminating = new_pid;
  terminating.set_state(v1::LIFECYCLE_STATE_TERMINATING);
  fanout.Publish(&new_pid, &terminating);
  EXPECT_EQ(WaitForSummaries(watches.full, 4),
            (std::vector<std::string>{"ADDED i1", "SYNCED", "CHANGED i1", "CHANGED i1"}));
  EXPECT_EQ(WaitForSummaries(watches.plain, 3),
            (std::vector<std::string>{"ADDED i1", "SYNCED", "CHANGED i1"}));
  EXPECT_EQ(watches.plain.events()[2].instance().state(), v1::LIFECYCLE_STATE_TERMINATING);
}

TEST_P(WatchFanoutTest, DestroyedHandleGetsNoMoreEvents) {
  WatchFanout fanout(GetParam());
  WatchRecorder gone, control;
  auto handle = fanout.Subscribe(Filter({}), &gone, {});
  ASSERT_EQ(WaitForSummaries(gone, 1), std::vector<std::string>{"SYNCED"});
  handle.reset();
  auto control_handle = fanout.Subscribe(Filter({}), &control, {});
  const v1::Description a = Instance("i1", {});
  fanout.Publish(nullptr, &a);
  // Events are delivered in order: once the later watch has the event, the earlier one would
  // have had it too.
  ASSERT_EQ(WaitForSummaries(control, 2).size(), 2u);
  EXPECT_EQ(gone.events().size(), 1u);
  EXPECT_FALSE(gone.done().has_value());
}

// A sink that blocks in OnEvent for an instance's event until released (SYNCED goes through).
class BlockingSink : public spi::instance::WatchSink {
 public:
  void OnEvent(const v1::WatchResponse& event) override {
    if (!event.has_instance()) return;
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

TEST_P(WatchFanoutTest, HandleDestructorWaitsForTheCallInProgress) {
  WatchFanout fanout(GetParam());
  BlockingSink sink;
  auto handle = fanout.Subscribe(Filter({}), &sink, {});
  // The sink is called on the publisher's thread or on the dispatcher: either way, not here.
  const v1::Description a = Instance("i1", {});
  std::thread publisher([&] { fanout.Publish(nullptr, &a); });
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
  publisher.join();
  EXPECT_FALSE(in_call_after_return);
}

TEST_P(WatchFanoutTest, ShutdownEndsOpenWatchesOnly) {
  WatchRecorder open, cancelled;
  std::unique_ptr<spi::instance::WatchHandle> open_handle;
  {
    WatchFanout fanout(GetParam());
    open_handle = fanout.Subscribe(Filter({}), &open, {});
    auto cancelled_handle = fanout.Subscribe(Filter({}), &cancelled, {});
    cancelled_handle.reset();
    fanout.Shutdown(absl::CancelledError("stopping"));
    const v1::Description a = Instance("i1", {});
    fanout.Publish(nullptr, &a);  // Ignored.
  }
  ASSERT_TRUE(open.done().has_value());
  EXPECT_EQ(*open.done(), absl::CancelledError("stopping"));
  EXPECT_FALSE(cancelled.done().has_value());
  for (const v1::WatchResponse& event : open.events()) {
    EXPECT_NE(event.type(), v1::EVENT_TYPE_ADDED);
  }
  open_handle.reset();  // Outliving the fan-out is fine.
}

TEST_P(WatchFanoutTest, DestructionEndsOpenWatchesWithUnavailable) {
  WatchRecorder open;
  std::unique_ptr<spi::instance::WatchHandle> handle;
  {
    WatchFanout fanout(GetParam());
    handle = fanout.Subscribe(Filter({}), &open, {});
  }
  ASSERT_TRUE(open.done().has_value());
  EXPECT_EQ(open.done()->code(), absl::StatusCode::kUnavailable);
}

TEST(WatchFanoutCallingThreadTest, DeliversBeforeReturning) {
  WatchFanout fanout(Delivery::kCallingThread);
  const v1::Description a = Instance("i1", {});
  WatchRecorder sink;
  auto handle = fanout.Subscribe(Filter({}), &sink, {&a});
  EXPECT_EQ(Summaries(sink.events()), (std::vector<std::string>{"ADDED i1", "SYNCED"}));
  fanout.Publish(&a, nullptr);
  EXPECT_EQ(sink.events().size(), 3u);
}

TEST(TagsMatchTest, RequiresEveryFilterTag) {
  TagMap tags;
  tags["a"] = "1";
  tags["b"] = "2";
  TagMap filter;
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
}  // namespace infrakit::plugins::instance
