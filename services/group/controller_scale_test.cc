// The controller's cost with large groups, in units of work (tasks run), never in time:
// a burst of events costs a few reconcile passes, not one per event, and an idle group does
// nothing between resyncs but the resync.
#include <string>

#include "gtest/gtest.h"
#include "services/group/controller.h"
#include "services/group/testing/harness.h"
#include "spec/group_spec.h"

namespace infrakit::services::group {
namespace {

namespace gv1 = ::infrakit::group::v1;
using testing::Harness;

constexpr int kMembers = 10000;

ControllerOptions Wide() {
  ControllerOptions o = Harness::DefaultOptions();
  o.max_parallel_provisions = 100;
  o.max_parallel_destroys = 100;
  return o;
}

TEST(ScaleTest, TenThousandMembersCostLinearWork) {
  Harness h(Wide());
  h.group = "none";  // the per-Provision invariant checks are O(n) each: not here
  gv1::WatchGroupRequest req;
  *req.mutable_spec() = Harness::Cattle("big", kMembers);
  ASSERT_TRUE(h.controller->WatchGroup(req).ok());
  int tasks = h.executor.RunAll();
  EXPECT_EQ(h.instance->created(), kMembers);
  EXPECT_TRUE(h.Status("big").converged());
  // Batch calls: creations max_batch_size (128) at a time, health checks
  // max_health_batch_size (64) at a time, plus few reconcile passes: a tenth of a task per
  // member (it was two per member with unary calls).
  EXPECT_LE(tasks, kMembers / 10) << tasks;

  // Idle: nothing at all until the resync, which checks every member's health in batches.
  h.clock.Advance(absl::Seconds(9));
  EXPECT_EQ(h.executor.pending(), 0);
  h.clock.Advance(absl::Seconds(1));
  tasks = h.executor.RunAll();
  EXPECT_LE(tasks, kMembers / 64 + 20) << tasks;
  EXPECT_EQ(h.flavor->healthy_calls(), 2 * kMembers);
  EXPECT_EQ(h.instance->describe_calls(), 0);

  // One instance gone: a handful of tasks, not a pass per member.
  h.instance->RemoveExternal("inst-0042");
  tasks = h.executor.RunAll();
  EXPECT_LE(tasks, 10) << tasks;
  EXPECT_EQ(h.instance->created(), kMembers + 1);
}

TEST(ScaleTest, ResumingTenThousandListedMembersIsOneBurst) {
  Harness h(Wide());
  h.group = "none";
  const std::string sha = spec::ConfigSha(Harness::Cattle("big", kMembers));
  for (int i = 0; i < kMembers; ++i) {
    h.instance->AddExternal({{"infrakit.group", "big"}, {"infrakit.config_sha", sha}});
  }
  gv1::WatchGroupRequest req;
  *req.mutable_spec() = Harness::Cattle("big", kMembers);
  ASSERT_TRUE(h.controller->WatchGroup(req).ok());
  int tasks = h.executor.RunAll();
  // The initial set of 10,000 events is applied in one go: nothing created, every member's
  // health checked in batches.
  EXPECT_EQ(h.instance->created(), 0);
  EXPECT_LE(tasks, kMembers / 64 + 20) << tasks;
  EXPECT_TRUE(h.Status("big").converged());
}

}  // namespace
}  // namespace infrakit::services::group
