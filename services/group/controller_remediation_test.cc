// Remediation of the group controller, with fakes: members UNHEALTHY for too long are
// replaced, one verdict never condemns a member (the window needs a fresh verdict at its end),
// members that have not started yet get a grace, and the circuit breaker counts only members
// past it. The invariants of harness.h are checked on every Provision / Destroy.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/group/controller.h"
#include "services/group/testing/harness.h"

namespace infrakit::services::group {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace fv1 = ::infrakit::flavor::v1;
using testing::Harness;

gv1::GroupSpec Remediated(int size, double unhealthy_seconds, double initial_delay = 0) {
  gv1::GroupSpec spec = Harness::Cattle("cattle", size);
  spec.mutable_remediation()->set_enabled(true);
  spec.mutable_remediation()->set_unhealthy_seconds(unhealthy_seconds);
  spec.mutable_remediation()->set_initial_delay_seconds(initial_delay);
  return spec;
}

TEST(RemediationTest, ReplacesLongUnhealthyMembersOneAtATime) {
  Harness h;
  gv1::GroupSpec spec = Harness::Cattle("cattle", 4);
  spec.mutable_remediation()->set_enabled(true);
  spec.mutable_remediation()->set_unhealthy_seconds(30);
  spec.mutable_remediation()->set_max_concurrent(1);
  h.Watch(spec);
  h.instance->set_listing_lag(absl::Seconds(5));
  std::vector<std::string> ids;
  for (const auto& d : h.instance->Instances()) ids.push_back(d.id());
  h.flavor->SetHealth(ids[0], fv1::HEALTH_UNHEALTHY);
  h.flavor->SetHealth(ids[1], fv1::HEALTH_UNHEALTHY);
  h.max_instances = 4;
  auto events = h.Events("cattle");
  h.Advance(absl::Seconds(10));  // the resync sees them unhealthy
  EXPECT_EQ(events->Count(gv1::GROUP_EVENT_TYPE_UNHEALTHY), 2);
  h.Advance(absl::Seconds(29));
  EXPECT_TRUE(h.instance->destroyed_order().empty());  // not unhealthy for long enough yet
  ASSERT_TRUE(
      h.RunUntil([&] { return h.instance->destroyed_order().size() == 2; }, absl::Minutes(2)));
  // One at a time: the second only once the first replacement was listed (5 s lag).
  ASSERT_EQ(h.destroy_times.size(), 2u);
  EXPECT_GE(h.destroy_times[1] - h.destroy_times[0], absl::Seconds(5));
  ASSERT_TRUE(h.RunUntil([&] { return h.Status("cattle").converged(); }));
  EXPECT_EQ(h.Count("cattle"), 4);
  EXPECT_EQ(h.Status("cattle").healthy(), 4);
}

TEST(RemediationTest, CircuitBreakerStopsReplacing) {
  Harness h;
  gv1::GroupSpec spec = Harness::Cattle("cattle", 4);
  spec.mutable_remediation()->set_enabled(true);
  spec.mutable_remediation()->set_unhealthy_seconds(30);
  spec.mutable_remediation()->set_max_concurrent(4);
  spec.mutable_remediation()->set_max_unhealthy_percent(50);
  h.Watch(spec);
  std::vector<std::string> ids;
  for (const auto& d : h.instance->Instances()) ids.push_back(d.id());
  for (int i = 0; i < 3; ++i) h.flavor->SetHealth(ids[i], fv1::HEALTH_UNHEALTHY);
  auto events = h.Events("cattle");
  h.Advance(absl::Minutes(5));
  EXPECT_TRUE(h.instance->destroyed_order().empty());
  EXPECT_TRUE(absl::StrContains(h.Status("cattle").last_error(), "circuit breaker"));
  EXPECT_TRUE(events->Has(gv1::GROUP_EVENT_TYPE_ERROR, "3 of 4 members are unhealthy"));

  // Back within the share: the breaker closes and the remaining one is replaced.
  h.flavor->ClearHealth(ids[0]);
  h.flavor->ClearHealth(ids[1]);
  ASSERT_TRUE(h.RunUntil([&] { return h.instance->destroyed_order().size() == 1; }));
  EXPECT_EQ(h.instance->destroyed_order()[0], ids[2]);
  EXPECT_TRUE(events->Has(gv1::GROUP_EVENT_TYPE_UPDATE, "remediation resumed"));
  EXPECT_EQ(h.Status("cattle").last_error(), "");
}

TEST(RemediationTest, OffByDefault) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 2));
  for (const auto& d : h.instance->Instances()) h.flavor->SetHealth(d.id(), fv1::HEALTH_UNHEALTHY);
  h.Advance(absl::Minutes(10));
  EXPECT_TRUE(h.instance->destroyed_order().empty());
  EXPECT_EQ(h.Status("cattle").healthy(), 0);
  EXPECT_EQ(h.Inspect("cattle").members(0).health(), fv1::HEALTH_UNHEALTHY);
  EXPECT_FALSE(h.Inspect("cattle").members(0).health_reason().empty());
}

// A frozen member is replaced once; its replacement, whose service takes 0.6 s to start, is
// UNHEALTHY at its first check but is checked again and kept. (Each replacement used to be
// destroyed on its first verdict, over and over.)
TEST(RemediationTest, ReplacementThatStartsSlowlyIsKept) {
  Harness h;
  h.flavor->set_startup_delay(&h.clock, absl::Milliseconds(600));
  gv1::GroupSpec spec = Remediated(3, 2, /*initial_delay=*/1);
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = spec;
  ASSERT_TRUE(h.controller->WatchGroup(watch).ok());
  auto events = h.Events("cattle");
  h.max_instances = 3;
  h.Advance(absl::Seconds(5));
  ASSERT_EQ(h.Count("cattle"), 3);
  ASSERT_EQ(h.Status("cattle").healthy(), 3);
  // Members that were starting were never unhealthy for the breaker.
  EXPECT_FALSE(events->Has(gv1::GROUP_EVENT_TYPE_ERROR, "circuit breaker"));
  EXPECT_EQ(h.Status("cattle").last_error(), "");

  const std::string frozen = h.instance->Instances()[0].id();
  h.flavor->SetHealth(frozen, fv1::HEALTH_UNHEALTHY);
  h.min_healthy = 2;
  ASSERT_TRUE(h.RunUntil([&] { return !h.instance->Exists(frozen); }, absl::Seconds(30)));
  h.Advance(absl::Minutes(2));
  // Exactly one replacement, kept and healthy.
  EXPECT_EQ(h.instance->destroyed_order(), std::vector<std::string>{frozen});
  EXPECT_EQ(h.instance->created(), 4);
  EXPECT_EQ(h.Status("cattle").healthy(), 3);
  EXPECT_FALSE(events->Has(gv1::GROUP_EVENT_TYPE_ERROR, "circuit breaker"));
}

// The same with the default grace (10 s) and a member that never starts: it is replaced only
// after its grace and a full window of UNHEALTHY verdicts.
TEST(RemediationTest, NeverStartingMemberIsReplacedAfterGraceAndWindow) {
  Harness h;
  gv1::GroupSpec spec = Remediated(2, 5);
  h.Watch(spec);
  h.max_instances = 2;
  const absl::Time created = h.clock.Now();
  h.flavor->set_default_health(fv1::HEALTH_UNHEALTHY);
  gv1::SetSizeRequest grow;
  grow.set_id("cattle");
  grow.set_size(3);
  h.max_instances = 3;
  const auto before = h.instance->Instances();
  ASSERT_TRUE(h.controller->SetSize(grow).ok());
  h.Settle();
  // The two old members are unhealthy too now; make them healthy so only the new one is not.
  for (const auto& d : before) h.flavor->SetHealth(d.id(), fv1::HEALTH_HEALTHY);
  ASSERT_TRUE(h.RunUntil([&] { return !h.instance->destroyed_order().empty(); }, absl::Minutes(1)));
  ASSERT_EQ(h.destroy_times.size(), 1u);
  // Grace (10 s) + window (5 s), re-checked every second.
  EXPECT_GE(h.destroy_times[0] - created, absl::Seconds(15));
  EXPECT_LE(h.destroy_times[0] - created, absl::Seconds(17));
}

// One UNHEALTHY verdict followed by recovery never condemns a member, however long the
// remediation window: the member is checked again every probe interval.
TEST(RemediationTest, RecoveredMemberIsNotDestroyedOnAnOldVerdict) {
  Harness h;
  h.Watch(Remediated(3, 2, 1));
  h.Advance(absl::Seconds(15));
  const std::string blip = h.instance->Instances()[1].id();
  h.flavor->SetHealth(blip, fv1::HEALTH_UNHEALTHY);
  h.Advance(absl::Seconds(5));  // the resync (every 10 s) sees it
  ASSERT_EQ(h.Inspect("cattle").members(1).id(), blip);
  ASSERT_EQ(h.Inspect("cattle").members(1).health(), fv1::HEALTH_UNHEALTHY);
  h.Advance(absl::Milliseconds(500));
  h.flavor->ClearHealth(blip);
  h.Advance(absl::Minutes(1));
  EXPECT_TRUE(h.instance->destroyed_order().empty());
  EXPECT_EQ(h.Status("cattle").healthy(), 3);
}

// Without remediation or an update too, a member whose service takes a moment to start is seen
// HEALTHY about a second after it starts, not at the next resync (10 s).
TEST(RemediationTest, StartingMemberIsSeenHealthySoonWithoutRemediation) {
  Harness h;
  h.flavor->set_startup_delay(&h.clock, absl::Milliseconds(1500));
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = Harness::Cattle("cattle", 2);
  ASSERT_TRUE(h.controller->WatchGroup(watch).ok());
  h.Settle();
  EXPECT_EQ(h.Status("cattle").healthy(), 0);
  const absl::Time start = h.clock.Now();
  ASSERT_TRUE(h.RunUntil([&] { return h.Status("cattle").healthy() == 2; }, absl::Seconds(30)));
  EXPECT_LE(h.clock.Now() - start, absl::Seconds(3));
  // Once healthy, nothing is checked again before the resync.
  const int calls = h.flavor->healthy_calls();
  h.Advance(absl::Seconds(6));  // the resync comes at 10 s
  EXPECT_EQ(h.flavor->healthy_calls(), calls);
}

}  // namespace
}  // namespace infrakit::services::group
