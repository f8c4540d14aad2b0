// The controller's use of the batch calls: queued work goes to the plugins in few calls, a
// single creation (a heal) goes at once on its own, and one item failing in a batch fails alone.
#include <algorithm>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/group/controller.h"
#include "services/group/testing/harness.h"

namespace infrakit::services::group {
namespace {

namespace gv1 = ::infrakit::group::v1;
using testing::Harness;

int Sum(const std::vector<int>& v) { return std::accumulate(v.begin(), v.end(), 0); }
int Max(const std::vector<int>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

TEST(ControllerBatchTest, CreationsAreSpreadOverTheParallelCallsInBatches) {
  Harness h;  // max_parallel_provisions 8, max_batch_size 128
  h.Watch(Harness::Cattle("cattle", 200));
  EXPECT_EQ(h.Count("cattle"), 200);
  EXPECT_TRUE(h.Status("cattle").converged());
  const std::vector<int> batches = h.instance->provision_batches();
  EXPECT_EQ(Sum(batches), 200);
  // 200 queued over 8 calls: 25 each, not 200 calls of one.
  EXPECT_EQ(batches.size(), 8u);
  EXPECT_EQ(Max(batches), 25);
  // Prepared alike, one BatchPrepare per BatchProvision (cattle).
  EXPECT_EQ(h.flavor->prepare_batches(), batches);
  EXPECT_EQ(h.flavor->prepare_calls(), 200);
}

TEST(ControllerBatchTest, BatchesNeverExceedTheConfiguredSize) {
  ControllerOptions o = Harness::DefaultOptions();
  o.max_parallel_provisions = 2;
  o.max_batch_size = 10;
  Harness h(o);
  h.Watch(Harness::Cattle("cattle", 95));
  EXPECT_EQ(h.Count("cattle"), 95);
  const std::vector<int> batches = h.instance->provision_batches();
  EXPECT_EQ(Sum(batches), 95);
  EXPECT_EQ(Max(batches), 10);
  EXPECT_GE(batches.size(), 10u);
}

TEST(ControllerBatchTest, BigSpecsMakeSmallerBatches) {
  Harness h;
  gv1::GroupSpec spec = Harness::Cattle("cattle", 40);
  // 1 MiB of instance properties: at most 4 instances per call (16 MiB, counting what a flavor
  // may add), far below the 64 MiB message limit.
  (*spec.mutable_instance()->mutable_properties()->mutable_fields())["Blob"].set_string_value(
      std::string(1 << 20, 'x'));
  h.Watch(spec);
  EXPECT_EQ(h.Count("cattle"), 40);
  const std::vector<int> batches = h.instance->provision_batches();
  EXPECT_EQ(Sum(batches), 40);
  EXPECT_LE(Max(batches), 4);
}

TEST(ControllerBatchTest, AHealIsOneCreationSentAtOnce) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 50));
  ASSERT_EQ(h.Count("cattle"), 50);
  const size_t before = h.instance->provision_batches().size();
  const std::string victim = h.instance->Instances().front().id();
  h.instance->RemoveExternal(victim);
  h.Settle();
  EXPECT_EQ(h.Count("cattle"), 50);
  const std::vector<int> batches = h.instance->provision_batches();
  ASSERT_EQ(batches.size(), before + 1);
  EXPECT_EQ(batches.back(), 1);
}

TEST(ControllerBatchTest, OneFailedItemFailsAloneAndIsRetried) {
  Harness h;
  // The third Provision of the first wave fails; the other creations of its batch stand.
  h.instance->FailProvisions(1, absl::InvalidArgumentError("spec.properties.note: too long"));
  ControllerOptions o = Harness::DefaultOptions();
  h.Watch(Harness::Cattle("cattle", 16));
  EXPECT_EQ(h.instance->created(), 15);
  gv1::GroupStatus s = h.Status("cattle");
  EXPECT_NE(s.last_error().find("spec.properties.note: too long"), std::string::npos)
      << s.last_error();
  EXPECT_NE(s.last_error().find("attempt 1"), std::string::npos) << s.last_error();
  // Retried after the backoff, alone (a probe), and then the group is complete.
  h.Advance(o.backoff_initial);
  EXPECT_EQ(h.Count("cattle"), 16);
  EXPECT_EQ(h.instance->provision_batches().back(), 1);
  EXPECT_EQ(h.instance->created(), 16);
  EXPECT_TRUE(h.Status("cattle").converged());
}

TEST(ControllerBatchTest, InstancesThatAllDieAtOnceAreOneFailedAttempt) {
  Harness h;
  bool crash = true;
  // Every instance dies as soon as it is created, before its creation returns.
  h.instance->set_after_create([&] {
    if (!crash) return;
    for (const auto& d : h.instance->Instances()) h.instance->RemoveExternal(d.id());
  });
  h.Watch(Harness::Cattle("cattle", 10));
  EXPECT_EQ(h.Count("cattle"), 0);
  gv1::GroupStatus s = h.Status("cattle");
  // One call, one attempt: the backoff starts at 1 s, not at the cap.
  EXPECT_NE(s.last_error().find("creating 10 instances failed"), std::string::npos)
      << s.last_error();
  EXPECT_NE(s.last_error().find("attempt 1;"), std::string::npos) << s.last_error();
  EXPECT_NE(s.last_error().find("gone before its creation returned"), std::string::npos)
      << s.last_error();
  crash = false;
  ASSERT_TRUE(h.RunUntil([&] { return h.Status("cattle").converged(); }, absl::Seconds(10)));
  EXPECT_EQ(h.Count("cattle"), 10);
}

TEST(ControllerBatchTest, ScalingDownDrainsAndDestroysInBatches) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 100));
  ASSERT_EQ(h.Count("cattle"), 100);
  gv1::SetSizeRequest req;
  req.set_id("cattle");
  req.set_size(4);
  ASSERT_TRUE(h.controller->SetSize(req).ok());
  h.Settle();
  EXPECT_EQ(h.Count("cattle"), 4);
  EXPECT_EQ(Sum(h.instance->destroy_batches()), 96);
  EXPECT_LE(h.instance->destroy_batches().size(), 8u);
  EXPECT_EQ(h.flavor->drain_batches(), h.instance->destroy_batches());
  EXPECT_EQ(h.flavor->drained().size(), 96u);
}

TEST(ControllerBatchTest, AFailedDrainKeepsTheMembersAndBacksOff) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 10));
  ASSERT_EQ(h.Count("cattle"), 10);
  h.flavor->set_drain_error(absl::UnavailableError("cluster leave failed"));
  gv1::SetSizeRequest req;
  req.set_id("cattle");
  req.set_size(0);
  ASSERT_TRUE(h.controller->SetSize(req).ok());
  h.Settle();
  // Not drained, so not destroyed: all still there, the group says why and waits.
  EXPECT_EQ(h.Count("cattle"), 10);
  EXPECT_TRUE(h.instance->destroy_batches().empty());
  gv1::GroupStatus s = h.Status("cattle");
  EXPECT_NE(s.last_error().find("cluster leave failed"), std::string::npos) << s.last_error();
  EXPECT_NE(s.last_error().find("attempt 1"), std::string::npos) << s.last_error();
  EXPECT_EQ(s.waiting_for_plugin(), "flavor-fake");
  h.flavor->set_drain_error(absl::OkStatus());
  h.Advance(absl::Minutes(2));
  EXPECT_EQ(h.Count("cattle"), 0);
  EXPECT_TRUE(h.Status("cattle").converged());
}

TEST(ControllerBatchTest, HealthIsCheckedInBatchesPerFlavorSection) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 100));
  ASSERT_EQ(h.Count("cattle"), 100);
  const size_t before = h.flavor->healthy_batches().size();
  const int checked = h.flavor->healthy_calls();
  // The resync checks every member again, max_health_batch_size (64) at a time.
  h.Advance(Harness::DefaultOptions().resync_period);
  const std::vector<int> all = h.flavor->healthy_batches();
  std::vector<int> resync(all.begin() + before, all.end());
  EXPECT_EQ(Sum(resync), 100);
  EXPECT_EQ(h.flavor->healthy_calls(), checked + 100);
  // 100 queued at once over the 4 parallel calls: 25 each.
  EXPECT_EQ(resync, (std::vector<int>{25, 25, 25, 25}));
}

TEST(ControllerBatchTest, ConstantVerdictsAreNotAskedAgainAtResync) {
  Harness h;
  h.flavor->set_constant(true);  // as flavor-vanilla without a HealthCheck
  h.Watch(Harness::Cattle("cattle", 100));
  ASSERT_EQ(h.Count("cattle"), 100);
  const int checked = h.flavor->healthy_calls();
  EXPECT_EQ(checked, 100);
  // Idle means idle: the resync asks nothing.
  h.Advance(3 * Harness::DefaultOptions().resync_period);
  EXPECT_EQ(h.flavor->healthy_calls(), checked);
  EXPECT_EQ(h.Status("cattle").healthy(), 100);

  // A new member is checked once; an update's new members too, with their own section.
  h.instance->RemoveExternal(h.instance->Instances().front().id());
  h.Settle();
  EXPECT_EQ(h.flavor->healthy_calls(), checked + 1);
  auto log = h.Update(Harness::Cattle("cattle", 100, "v2"));
  ASSERT_TRUE(h.RunUntil([&] { return log->last_phase() == gv1::UPDATE_PHASE_COMPLETED; }));
  const int after_update = h.flavor->healthy_calls();
  EXPECT_GE(after_update, checked + 1 + 100);
  h.Advance(3 * Harness::DefaultOptions().resync_period);
  EXPECT_EQ(h.flavor->healthy_calls(), after_update);

  // Verdicts that may change are asked again at every resync.
  h.flavor->set_constant(false);
  h.instance->RemoveExternal(h.instance->Instances().front().id());
  h.Settle();
  h.Advance(Harness::DefaultOptions().resync_period);
  EXPECT_GE(h.flavor->healthy_calls(), after_update + 1 + 1);
  h.Advance(Harness::DefaultOptions().resync_period);
  EXPECT_GE(h.flavor->healthy_calls(), after_update + 2 + 1);
}

TEST(ControllerBatchTest, QuietIsSaidOnceAtTheEndOfEachBurst) {
  ControllerOptions o = Harness::DefaultOptions();
  auto quiet = std::make_shared<int>(0);
  o.on_quiet = [quiet] { ++*quiet; };
  Harness h(o);
  h.flavor->set_constant(true);
  h.Watch(Harness::Cattle("cattle", 40));
  ASSERT_EQ(h.Count("cattle"), 40);
  EXPECT_EQ(*quiet, 1);
  // Idle: nothing to say.
  h.Advance(3 * o.resync_period);
  EXPECT_EQ(*quiet, 1);
  // A heal is a burst of its own.
  h.instance->RemoveExternal(h.instance->Instances().front().id());
  h.Settle();
  EXPECT_EQ(h.Count("cattle"), 40);
  EXPECT_EQ(*quiet, 2);
}

TEST(ControllerBatchTest, NewMembersHealthIsGatheredWhileMoreAreOnTheirWay) {
  ControllerOptions o = Harness::DefaultOptions();
  o.health_gather_delay = absl::Milliseconds(5);
  // Three creations in three calls: the first two members are listed while the others are
  // still on their way.
  o.max_batch_size = 1;
  Harness h(o);
  h.Watch(Harness::Cattle("cattle", 3));
  ASSERT_EQ(h.Count("cattle"), 3);
  // Gathered until the last one came, then checked together at once: no time passed, and no
  // gathering timer is left behind.
  EXPECT_EQ(h.flavor->healthy_calls(), 3);
  EXPECT_EQ(h.flavor->healthy_batches(), (std::vector<int>{3}));
  EXPECT_EQ(h.Status("cattle").healthy(), 3);
  EXPECT_EQ(h.clock.pending(), 1);  // the resync's
  // A resync's many members go at once.
  const size_t before = h.flavor->healthy_batches().size();
  h.Advance(o.resync_period);
  EXPECT_EQ(h.flavor->healthy_batches().size(), before + 1);
}

TEST(ControllerBatchTest, NewMembersWaitAtMostTheGatherDelayForTheOnesOnTheirWay) {
  ControllerOptions o = Harness::DefaultOptions();
  o.health_gather_delay = absl::Milliseconds(5);
  o.max_batch_size = 1;
  Harness h(o);
  // The first instance is listed at once, the second 50 ms after its creation returned: the
  // first waits for it, but only the gather delay.
  h.instance->set_after_create([&h] { h.instance->set_listing_lag(absl::Milliseconds(50)); });
  h.Watch(Harness::Cattle("cattle", 2));
  EXPECT_EQ(h.flavor->healthy_calls(), 0);
  h.Advance(absl::Milliseconds(5));
  EXPECT_EQ(h.flavor->healthy_calls(), 1);
  // The second, listed last, has no one to wait for.
  h.Advance(absl::Milliseconds(45));
  EXPECT_EQ(h.flavor->healthy_calls(), 2);
  EXPECT_EQ(h.flavor->healthy_batches(), (std::vector<int>{1, 1}));
  EXPECT_EQ(h.Status("cattle").healthy(), 2);
}

TEST(ControllerBatchTest, ADefaultPolicyUpdateStepsOnAsSoonAsEachReplacementsHealthIsKnown) {
  // The production gather delay: a replacement created alone has no one to wait for, so each
  // step of a one-at-a-time update follows its replacement's verdict without any timer.
  ControllerOptions o = Harness::DefaultOptions();
  o.health_gather_delay = ControllerOptions().health_gather_delay;
  ASSERT_GT(o.health_gather_delay, absl::ZeroDuration());
  Harness h(o);
  h.max_instances = 11;  // surge 1
  h.Watch(Harness::Cattle("cattle", 10));
  ASSERT_EQ(h.Count("cattle"), 10);
  const absl::Time start = h.clock.Now();
  auto log = h.Update(Harness::Cattle("cattle", 10, "v2"));
  h.Settle();
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(h.clock.Now(), start);
  EXPECT_EQ(h.CountSha("cattle", h.Status("cattle").config_sha()), 10);
  EXPECT_EQ(h.peak, 11);
  // Every replacement was checked on its own, by the flavor, before the next step.
  EXPECT_EQ(h.flavor->healthy_calls(), 10 + 10);
}

TEST(ControllerBatchTest, UpdateStepsAreAllReportedInOrderWithCountsThatOnlyGrow) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 60));
  ASSERT_EQ(h.Count("cattle"), 60);
  gv1::GroupSpec next = Harness::Cattle("cattle", 60, "v2");
  next.mutable_update_policy()->mutable_max_surge()->set_percent(25);
  auto log = h.Update(next);
  ASSERT_TRUE(h.RunUntil([&] { return log->last_phase() == gv1::UPDATE_PHASE_COMPLETED; }));
  int created = 0, destroyed = 0, ready = 0;
  int64_t updated = 0;
  ASSERT_GE(log->messages.size(), 2u);
  EXPECT_EQ(log->messages.front().phase(), gv1::UPDATE_PHASE_STARTED);
  for (const gv1::UpdateGroupResponse& m : log->messages) {
    if (m.phase() != gv1::UPDATE_PHASE_PROGRESS) continue;
    if (m.message().rfind("created ", 0) == 0) ++created;
    if (m.message().rfind("destroyed ", 0) == 0) ++destroyed;
    if (m.message().find(" is ready") != std::string::npos) ++ready;
    EXPECT_GE(m.updated(), updated) << m.message();
    updated = m.updated();
    EXPECT_EQ(m.total(), 60);
  }
  // Every step is there, though steps that come together share one count.
  EXPECT_EQ(created, 60);
  EXPECT_EQ(destroyed, 60);
  EXPECT_EQ(ready, 60);
  EXPECT_EQ(log->messages.back().updated(), 60);
}

}  // namespace
}  // namespace infrakit::services::group
