// Rolling updates, restarts and remediation of the group controller, with fakes. Every test
// runs with the invariants of harness.h checked on every Provision / Destroy and after every
// task: at most size + surge instances, at least size - unavailable healthy ones, no
// current-config instance destroyed while outdated ones remain, nothing destroyed twice.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/group/controller.h"
#include "services/group/testing/harness.h"
#include "spec/group_spec.h"

namespace infrakit::services::group {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace fv1 = ::infrakit::flavor::v1;
using ::infrakit::spec::ConfigSha;
using testing::Harness;
using testing::UpdateLog;

bool Ended(const std::shared_ptr<UpdateLog>& log) { return log->ended; }

// Arms the invariants for an update of `group` to size `n` with the given limits.
void Arm(Harness& h, const std::string& group, int n, int surge, int unavailable) {
  h.group = group;
  h.max_instances = n + surge;
  h.min_healthy = n - unavailable;
  h.check_current_config = true;
}

gv1::GroupSpec WithPolicy(gv1::GroupSpec spec, int surge, int unavailable, double min_ready = 0,
                          double deadline = 0,
                          gv1::FailureAction on_failure = gv1::FAILURE_ACTION_UNSPECIFIED) {
  gv1::UpdatePolicy* p = spec.mutable_update_policy();
  if (surge >= 0) p->mutable_max_surge()->set_count(surge);
  if (unavailable >= 0) p->mutable_max_unavailable()->set_count(unavailable);
  p->set_min_ready_seconds(min_ready);
  p->set_health_deadline_seconds(deadline);
  p->set_on_failure(on_failure);
  return spec;
}

TEST(UpdateTest, TutorialFiveOnV1ToThreeOnV2) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 5, "Instance properties version 1.0");
  h.Watch(v1);
  ASSERT_EQ(h.Count("cattle"), 5);
  gv1::GroupSpec v2 = Harness::Cattle("cattle", 3, "Instance properties version 2.0 -- CHANGED");
  const std::string sha2 = ConfigSha(v2);
  ASSERT_NE(sha2, ConfigSha(v1));

  gv1::DescribeUpdateRequest describe;
  *describe.mutable_spec() = v2;
  auto plan = h.controller->DescribeUpdate(describe);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan().summary(),
            "Performs a rolling update of 3 instances, then terminates 2 instances");
  EXPECT_EQ(plan->plan().steps_size(), 5);
  EXPECT_EQ(plan->plan().config_sha(), sha2);

  Arm(h, "cattle", 3, 1, 0);
  h.peak = 0;
  auto events = h.Events("cattle");
  auto log = h.Update(v2);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  ASSERT_GE(log->messages.size(), 2u);
  EXPECT_EQ(log->messages.front().phase(), gv1::UPDATE_PHASE_STARTED);
  EXPECT_EQ(log->messages.front().message(),
            "Performs a rolling update of 3 instances, then terminates 2 instances");
  EXPECT_EQ(log->messages.front().total(), 3);
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(log->messages.back().updated(), 3);
  EXPECT_TRUE(log->end.ok());
  // Progress in between, one message per step.
  int progress = 0;
  for (const auto& m : log->messages) progress += m.phase() == gv1::UPDATE_PHASE_PROGRESS;
  EXPECT_GE(progress, 3 + 5);  // 3 created + 5 destroyed (+ ready reports)

  EXPECT_EQ(h.Count("cattle"), 3);
  EXPECT_EQ(h.CountSha("cattle", sha2), 3);
  gv1::GroupStatus s = h.Status("cattle");
  EXPECT_FALSE(s.updating());
  EXPECT_TRUE(s.converged());
  EXPECT_EQ(s.config_sha(), sha2);
  EXPECT_EQ(s.outdated(), 0);
  for (const auto& spec : h.instance->provisioned_specs()) {
    if (spec.tags().at("infrakit.config_sha") == sha2) {
      EXPECT_EQ(spec.properties().fields().at("Note").string_value(),
                "Instance properties version 2.0 -- CHANGED");
    }
  }
  EXPECT_TRUE(events->Has(gv1::GROUP_EVENT_TYPE_UPDATE, "update completed"));
  EXPECT_GE(events->Count(gv1::GROUP_EVENT_TYPE_UPDATE_STEP), 8);
  EXPECT_EQ(h.peak, 4);
  // The persisted record has no update left.
  GroupRecord record;
  ASSERT_TRUE(h.store.Get("cattle", &record));
  EXPECT_FALSE(record.update().active());
  EXPECT_EQ(ConfigSha(record.spec()), sha2);
}

struct PolicyCase {
  std::string name;
  int size;
  int surge;        // -1: default
  int unavailable;  // -1: default
  int percent_surge = 0;
  double min_ready = 0;
  // Effective limits (what the defaults / percentages resolve to).
  int eff_surge;
  int eff_unavailable;
};

class PolicyTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(PolicyTest, RollsWithinTheLimits) {
  const PolicyCase& c = GetParam();
  Harness h;
  h.Watch(Harness::Cattle("cattle", c.size, "v1"));
  gv1::GroupSpec v2 =
      WithPolicy(Harness::Cattle("cattle", c.size, "v2"), c.surge, c.unavailable, c.min_ready);
  if (c.percent_surge > 0)
    v2.mutable_update_policy()->mutable_max_surge()->set_percent(c.percent_surge);
  const std::string sha2 = ConfigSha(v2);
  Arm(h, "cattle", c.size, c.eff_surge, c.eff_unavailable);
  h.peak = 0;
  h.trough = 1 << 30;
  const absl::Time start = h.clock.Now();
  auto log = h.Update(v2);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(h.CountSha("cattle", sha2), c.size);
  EXPECT_EQ(h.Count("cattle"), c.size);
  // The allowances are used, not just respected.
  EXPECT_EQ(h.peak, c.size + c.eff_surge);
  EXPECT_GE(h.trough, c.size - c.eff_unavailable);
  // Without surge, the unavailable allowance is what lets the roll start.
  if (c.eff_surge == 0) {
    EXPECT_EQ(h.trough, c.size - c.eff_unavailable);
  }
  if (c.min_ready > 0) {
    // No old instance goes before a new one has been healthy for min_ready.
    ASSERT_FALSE(h.destroy_times.empty());
    EXPECT_GE(h.destroy_times.front() - start, absl::Seconds(c.min_ready));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, PolicyTest,
                         ::testing::Values(PolicyCase{"Defaults", 6, -1, -1, 0, 0, 1, 0},
                                           PolicyCase{"SurgeTwo", 6, 2, 0, 0, 0, 2, 0},
                                           PolicyCase{"UnavailableTwo", 6, 0, 2, 0, 0, 0, 2},
                                           PolicyCase{"SurgeAndUnavailable", 6, 1, 1, 0, 0, 1, 1},
                                           PolicyCase{"SurgePercent", 6, -1, 0, 50, 0, 3, 0},
                                           PolicyCase{"MinReady", 4, 1, 0, 0, 5, 1, 0}),
                         [](const auto& info) { return info.param.name; });

TEST(UpdateTest, PetsAreReplacedInPlaceOneAtATimeAfterHealthy) {
  Harness h;
  h.Watch(Harness::Pets("pets", {"a", "b", "c"}, "v1"));
  std::map<std::string, std::string> lid_of;
  for (const auto& d : h.instance->Instances()) lid_of[d.id()] = d.logical_id();
  gv1::GroupSpec v2 = Harness::Pets("pets", {"a", "b", "c"}, "v2");
  const std::string sha2 = ConfigSha(v2);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_UNKNOWN);  // new members start not ready
  Arm(h, "pets", 3, 0, 1);
  auto log = h.Update(v2);
  h.Advance(absl::Seconds(60));
  // One replaced (destroyed first, then recreated with its logical ID), and the next waits
  // for it: UNKNOWN is not healthy.
  EXPECT_EQ(h.instance->destroyed_order().size(), 1u);
  EXPECT_EQ(h.CountSha("pets", sha2), 1);
  EXPECT_EQ(h.Count("pets"), 3);
  EXPECT_EQ(h.peak, 3);

  h.flavor->SetShaHealth(sha2, fv1::HEALTH_HEALTHY);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(log->messages.front().message(), "Performs a rolling update of 3 instances");
  EXPECT_EQ(h.CountSha("pets", sha2), 3);
  std::set<std::string> lids;
  for (const auto& d : h.instance->Instances()) lids.insert(d.logical_id());
  EXPECT_EQ(lids, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(h.trough, 2);
  EXPECT_EQ(h.peak, 3);
}

// A flavor running an ensemble says which member leads (update_order 1) and how many may be
// down at once (max_unavailable): the roll replaces the leader last and never takes down more
// than the flavor allows, whatever the update policy says.
TEST(UpdateTest, EnsembleRollsTheLeaderLastWithinTheFlavorsLimit) {
  Harness h;
  h.flavor->set_max_unavailable(1);
  gv1::GroupSpec v1 = Harness::Pets("pets", {"a", "b", "c", "d", "e"}, "v1");
  h.Watch(v1);
  std::map<std::string, std::string> lid_of;
  std::string leader;
  for (const auto& d : h.instance->Instances()) {
    lid_of[d.id()] = d.logical_id();
    if (d.logical_id() == "b") leader = d.id();
  }
  h.flavor->SetUpdateOrder(leader, 1);
  h.Advance(absl::Seconds(10));  // the resync learns who leads
  gv1::InspectGroupResponse before = h.Inspect("pets");
  for (const auto& m : before.members()) {
    EXPECT_EQ(m.role(), m.id() == leader ? "leader" : "") << m.id();
  }
  // The policy would allow 3 down at once; the flavor allows 1.
  gv1::GroupSpec v2 = WithPolicy(Harness::Pets("pets", {"a", "b", "c", "d", "e"}, "v2"), -1, 3);
  Arm(h, "pets", 5, 0, 1);
  auto log = h.Update(v2);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  std::vector<std::string> order;
  for (const std::string& id : h.instance->destroyed_order()) order.push_back(lid_of[id]);
  ASSERT_EQ(order.size(), 5u);
  EXPECT_EQ(order.back(), "b") << "the leader goes last";
  EXPECT_EQ(h.trough, 4) << "never two members down";
}

TEST(UpdateTest, DeadlinePausesAndKeepsWhatItHas) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3, "v1"));
  gv1::GroupSpec v2 = WithPolicy(Harness::Cattle("cattle", 3, "v2"), -1, -1, 0, 30);
  const std::string sha2 = ConfigSha(v2);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_UNHEALTHY);
  Arm(h, "cattle", 3, 1, 0);
  auto events = h.Events("cattle");
  auto log = h.Update(v2);
  h.Advance(absl::Seconds(29));
  EXPECT_FALSE(log->ended);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }, absl::Seconds(5)));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_PAUSED);
  EXPECT_TRUE(absl::StrContains(log->messages.back().message(), "did not become healthy"));
  gv1::GroupStatus s = h.Status("cattle");
  EXPECT_TRUE(s.paused());
  EXPECT_FALSE(s.updating());
  EXPECT_TRUE(absl::StrContains(s.last_error(), "update paused")) << s.last_error();
  EXPECT_TRUE(events->Has(gv1::GROUP_EVENT_TYPE_UPDATE, "update paused"));

  // Paused: nothing more is created or destroyed; the old members stay.
  const int created = h.instance->created();
  h.Advance(absl::Minutes(10));
  EXPECT_EQ(h.instance->created(), created);
  EXPECT_TRUE(h.instance->destroyed_order().empty());
  EXPECT_EQ(h.CountSha("cattle", ConfigSha(Harness::Cattle("cattle", 3, "v1"))), 3);
  GroupRecord record;
  ASSERT_TRUE(h.store.Get("cattle", &record));
  EXPECT_TRUE(record.update().paused());

  // Updating to a working config resumes (and replaces the broken member first).
  gv1::GroupSpec v3 = Harness::Cattle("cattle", 3, "v3");
  auto log3 = h.Update(v3);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log3); }));
  EXPECT_EQ(log3->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(h.CountSha("cattle", ConfigSha(v3)), 3);
  ASSERT_FALSE(h.destroyed_shas.empty());
  EXPECT_EQ(h.destroyed_shas.front(), sha2);
}

// The new config adds a health check the new member fails. The old members are checked with
// their own config's flavor properties (no check: healthy), not the new one's: they are kept
// (max unavailable 0) until the deadline pauses the update.
TEST(UpdateTest, OldMembersAreCheckedWithTheirOwnConfig) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 3, "v1");
  const std::string sha1 = ConfigSha(v1);
  h.Watch(v1);
  ASSERT_EQ(h.Count("cattle"), 3);
  gv1::GroupSpec v2 = v1;
  (*v2.mutable_flavor()->mutable_properties()->mutable_fields())["HealthCheck"].set_string_value(
      "false");
  const std::string sha2 = ConfigSha(v2);
  ASSERT_NE(sha1, sha2);
  // Whatever is probed with the new properties fails; the ground truth of the invariants
  // agrees for the new config's members and keeps the old ones healthy.
  h.flavor->SetPropertyHealth("HealthCheck", fv1::HEALTH_UNHEALTHY);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_UNHEALTHY);
  Arm(h, "cattle", 3, 1, 0);
  auto log = h.Update(v2);
  // Several resyncs (every member re-checked) before the default 300 s deadline.
  h.Advance(absl::Seconds(60));
  EXPECT_FALSE(log->ended);
  EXPECT_TRUE(h.instance->destroyed_order().empty());
  EXPECT_EQ(h.CountSha("cattle", sha1), 3);
  EXPECT_EQ(h.CountSha("cattle", sha2), 1);
  EXPECT_EQ(h.Status("cattle").healthy(), 3);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }, absl::Minutes(10)));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_PAUSED);
  h.Advance(absl::Minutes(2));
  EXPECT_TRUE(h.instance->destroyed_order().empty());
  EXPECT_EQ(h.CountSha("cattle", sha1), 3);
  gv1::InspectGroupResponse r = h.Inspect("cattle");
  EXPECT_EQ(r.status().healthy(), 3);
  for (const auto& m : r.members()) {
    EXPECT_EQ(m.health(), m.outdated() ? fv1::HEALTH_HEALTHY : fv1::HEALTH_UNHEALTHY) << m.id();
  }
}

// A member of neither the current nor the previous config (here: made by a superseded update)
// is probed with the current config's check; that verdict never makes it go sooner than the
// normal outdated order, i.e. never below the availability floor.
TEST(UpdateTest, UnknownConfigVerdictIsNotGroundsForDestroying) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 2, "v1");
  h.Watch(v1);
  gv1::GroupSpec v2 = WithPolicy(Harness::Cattle("cattle", 2, "v2"), 0, 1, /*min_ready=*/5);
  const std::string sha2 = ConfigSha(v2);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_HEALTHY);
  auto log2 = h.Update(v2);
  // One v1 member replaced by a v2 one, then superseded mid-way.
  ASSERT_TRUE(h.RunUntil([&] { return h.CountSha("cattle", sha2) == 1 && h.Count("cattle") == 2; },
                         absl::Seconds(30)));
  gv1::GroupSpec v3 = WithPolicy(Harness::Cattle("cattle", 2, "v3"), 1, 0);
  (*v3.mutable_flavor()->mutable_properties()->mutable_fields())["HealthCheck"].set_string_value(
      "false");
  const std::string sha3 = ConfigSha(v3);
  h.flavor->SetPropertyHealth("HealthCheck", fv1::HEALTH_UNHEALTHY);
  h.flavor->SetShaHealth(sha3, fv1::HEALTH_UNHEALTHY);
  Arm(h, "cattle", 2, 1, 0);
  const size_t destroyed_before = h.instance->destroyed_order().size();
  auto log3 = h.Update(v3);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log3); }, absl::Minutes(10)));
  EXPECT_EQ(log3->last_phase(), gv1::UPDATE_PHASE_PAUSED);
  EXPECT_EQ(h.instance->destroyed_order().size(), destroyed_before);
  EXPECT_EQ(h.CountSha("cattle", sha2), 1);
}

TEST(UpdateTest, CreationsFailingPastTheDeadlinePause) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 2, "v1"));
  h.instance->set_provision_error(absl::ResourceExhaustedError("quota exceeded"));
  Arm(h, "cattle", 2, 1, 0);
  auto log = h.Update(WithPolicy(Harness::Cattle("cattle", 2, "v2"), -1, -1, 0, 45));
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_PAUSED);
  EXPECT_TRUE(absl::StrContains(log->messages.back().message(), "quota exceeded"))
      << log->messages.back().message();
  EXPECT_TRUE(h.instance->destroyed_order().empty());
  EXPECT_EQ(h.Count("cattle"), 2);
}

TEST(UpdateTest, UnwatchEndsTheUpdateStream) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 2, "v1"));
  gv1::GroupSpec v2 = Harness::Cattle("cattle", 2, "v2");
  h.flavor->SetShaHealth(ConfigSha(v2), fv1::HEALTH_UNKNOWN);
  auto log = h.Update(v2);
  h.Advance(absl::Seconds(2));
  gv1::UnwatchGroupRequest req;
  req.set_id("cattle");
  ASSERT_TRUE(h.controller->UnwatchGroup(req).ok());
  h.Settle();
  EXPECT_TRUE(log->ended);
  EXPECT_TRUE(log->end.ok());
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_STOPPED);
  EXPECT_EQ(h.Count("cattle"), 3);  // instances are left as they are
}

TEST(UpdateTest, UnknownHealthIsNotHealthy) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 2, "v1"));
  gv1::GroupSpec v2 = WithPolicy(Harness::Cattle("cattle", 2, "v2"), -1, -1, 0, 20);
  h.flavor->SetShaHealth(ConfigSha(v2), fv1::HEALTH_UNKNOWN);
  Arm(h, "cattle", 2, 1, 0);
  auto log = h.Update(v2);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_PAUSED);
  EXPECT_TRUE(absl::StrContains(log->messages.back().message(), "HEALTH_UNKNOWN"));
  EXPECT_TRUE(h.instance->destroyed_order().empty());
}

TEST(UpdateTest, DeadlineRollsBackWhenAskedTo) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 3, "v1");
  h.Watch(v1);
  gv1::GroupSpec v2 =
      WithPolicy(Harness::Cattle("cattle", 3, "v2"), 2, 0, 0, 30, gv1::FAILURE_ACTION_ROLLBACK);
  const std::string sha2 = ConfigSha(v2);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_UNHEALTHY);
  Arm(h, "cattle", 3, 2, 0);
  auto events = h.Events("cattle");
  auto log = h.Update(v2);
  // The stream says the rollback started, goes on with its progress, and ends ROLLED_BACK only
  // once the group is back on the previous config.
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_ROLLED_BACK);
  EXPECT_TRUE(absl::StrContains(log->messages.back().message(), "rollback completed"));
  EXPECT_EQ(h.CountSha("cattle", ConfigSha(v1)), 3);
  EXPECT_FALSE(h.Status("cattle").updating());
  int rolling_back = 0;
  for (const auto& m : log->messages) {
    rolling_back += m.phase() == gv1::UPDATE_PHASE_ROLLING_BACK;
    if (m.phase() == gv1::UPDATE_PHASE_ROLLING_BACK) {
      EXPECT_TRUE(absl::StrContains(m.message(), "rolling back")) << m.message();
    }
  }
  EXPECT_EQ(rolling_back, 1);
  EXPECT_EQ(h.Count("cattle"), 3);
  EXPECT_EQ(h.CountSha("cattle", ConfigSha(v1)), 3);
  EXPECT_EQ(h.CountSha("cattle", sha2), 0);
  EXPECT_EQ(h.Status("cattle").config_sha(), ConfigSha(v1));
  EXPECT_TRUE(events->Has(gv1::GROUP_EVENT_TYPE_UPDATE, "rollback completed"));
  // Only the broken new members were destroyed.
  for (const std::string& sha : h.destroyed_shas) EXPECT_EQ(sha, sha2);
  EXPECT_EQ(h.destroyed_shas.size(), 2u);
  EXPECT_EQ(h.Inspect("cattle").spec().instance().properties().fields().at("Note").string_value(),
            "v1");
}

// v2 differs from v1 in its flavor section too: a field that makes the fake flavor answer
// UNHEALTHY for whatever it checks with v2's section, so a v1 member checked with the wrong
// section would show it.
gv1::GroupSpec WithProbe(gv1::GroupSpec spec) {
  (*spec.mutable_flavor()->mutable_properties()->mutable_fields())["Probe"].set_string_value("x");
  return spec;
}

TEST(StopTest, StopDuringSurgeDestroysTheSurgeMemberNotAHealthyOne) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 4, "v1");
  h.Watch(v1);
  gv1::GroupSpec v2 = WithProbe(Harness::Cattle("cattle", 4, "v2"));
  const std::string sha1 = ConfigSha(v1), sha2 = ConfigSha(v2);
  h.flavor->SetPropertyHealth("Probe", fv1::HEALTH_UNHEALTHY);
  Arm(h, "cattle", 4, 1, 0);
  auto log = h.Update(v2);
  h.Advance(absl::Seconds(5));
  ASSERT_EQ(h.CountSha("cattle", sha2), 1);
  ASSERT_EQ(h.CountSha("cattle", sha1), 4);

  gv1::StopUpdateRequest stop;
  stop.set_id("cattle");
  auto events = h.Events("cattle");
  // The invariants stay armed: a stop keeps every healthy member (min_healthy 4) and never
  // destroys a current-config member while... it may (the surge one): that check is for rolls.
  h.check_current_config = false;
  ASSERT_TRUE(h.controller->StopUpdate(stop).ok());
  h.Settle();
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_STOPPED);
  EXPECT_TRUE(log->ended);
  EXPECT_TRUE(absl::StrContains(log->messages.back().message(), "keeps its members of both"));
  ASSERT_TRUE(h.RunUntil([&] { return h.Count("cattle") == 4; }));
  // The surge member, not ready, went; the four healthy v1 members stayed.
  EXPECT_EQ(h.CountSha("cattle", sha1), 4);
  EXPECT_EQ(h.CountSha("cattle", sha2), 0);
  ASSERT_EQ(h.destroyed_shas.size(), 1u);
  EXPECT_EQ(h.destroyed_shas[0], sha2);

  // Stopped, not converging: the v1 members are checked with v1's flavor section (healthy),
  // the group holds them, and ls says so.
  h.Advance(absl::Seconds(30));
  gv1::GroupStatus st = h.Status("cattle");
  EXPECT_TRUE(st.stopped());
  EXPECT_FALSE(st.updating());
  EXPECT_FALSE(st.paused());
  EXPECT_TRUE(st.converged());
  EXPECT_EQ(st.healthy(), 4);
  EXPECT_EQ(st.outdated(), 4);
  EXPECT_EQ(st.last_error(), "");
  const gv1::InspectGroupResponse inspected = h.Inspect("cattle");
  for (const auto& m : inspected.members()) {
    EXPECT_EQ(m.health(), fv1::HEALTH_HEALTHY) << m.id() << ": " << m.health_reason();
  }
  EXPECT_EQ(events->Count(gv1::GROUP_EVENT_TYPE_UNHEALTHY), 0);
  // Nothing rolls any more, and stopping again says there is nothing to stop.
  EXPECT_EQ(h.instance->created(), 5);
  absl::Status again = h.controller->StopUpdate(stop);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(again.message(), "has no update in progress")) << again;

  // The stopped state survives a restart.
  ASSERT_TRUE(h.Restart().ok());
  h.Advance(absl::Seconds(30));
  EXPECT_TRUE(h.Status("cattle").stopped());
  EXPECT_EQ(h.Status("cattle").healthy(), 4);
  EXPECT_EQ(h.Count("cattle"), 4);

  // The next update rolls on from there.
  h.flavor->SetPropertyHealth("Probe", fv1::HEALTH_HEALTHY);
  gv1::GroupSpec v3 = Harness::Cattle("cattle", 4, "v3");
  h.check_current_config = true;
  auto log3 = h.Update(v3);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log3); }));
  EXPECT_EQ(log3->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_FALSE(h.Status("cattle").stopped());
  EXPECT_EQ(h.CountSha("cattle", ConfigSha(v3)), 4);
}

TEST(StopTest, StopOfAPausedUpdateKeepsTheHealthyOldMembers) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 2, "v1");
  h.Watch(v1);
  gv1::GroupSpec v2 = WithPolicy(Harness::Cattle("cattle", 2, "v2"), 1, 0, 0, 20);
  const std::string sha1 = ConfigSha(v1), sha2 = ConfigSha(v2);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_UNHEALTHY);
  Arm(h, "cattle", 2, 1, 0);
  auto log = h.Update(v2);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  ASSERT_EQ(log->last_phase(), gv1::UPDATE_PHASE_PAUSED);
  ASSERT_EQ(h.CountSha("cattle", sha2), 1);

  gv1::StopUpdateRequest stop;
  stop.set_id("cattle");
  h.check_current_config = false;
  ASSERT_TRUE(h.controller->StopUpdate(stop).ok());
  ASSERT_TRUE(h.RunUntil([&] { return h.Count("cattle") == 2; }));
  h.Advance(absl::Minutes(2));
  EXPECT_EQ(h.CountSha("cattle", sha1), 2);
  EXPECT_EQ(h.CountSha("cattle", sha2), 0);
  EXPECT_EQ(h.Status("cattle").healthy(), 2);
  EXPECT_TRUE(h.Status("cattle").stopped());
  EXPECT_FALSE(h.Status("cattle").paused());
}

TEST(StopTest, StoppedUpdateEndsWhenNoOlderMemberIsLeft) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 3, "v1");
  h.Watch(v1);
  gv1::GroupSpec v2 = Harness::Cattle("cattle", 3, "v2");
  const std::string sha2 = ConfigSha(v2);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_UNKNOWN);
  auto log = h.Update(v2);
  h.Advance(absl::Seconds(5));
  gv1::StopUpdateRequest stop;
  stop.set_id("cattle");
  ASSERT_TRUE(h.controller->StopUpdate(stop).ok());
  h.Settle();
  ASSERT_TRUE(h.Status("cattle").stopped());
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_HEALTHY);
  // The old members die one by one; their replacements are on the current config.
  for (const auto& d : h.instance->Instances()) {
    if (d.tags().at("infrakit.config_sha") != sha2) h.instance->RemoveExternal(d.id());
    h.Settle();
  }
  ASSERT_TRUE(h.RunUntil([&] { return !h.Status("cattle").stopped(); }, absl::Minutes(1)));
  EXPECT_EQ(h.CountSha("cattle", sha2), 3);
  EXPECT_EQ(h.Status("cattle").outdated(), 0);
  EXPECT_TRUE(h.Status("cattle").converged());
}

TEST(UpdateTest, UpdatedCountNeverGoesBackWithinAnUpdate) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 3, "v1");
  h.Watch(v1);
  gv1::GroupSpec v2 = Harness::Cattle("cattle", 3, "v2");
  const std::string sha1 = ConfigSha(v1), sha2 = ConfigSha(v2);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_UNKNOWN);
  auto new_ids = [&] {
    std::vector<std::string> ids;
    for (const auto& d : h.instance->Instances()) {
      if (d.tags().at("infrakit.config_sha") == sha2) ids.push_back(d.id());
    }
    return ids;
  };
  auto log = h.Update(v2);
  h.Settle();
  ASSERT_EQ(new_ids().size(), 1u);
  const std::string first = new_ids()[0];
  h.flavor->SetHealth(first, fv1::HEALTH_HEALTHY);
  // The first new member becomes ready (1/3): an old one goes, a second new one comes.
  ASSERT_TRUE(h.RunUntil([&] { return new_ids().size() == 2; }));
  // Then its verdict flaps, and a step happens meanwhile (an old member dies and is replaced).
  h.flavor->SetHealth(first, fv1::HEALTH_UNKNOWN);
  h.Advance(absl::Seconds(10));
  for (const auto& d : h.instance->Instances()) {
    if (d.tags().at("infrakit.config_sha") == sha1) {
      h.instance->RemoveExternal(d.id());
      break;
    }
  }
  h.Settle();
  h.flavor->ClearHealth(first);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_HEALTHY);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  int64_t high = 0;
  for (const auto& m : log->messages) {
    EXPECT_GE(m.updated(), high) << m.message();
    high = std::max(high, m.updated());
  }
  EXPECT_EQ(high, 3);
}

TEST(UpdateTest, NewUpdateSupersedesAndReplacesBrokenMembersFirst) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 3, "v1");
  h.Watch(v1);
  gv1::GroupSpec v2 = Harness::Cattle("cattle", 3, "v2");
  const std::string sha1 = ConfigSha(v1), sha2 = ConfigSha(v2);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_UNHEALTHY);
  Arm(h, "cattle", 3, 1, 0);
  auto log2 = h.Update(v2);
  h.Advance(absl::Seconds(10));
  EXPECT_EQ(h.CountSha("cattle", sha2), 1);

  gv1::GroupSpec v3 = Harness::Cattle("cattle", 3, "v3");
  auto log3 = h.Update(v3);
  h.Settle();
  EXPECT_EQ(log2->last_phase(), gv1::UPDATE_PHASE_SUPERSEDED);
  EXPECT_TRUE(log2->ended);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log3); }));
  EXPECT_EQ(log3->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(h.CountSha("cattle", ConfigSha(v3)), 3);
  ASSERT_EQ(h.destroyed_shas.size(), 4u);
  EXPECT_EQ(h.destroyed_shas[0], sha2);  // the broken new-config member went first
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(h.destroyed_shas[i], sha1);

  // Rolling back the superseding update would go to the spec before both.
  GroupRecord record;
  ASSERT_TRUE(h.store.Get("cattle", &record));
  EXPECT_FALSE(record.update().active());
}

TEST(UpdateTest, SizeChangeDuringAnUpdateAppliesAtOnce) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 5, "v1"));
  gv1::GroupSpec v2 = Harness::Cattle("cattle", 5, "v2");
  const std::string sha2 = ConfigSha(v2);
  h.flavor->SetShaHealth(sha2, fv1::HEALTH_UNKNOWN);  // the roll stalls
  h.group = "cattle";
  h.check_current_config = true;
  auto log = h.Update(v2);
  h.Advance(absl::Seconds(5));
  EXPECT_EQ(h.Count("cattle"), 6);

  gv1::SetSizeRequest req;
  req.set_id("cattle");
  req.set_size(2);
  ASSERT_TRUE(h.controller->SetSize(req).ok());
  h.Settle();
  // Extras of the old config went at once, without waiting for the roll.
  EXPECT_EQ(h.Count("cattle"), 3);
  EXPECT_FALSE(log->ended);
  EXPECT_EQ(log->messages.back().total(), 2);

  h.flavor->SetShaHealth(sha2, fv1::HEALTH_HEALTHY);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(h.Count("cattle"), 2);
  EXPECT_EQ(h.CountSha("cattle", sha2), 2);
}

TEST(UpdateTest, NoopAndPureResize) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 2);
  h.Watch(v1);
  auto noop = h.Update(v1);
  h.Settle();
  ASSERT_EQ(noop->messages.size(), 2u);
  EXPECT_EQ(noop->messages[0].message(), "Noop");
  EXPECT_EQ(noop->last_phase(), gv1::UPDATE_PHASE_COMPLETED);

  auto grow = h.Update(Harness::Cattle("cattle", 4));
  h.Settle();
  EXPECT_EQ(grow->messages.front().message(), "Adds 2 instances");
  EXPECT_EQ(grow->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(h.Count("cattle"), 4);
  EXPECT_TRUE(h.instance->destroyed_order().empty());  // a resize replaces nothing
}

TEST(UpdateTest, DescribeUpdateIsPure) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3, "v1"));
  const int puts = h.store.puts();
  gv1::DescribeUpdateRequest req;
  *req.mutable_spec() = Harness::Cattle("cattle", 3, "v1");
  auto noop = h.controller->DescribeUpdate(req);
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ(noop->plan().summary(), "Noop");
  EXPECT_EQ(noop->plan().steps_size(), 0);

  *req.mutable_spec() = Harness::Cattle("cattle", 4, "v2");
  auto plan = h.controller->DescribeUpdate(req);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->plan().summary(),
            "Performs a rolling update of 3 instances, then adds 1 instance");
  std::set<std::string> replaced;
  for (const auto& step : plan->plan().steps()) {
    if (step.action() == gv1::STEP_ACTION_REPLACE) replaced.insert(step.instance_id());
  }
  std::set<std::string> ids;
  for (const auto& d : h.instance->Instances()) ids.insert(d.id());
  EXPECT_EQ(replaced, ids);
  h.Advance(absl::Minutes(1));
  EXPECT_EQ(h.instance->created(), 3);
  EXPECT_FALSE(h.Status("cattle").updating());
  EXPECT_EQ(h.store.puts(), puts);

  // Errors: bad spec, a different instance plugin, cattle to pets.
  *req.mutable_spec() = Harness::Cattle("cattle", -3);
  EXPECT_EQ(h.controller->DescribeUpdate(req).status().code(), absl::StatusCode::kInvalidArgument);
  *req.mutable_spec() = Harness::Cattle("cattle", 3);
  req.mutable_spec()->mutable_instance()->set_plugin("instance-other");
  auto moved = h.controller->DescribeUpdate(req);
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(moved.status().message(), "instance.plugin"));
  *req.mutable_spec() = Harness::Pets("cattle", {"a"});
  EXPECT_EQ(h.controller->DescribeUpdate(req).status().code(),
            absl::StatusCode::kFailedPrecondition);
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = req.spec();
  EXPECT_EQ(h.controller->UpdateGroup(update, nullptr, nullptr).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(UpdateTest, UpdateWhileMembershipUnknownIsUnavailable) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 2));
  h.instance->BreakWatches(absl::UnavailableError("gone"));
  h.instance->set_down(true);
  h.Settle();
  h.instance->set_down(false);  // answers calls again, but the watch is not back yet
  gv1::UpdateGroupRequest req;
  *req.mutable_spec() = Harness::Cattle("cattle", 2, "v2");
  auto r = h.controller->UpdateGroup(req, nullptr, nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.status().message(), testing::kInstancePlugin));
}

TEST(UpdateTest, PluginDownMidUpdateWaitsWithoutDestroying) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3, "v1"));
  gv1::GroupSpec v2 = Harness::Cattle("cattle", 3, "v2");
  h.flavor->SetShaHealth(ConfigSha(v2), fv1::HEALTH_UNKNOWN);
  Arm(h, "cattle", 3, 1, 0);
  auto log = h.Update(v2);
  h.Advance(absl::Seconds(3));
  h.instance->set_down(true);
  h.resolver.SetDown(testing::kInstancePlugin, true);
  h.flavor->SetShaHealth(ConfigSha(v2), fv1::HEALTH_HEALTHY);
  h.Advance(absl::Minutes(2));
  EXPECT_TRUE(h.instance->destroy_calls().empty());
  EXPECT_EQ(h.Status("cattle").waiting_for_plugin(), testing::kInstancePlugin);
  EXPECT_FALSE(log->ended);
  h.instance->set_down(false);
  h.resolver.SetDown(testing::kInstancePlugin, false);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(h.CountSha("cattle", ConfigSha(v2)), 3);
}

TEST(RestartTest, InterruptedUpdateCarriesOn) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 4, "v1");
  h.Watch(v1);
  // Each new member counts after 5 s of health, so the update takes a while.
  gv1::GroupSpec v2 = WithPolicy(Harness::Cattle("cattle", 4, "v2"), -1, -1, 5);
  const std::string sha2 = ConfigSha(v2);
  Arm(h, "cattle", 4, 1, 0);
  auto log = h.Update(v2);
  ASSERT_TRUE(h.RunUntil([&] { return h.CountSha("cattle", sha2) >= 2; }));
  EXPECT_FALSE(log->ended);
  int64_t last_sequence = 0;
  for (const auto& p : h.flavor->prepared()) {
    last_sequence = std::max(last_sequence, p.index().sequence());
  }
  const size_t prepared_before = h.flavor->prepared().size();

  // A crash: the controller goes away; a new one over the same store and plugins starts.
  ASSERT_TRUE(h.Restart().ok());
  auto events = h.Events("cattle");
  ASSERT_TRUE(h.RunUntil([&] {
    return h.CountSha("cattle", sha2) == 4 && h.Count("cattle") == 4 &&
           !h.Status("cattle").updating();
  }));
  EXPECT_TRUE(events->Has(gv1::GROUP_EVENT_TYPE_UPDATE, "update completed"));
  EXPECT_EQ(h.Status("cattle").config_sha(), sha2);
  EXPECT_TRUE(h.Status("cattle").converged());
  // Sequence numbers keep increasing across the restart, except for a creation the crashed
  // controller had sent: it is sent again with its own sequence (and key).
  auto prepared = h.flavor->prepared();
  ASSERT_GT(prepared.size(), prepared_before);
  std::set<int64_t> sent_before;
  for (size_t i = 0; i < prepared_before; ++i) sent_before.insert(prepared[i].index().sequence());
  for (size_t i = prepared_before; i < prepared.size(); ++i) {
    const int64_t seq = prepared[i].index().sequence();
    EXPECT_TRUE(seq > last_sequence || sent_before.count(seq)) << seq;
  }
}

TEST(RestartTest, PausedUpdateStaysPausedAndDestroyCarriesOn) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 2, "v1"));
  gv1::GroupSpec v2 = WithPolicy(Harness::Cattle("cattle", 2, "v2"), -1, -1, 0, 10);
  h.flavor->SetShaHealth(ConfigSha(v2), fv1::HEALTH_UNHEALTHY);
  auto log = h.Update(v2);
  ASSERT_TRUE(h.RunUntil([&] { return Ended(log); }));
  ASSERT_EQ(log->last_phase(), gv1::UPDATE_PHASE_PAUSED);
  ASSERT_TRUE(h.Restart().ok());
  h.Advance(absl::Minutes(1));
  EXPECT_TRUE(h.Status("cattle").paused());

  // A destroy that cannot finish (the flavor refuses to drain), then a restart.
  h.flavor->set_drain_error(absl::FailedPreconditionError("busy"));
  absl::StatusOr<gv1::DestroyGroupResponse> done = absl::UnknownError("not called");
  gv1::DestroyGroupRequest req;
  req.set_id("cattle");
  h.controller->DestroyGroup(
      req, [&](absl::StatusOr<gv1::DestroyGroupResponse> r) { done = std::move(r); });
  h.Advance(absl::Seconds(5));
  EXPECT_EQ(h.Count("cattle"), 3);
  EXPECT_EQ(done.status().code(), absl::StatusCode::kUnknown);
  ASSERT_TRUE(h.Restart().ok());
  // The caller of the old controller learns that it went away.
  EXPECT_EQ(done.status().code(), absl::StatusCode::kUnavailable);
  h.flavor->set_drain_error(absl::OkStatus());
  ASSERT_TRUE(h.RunUntil([&] { return h.controller->ListGroups().groups_size() == 0; }));
  EXPECT_EQ(h.Count("cattle"), 0);
  GroupRecord record;
  EXPECT_FALSE(h.store.Get("cattle", &record));
}

}  // namespace
}  // namespace infrakit::services::group
