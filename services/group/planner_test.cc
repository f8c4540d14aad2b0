#include "services/group/planner.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace infrakit::services::group {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);
constexpr char kOld[] = "old-sha";
constexpr char kNew[] = "new-sha";

// A member; `age` orders creation (bigger = created later).
MemberView M(const std::string& id, const std::string& sha,
             fv1::Health health = fv1::HEALTH_HEALTHY, int age = 0, const std::string& lid = "") {
  MemberView m;
  m.id = id;
  m.config_sha = sha;
  m.health = health;
  m.ready = health == fv1::HEALTH_HEALTHY;
  m.created = kT0 + absl::Seconds(age);
  m.logical_id = lid;
  return m;
}

MemberView Destroying(MemberView m) {
  m.destroying = true;
  return m;
}

SlotView Slot(const std::string& key, bool exists, const std::string& lid = "") {
  return SlotView{key, lid, exists};
}

std::vector<std::string> DestroyIds(const Decision& d) {
  std::vector<std::string> ids;
  for (const auto& a : d.destroys) ids.push_back(a.id);
  return ids;
}

std::vector<std::string> CreateLids(const Decision& d) {
  std::vector<std::string> ids;
  for (const auto& a : d.creates) ids.push_back(a.logical_id);
  return ids;
}

SlotView InFlight(const std::string& key) {
  SlotView s{key, "", true};
  s.unanswered = true;
  return s;
}

DecideInput Cattle(int64_t size, std::vector<MemberView> members,
                   std::vector<SlotView> slots = {}) {
  DecideInput in;
  in.size = size;
  in.target_sha = kNew;
  in.members = std::move(members);
  in.slots = std::move(slots);
  return in;
}

DecideInput Rolling(DecideInput in, int64_t surge, int64_t unavailable) {
  in.rolling = true;
  in.limits.surge = surge;
  in.limits.unavailable = unavailable;
  return in;
}

DecideInput Hold(DecideInput in) {
  in.hold = true;
  in.limits.surge = 1;
  return in;
}

DecideInput Pets(std::vector<std::string> lids, std::vector<MemberView> members,
                 std::vector<SlotView> slots = {}) {
  DecideInput in;
  in.pets = true;
  in.logical_ids = std::move(lids);
  in.target_sha = kNew;
  in.members = std::move(members);
  in.slots = std::move(slots);
  return in;
}

struct DecideCase {
  std::string name;
  DecideInput in;
  int creates;
  std::vector<std::string> destroys;  // in order
  std::vector<std::string> cancels = {};
  std::vector<std::string> create_lids = {};  // pets only
};

class DecideTest : public ::testing::TestWithParam<DecideCase> {};

TEST_P(DecideTest, Decides) {
  const DecideCase& c = GetParam();
  Decision d = Decide(c.in);
  EXPECT_EQ(static_cast<int>(d.creates.size()), c.creates);
  EXPECT_EQ(DestroyIds(d), c.destroys);
  EXPECT_EQ(d.cancel_slots, c.cancels);
  if (!c.create_lids.empty()) {
    EXPECT_EQ(CreateLids(d), c.create_lids);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DecideTest,
    ::testing::Values(
        DecideCase{"ScaleUpFromZero", Cattle(3, {}), 3, {}},
        DecideCase{"ScaleUp", Cattle(5, {M("a", kNew), M("b", kNew)}), 3, {}},
        DecideCase{"Converged", Cattle(2, {M("a", kNew), M("b", kNew)}), 0, {}},
        // Extras: outdated first, then unhealthy, then newest.
        DecideCase{
            "ScaleDownOrder",
            Cattle(2, {M("a", kNew, fv1::HEALTH_HEALTHY, 1), M("b", kNew, fv1::HEALTH_UNHEALTHY, 2),
                       M("c", kOld, fv1::HEALTH_HEALTHY, 3), M("d", kNew, fv1::HEALTH_HEALTHY, 4),
                       M("e", kNew, fv1::HEALTH_HEALTHY, 5)}),
            0,
            {"c", "b", "e"}},
        DecideCase{
            "ScaleToZero",
            Cattle(0, {M("a", kNew, fv1::HEALTH_HEALTHY, 1), M("b", kNew, fv1::HEALTH_HEALTHY, 2)}),
            0,
            {"b", "a"}},
        // Creations under way count: no overshoot.
        DecideCase{
            "SlotsCount", Cattle(3, {M("a", kNew)}, {Slot("k1", true), Slot("k2", false)}), 0, {}},
        // Creations not started are dropped before members are destroyed.
        DecideCase{"CancelSlotsFirst",
                   Cattle(1, {M("a", kNew)}, {Slot("k1", false), Slot("k2", false)}),
                   0,
                   {},
                   {"k2", "k1"}},
        // A plugin listed an instance before its Provision returned: counted twice for a
        // moment, which must not make a member an extra.
        DecideCase{"ListedBeforeProvisionReturned",
                   Cattle(3, {M("a", kNew)}, {InFlight("k1"), InFlight("k2"), InFlight("k3")}),
                   0,
                   {}},
        DecideCase{
            "InFlightDoesNotHideRealExtras",
            Cattle(1,
                   {M("a", kNew, fv1::HEALTH_HEALTHY, 1), M("b", kNew, fv1::HEALTH_HEALTHY, 2),
                    M("c", kNew, fv1::HEALTH_HEALTHY, 3)},
                   {InFlight("k1")}),
            0,
            {"c", "b"}},
        // An instance being destroyed still exists: its replacement waits (no overshoot).
        DecideCase{"DestroyingStillExists",
                   Cattle(3, {M("a", kNew), M("b", kNew), Destroying(M("c", kNew))}),
                   0,
                   {}},
        DecideCase{"DestroyingNotCountedAsMember",
                   Cattle(3, {M("a", kNew), M("b", kNew), Destroying(M("c", kNew)),
                              Destroying(M("d", kNew))}),
                   0,
                   {}},
        // Rolling, surge 1 / unavailable 0: one new first, old ones kept.
        DecideCase{"RollSurgeFirstCreate",
                   Rolling(Cattle(3, {M("a", kOld, fv1::HEALTH_HEALTHY, 1),
                                      M("b", kOld, fv1::HEALTH_HEALTHY, 2),
                                      M("c", kOld, fv1::HEALTH_HEALTHY, 3)}),
                           1, 0),
                   1,
                   {}},
        DecideCase{"RollWaitsForReady",
                   Rolling(Cattle(3, {M("a", kOld), M("b", kOld), M("c", kOld),
                                      M("n", kNew, fv1::HEALTH_UNKNOWN, 9)}),
                           1, 0),
                   0,
                   {}},
        DecideCase{"RollDestroysNewestOldOnceReady",
                   Rolling(Cattle(3, {M("a", kOld, fv1::HEALTH_HEALTHY, 2),
                                      M("b", kOld, fv1::HEALTH_HEALTHY, 1),
                                      M("c", kOld, fv1::HEALTH_HEALTHY, 3),
                                      M("n", kNew, fv1::HEALTH_HEALTHY, 9)}),
                           1, 0),
                   0,
                   {"c"}},
        DecideCase{"RollUnavailableFirst",
                   Rolling(Cattle(3, {M("a", kOld, fv1::HEALTH_HEALTHY, 1),
                                      M("b", kOld, fv1::HEALTH_HEALTHY, 2),
                                      M("c", kOld, fv1::HEALTH_HEALTHY, 3)}),
                           0, 1),
                   0,
                   {"c"}},
        DecideCase{"RollSurgeTwoUnavailableOne",
                   Rolling(Cattle(4, {M("a", kOld, fv1::HEALTH_HEALTHY, 1),
                                      M("b", kOld, fv1::HEALTH_HEALTHY, 2),
                                      M("c", kOld, fv1::HEALTH_HEALTHY, 3),
                                      M("d", kOld, fv1::HEALTH_HEALTHY, 4)}),
                           2, 1),
                   2,
                   {"d"}},
        // Never-checked outdated members are not touched; broken ones go first and freely.
        DecideCase{"RollSkipsUncheckedTakesBroken",
                   Rolling(Cattle(3, {M("a", kOld, fv1::HEALTH_UNSPECIFIED, 1),
                                      M("b", kOld, fv1::HEALTH_UNHEALTHY, 2),
                                      M("c", kOld, fv1::HEALTH_HEALTHY, 3)}),
                           0, 1),
                   0,
                   {"b"}},
        // The tutorial of the original InfraKit: 5 on the old config, update to 3 on the new one.
        DecideCase{"TutorialShrinksAtOnce",
                   Rolling(Cattle(3, {M("i1", kOld, fv1::HEALTH_HEALTHY, 1),
                                      M("i2", kOld, fv1::HEALTH_HEALTHY, 2),
                                      M("i3", kOld, fv1::HEALTH_HEALTHY, 3),
                                      M("i4", kOld, fv1::HEALTH_HEALTHY, 4),
                                      M("i5", kOld, fv1::HEALTH_HEALTHY, 5)}),
                           1, 0),
                   0,
                   {"i5", "i4"}},
        DecideCase{"RollCurrentExtrasWaitForOutdated",
                   Rolling(Cattle(2, {M("a", kOld, fv1::HEALTH_HEALTHY, 1),
                                      M("x", kNew, fv1::HEALTH_HEALTHY, 2),
                                      M("y", kNew, fv1::HEALTH_HEALTHY, 3),
                                      M("z", kNew, fv1::HEALTH_HEALTHY, 4)}),
                           1, 0),
                   0,
                   {"a"}},
        DecideCase{"RollCurrentExtrasOnceOutdatedGone",
                   Rolling(Cattle(2, {M("x", kNew, fv1::HEALTH_HEALTHY, 2),
                                      M("y", kNew, fv1::HEALTH_HEALTHY, 3),
                                      M("z", kNew, fv1::HEALTH_HEALTHY, 4)}),
                           1, 0),
                   0,
                   {"z"}},
        // Creations queued (not started) count against the surge like existing instances.
        DecideCase{"RollQueuedSlotsCountAgainstTheSurge",
                   Rolling(Cattle(3,
                                  {M("a", kOld, fv1::HEALTH_HEALTHY, 1),
                                   M("b", kOld, fv1::HEALTH_HEALTHY, 2),
                                   M("c", kOld, fv1::HEALTH_HEALTHY, 3)},
                                  {Slot("k", false)}),
                           1, 0),
                   0,
                   {}},
        DecideCase{"RollStartedAndQueuedSlotsFillTheSurge",
                   Rolling(Cattle(3,
                                  {M("a", kOld, fv1::HEALTH_HEALTHY, 1),
                                   M("b", kOld, fv1::HEALTH_HEALTHY, 2),
                                   M("c", kOld, fv1::HEALTH_HEALTHY, 3)},
                                  {Slot("s", true), Slot("k", false)}),
                           3, 0),
                   1,
                   {}},
        DecideCase{"RollCancelsUnneededSlots",
                   Rolling(Cattle(2, {M("x", kNew), M("y", kNew)}, {Slot("k", false)}), 1, 0),
                   0,
                   {},
                   {"k"}},
        // Paused: what is being destroyed and what is queued both count against the allowance.
        DecideCase{
            "HoldQueuedSlotsCountAgainstTheAllowance",
            Hold(Cattle(4,
                        {M("a", kOld, fv1::HEALTH_HEALTHY, 1), M("b", kOld, fv1::HEALTH_HEALTHY, 2),
                         Destroying(M("c", kOld, fv1::HEALTH_HEALTHY, 3)),
                         Destroying(M("d", kOld, fv1::HEALTH_HEALTHY, 4))},
                        {Slot("k", false)})),
            0,
            {}},
        // Paused: the surge member stays (even broken), nothing rolls.
        DecideCase{"HoldKeepsSurge",
                   Hold(Cattle(3, {M("a", kOld, fv1::HEALTH_HEALTHY, 1),
                                   M("b", kOld, fv1::HEALTH_HEALTHY, 2),
                                   M("c", kOld, fv1::HEALTH_HEALTHY, 3),
                                   M("n", kNew, fv1::HEALTH_UNHEALTHY, 4)})),
                   0,
                   {}},
        DecideCase{"HoldReplacesWhatIsGone",
                   Hold(Cattle(3, {M("a", kOld, fv1::HEALTH_HEALTHY, 1),
                                   M("n", kNew, fv1::HEALTH_UNHEALTHY, 4)})),
                   1,
                   {}},
        DecideCase{"HoldShrinksBeyondTheAllowance",
                   Hold(Cattle(1, {M("a", kOld, fv1::HEALTH_HEALTHY, 1),
                                   M("b", kOld, fv1::HEALTH_HEALTHY, 2),
                                   M("n", kNew, fv1::HEALTH_UNHEALTHY, 4)})),
                   0,
                   {"b"}},
        DecideCase{"PetsDuplicatesUnknownAndMissing",
                   Pets({"a", "b", "c"}, {M("1", kNew, fv1::HEALTH_HEALTHY, 1, "a"),
                                          M("2", kNew, fv1::HEALTH_HEALTHY, 2, "a"),
                                          M("3", kNew, fv1::HEALTH_HEALTHY, 3, "b"),
                                          M("4", kNew, fv1::HEALTH_HEALTHY, 4, "x"),
                                          M("5", kNew, fv1::HEALTH_HEALTHY, 5, "")}),
                   1,
                   {"4", "5", "2"},
                   {},
                   {"c"}},
        DecideCase{"PetsDuplicateKeepsCurrentConfig",
                   Pets({"a"}, {M("1", kOld, fv1::HEALTH_HEALTHY, 1, "a"),
                                M("2", kNew, fv1::HEALTH_HEALTHY, 2, "a")}),
                   0,
                   {"1"}},
        DecideCase{"PetsWaitForDestroyBeforeCreate",
                   Pets({"a", "b"}, {Destroying(M("1", kOld, fv1::HEALTH_HEALTHY, 1, "a")),
                                     M("2", kNew, fv1::HEALTH_HEALTHY, 2, "b")}),
                   0,
                   {}},
        DecideCase{"PetsSlotCountsAndUnwantedSlotCancelled",
                   Pets({"a", "b"}, {M("2", kNew, fv1::HEALTH_HEALTHY, 2, "b")},
                        {Slot("ka", true, "a"), Slot("kz", false, "z")}),
                   0,
                   {},
                   {"kz"}},
        DecideCase{"PetsRollOneAtATime",
                   Rolling(Pets({"a", "b", "c"}, {M("1", kOld, fv1::HEALTH_HEALTHY, 1, "a"),
                                                  M("2", kOld, fv1::HEALTH_HEALTHY, 2, "b"),
                                                  M("3", kOld, fv1::HEALTH_HEALTHY, 3, "c")}),
                           0, 1),
                   0,
                   {"1"}},
        DecideCase{"PetsRollWaitsWhileOneIsDown",
                   Rolling(Pets({"a", "b", "c"}, {M("1", kNew, fv1::HEALTH_UNKNOWN, 9, "a"),
                                                  M("2", kOld, fv1::HEALTH_HEALTHY, 2, "b"),
                                                  M("3", kOld, fv1::HEALTH_HEALTHY, 3, "c")}),
                           0, 1),
                   0,
                   {}},
        DecideCase{"PetsRollNextOnceReady",
                   Rolling(Pets({"a", "b", "c"}, {M("1", kNew, fv1::HEALTH_HEALTHY, 9, "a"),
                                                  M("2", kOld, fv1::HEALTH_HEALTHY, 2, "b"),
                                                  M("3", kOld, fv1::HEALTH_HEALTHY, 3, "c")}),
                           0, 1),
                   0,
                   {"2"}}),
    [](const ::testing::TestParamInfo<DecideCase>& info) { return info.param.name; });

TEST(DecideTest, RemediationReplacesLongUnhealthyUpToTheLimit) {
  DecideInput in = Cattle(5, {});
  for (int i = 0; i < 5; ++i) in.members.push_back(M(absl::StrCat("m", i), kNew));
  in.members[1].health = fv1::HEALTH_UNHEALTHY;
  in.members[1].remediable = true;
  in.members[1].unhealthy_since = kT0 + absl::Seconds(5);
  in.members[3].health = fv1::HEALTH_UNHEALTHY;
  in.members[3].remediable = true;
  in.members[3].unhealthy_since = kT0 + absl::Seconds(1);
  in.remediation = true;
  in.remediation_max_concurrent = 1;

  Decision d = Decide(in);
  EXPECT_FALSE(d.breaker_open);
  ASSERT_EQ(DestroyIds(d), std::vector<std::string>{"m3"});  // unhealthy the longest
  EXPECT_TRUE(d.destroys[0].remediation);
  EXPECT_EQ(d.destroys[0].reason, iv1::DESTROY_REASON_REMEDIATION);

  in.remediation_in_progress = 1;
  EXPECT_TRUE(Decide(in).destroys.empty());

  in.remediation = false;
  in.remediation_in_progress = 0;
  EXPECT_TRUE(Decide(in).destroys.empty());
}

TEST(DecideTest, StoppedKeepsHealthyMembersAndDropsTheNotReadyFirst) {
  // Two old healthy members, a new one not healthy yet (the update's surge), a new one
  // healthy but not ready: size 2 after the stop.
  MemberView not_ready = M("n2", kNew, fv1::HEALTH_HEALTHY, 3);
  not_ready.ready = false;
  DecideInput in =
      Cattle(2, {M("o1", kOld, fv1::HEALTH_HEALTHY, 0), M("o2", kOld, fv1::HEALTH_HEALTHY, 1),
                 M("n1", kNew, fv1::HEALTH_UNSPECIFIED, 2), not_ready});
  in.stopped = true;
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"n1", "n2"}));
  // Not a scale down in the usual order, which takes outdated members first.
  in.stopped = false;
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"o2", "o1"}));
  // Below the size, a stopped group creates (on the target config) and destroys nothing.
  in = Cattle(3, {M("o1", kOld), M("n1", kNew, fv1::HEALTH_HEALTHY, 2)});
  in.stopped = true;
  Decision d = Decide(in);
  EXPECT_TRUE(d.destroys.empty());
  EXPECT_EQ(d.creates.size(), 1u);
}

TEST(DecideTest, StoppedNeverDropsHealthyForCreationsNotListedYet) {
  // Size 3 after the stop: two HEALTHY members, one being destroyed, and two creations the
  // update made that are not listed yet (their health unknown). Destroying a HEALTHY member
  // to make room for them would leave fewer HEALTHY than the size.
  DecideInput in = Cattle(3,
                          {M("o1", kOld), M("o2", kOld, fv1::HEALTH_HEALTHY, 1),
                           Destroying(M("o3", kOld, fv1::HEALTH_HEALTHY, 2))},
                          {Slot("s1", true), Slot("s2", true)});
  in.stopped = true;
  EXPECT_TRUE(Decide(in).destroys.empty());
  // A not-HEALTHY member still goes.
  in.members.push_back(M("n1", kNew, fv1::HEALTH_UNKNOWN, 3));
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"n1"}));
}

TEST(DecideTest, StoppedKeepsMembersOfUnknownHealthWhileTooFewAreProvenHealthy) {
  // Size 3 after the stop: one member proven HEALTHY, two whose verdicts are unknown (stale
  // after a clock jump: they may well be HEALTHY), and a creation not listed yet. One is extra,
  // but none may go before the verdicts are in.
  DecideInput in = Cattle(3,
                          {M("o1", kOld), M("o2", kOld, fv1::HEALTH_UNSPECIFIED, 1),
                           M("o3", kOld, fv1::HEALTH_UNSPECIFIED, 2)},
                          {Slot("s1", true)});
  in.stopped = true;
  EXPECT_TRUE(Decide(in).destroys.empty());
  // The verdicts in, and the creation listed (not checked yet): it is the one that goes.
  in.members[1].health = in.members[2].health = fv1::HEALTH_HEALTHY;
  in.members.push_back(M("n1", kNew, fv1::HEALTH_UNSPECIFIED, 3));
  in.slots.clear();
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"n1"}));
}

TEST(DecideTest, RollingShrinkKeepsTheFloorWhileExtrasAreNotListed) {
  // An update to size 1 (unavailable 0) with two current members and a creation not listed
  // yet: two are extra, but only one member may go, or the creation (health unknown) would
  // be all that is left.
  DecideInput in = Rolling(
      Cattle(1, {M("n1", kNew, fv1::HEALTH_HEALTHY, 0), M("n2", kNew, fv1::HEALTH_HEALTHY, 1)},
             {Slot("s1", true)}),
      0, 0);
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"n2"}));
  // Verdicts unknown (never checked, or stale): nothing proven available, nothing goes...
  in.members[0].health = in.members[1].health = fv1::HEALTH_UNSPECIFIED;
  in.members[0].ready = in.members[1].ready = false;
  EXPECT_TRUE(Decide(in).destroys.empty());
  // ... except a member known not to be HEALTHY.
  in.members[1].health = fv1::HEALTH_UNHEALTHY;
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"n2"}));
}

MemberView Unproven(MemberView m) {
  m.health = fv1::HEALTH_UNSPECIFIED;
  m.ready = false;
  m.unproven = true;
  return m;
}

TEST(DecideTest, RollingNeverCountsAnUnprovenMemberAvailable) {
  // Size 3, unavailable 1 (floor 2), no surge: u1's config is unknown to the group and its
  // only verdict (another config's check) was not HEALTHY. It may be serving, but the floor
  // rests on o2 and o3 alone: neither may go, and u1 goes as it costs nothing proven.
  DecideInput in = Rolling(
      Cattle(3, {Unproven(M("u1", "lost-sha", fv1::HEALTH_UNSPECIFIED, 0)),
                 M("o2", kOld, fv1::HEALTH_HEALTHY, 1), M("o3", kOld, fv1::HEALTH_HEALTHY, 2)}),
      0, 1);
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"u1"}));
  // With o3 not HEALTHY, the floor already lacks one: u1 waits (o3 goes, costing nothing).
  in.members[2].health = fv1::HEALTH_UNHEALTHY;
  in.members[2].ready = false;
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"o3"}));
}

TEST(DecideTest, PetsRollAnUnprovenMemberWithinTheAllowance) {
  // One at a time: u1 is counted unavailable already, so it may go; the HEALTHY o2 then waits.
  DecideInput in = Pets({"a", "b"}, {Unproven(M("u1", "lost-sha", fv1::HEALTH_UNSPECIFIED, 0, "a")),
                                     M("o2", kOld, fv1::HEALTH_HEALTHY, 1, "b")});
  in.rolling = true;
  in.limits.unavailable = 1;
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"u1"}));
  // The HEALTHY member first in the update's order holds nothing back.
  std::swap(in.members[0], in.members[1]);
  EXPECT_EQ(DestroyIds(Decide(in)), (std::vector<std::string>{"u1"}));
  // Two unproven pets, one at a time: each is judged as if the other were available.
  in.members[0] = Unproven(M("u2", "lost-sha", fv1::HEALTH_UNSPECIFIED, 1, "b"));
  EXPECT_EQ(DestroyIds(Decide(in)).size(), 1u);
}

TEST(DecideTest, RollingReplacesSeveralUnprovenMembersOneAtATime) {
  // Default policy (surge 1, unavailable 0): every member unproven. Nothing goes before the
  // surge member is ready; then one at a time, as for HEALTHY members, never stuck.
  DecideInput in = Rolling(Cattle(3, {Unproven(M("u1", "lost-sha", fv1::HEALTH_UNSPECIFIED, 0)),
                                      Unproven(M("u2", "lost-sha", fv1::HEALTH_UNSPECIFIED, 1)),
                                      Unproven(M("u3", "lost-sha", fv1::HEALTH_UNSPECIFIED, 2))}),
                           1, 0);
  Decision d = Decide(in);
  EXPECT_TRUE(d.destroys.empty());
  EXPECT_EQ(d.creates.size(), 1u);
  in.members.push_back(M("n1", kNew, fv1::HEALTH_HEALTHY, 3));
  EXPECT_EQ(DestroyIds(Decide(in)).size(), 1u);
  in.members.erase(in.members.begin() + 2);
  in.members.push_back(M("n2", kNew, fv1::HEALTH_HEALTHY, 4));
  EXPECT_EQ(DestroyIds(Decide(in)).size(), 1u);
}

TEST(CountCattleTest, QueuedCreationsCountAgainstTheSizeWhileDestroysWait) {
  // Size 5, four members still being destroyed (their Drain keeps failing): one creation fits,
  // and once it is queued no pass adds another.
  CattleCounts c;
  c.size = 5;
  c.live = 0;
  c.existing = 4;
  EXPECT_EQ(CountCattle(c).creates, 1);
  c.slots = 1;
  c.queued = 1;
  EXPECT_EQ(CountCattle(c).creates, 0);
}

// The controller decides a steady group of cattle from counters alone (CountCattle) whenever no
// member must be chosen as an extra; that shortcut must always say what Decide says.
TEST(CountCattleTest, AgreesWithDecideOnEverySteadyGroup) {
  std::mt19937 rng(12345);
  int shortcuts = 0;
  for (int round = 0; round < 20000; ++round) {
    DecideInput in = Cattle(rng() % 12, {});
    const int members = rng() % 14;
    for (int i = 0; i < members; ++i) {
      MemberView m = M(absl::StrCat("m", i), rng() % 4 == 0 ? kOld : kNew,
                       rng() % 3 == 0 ? fv1::HEALTH_UNKNOWN : fv1::HEALTH_HEALTHY, i);
      m.destroying = rng() % 5 == 0;
      in.members.push_back(m);
    }
    const int slots = rng() % 6;
    for (int i = 0; i < slots; ++i) {
      const int kind = rng() % 3;  // queued, in flight, created
      SlotView s = Slot(absl::StrCat("s", i), kind != 0);
      s.unanswered = kind == 1;
      in.slots.push_back(s);
    }
    CattleCounts c;
    c.size = in.size;
    for (const MemberView& m : in.members) {
      ++c.existing;
      if (!m.destroying) ++c.live;
    }
    for (const SlotView& s : in.slots) {
      ++c.slots;
      if (!s.exists) ++c.queued;
      if (s.exists) ++c.existing;
      if (s.unanswered) ++c.unanswered;
    }
    const CattleArithmetic a = CountCattle(c);
    const Decision d = Decide(in);
    if (a.extras > 0) {
      // Members must be chosen: Decide does it (as many as there are, at most the extras).
      EXPECT_EQ(static_cast<int64_t>(d.destroys.size()), std::min(a.extras, c.live)) << round;
      continue;
    }
    ++shortcuts;
    EXPECT_EQ(static_cast<int64_t>(d.creates.size()), a.creates) << round;
    EXPECT_TRUE(d.destroys.empty()) << round;
    std::vector<std::string> newest_queued;
    for (auto it = in.slots.rbegin(); it != in.slots.rend(); ++it) {
      if (!it->exists && static_cast<int64_t>(newest_queued.size()) < a.cancel) {
        newest_queued.push_back(it->key);
      }
    }
    EXPECT_EQ(d.cancel_slots, newest_queued) << round;
  }
  EXPECT_GT(shortcuts, 10000);
}

TEST(DecideRolloutTest, CompletesFailsOrContinues) {
  RolloutInput in;
  in.desired = 2;
  in.now = kT0 + absl::Seconds(100);
  in.started = kT0;
  in.deadline = absl::Seconds(60);
  RolloutMember a{"a", "", true, true, true, fv1::HEALTH_HEALTHY, "", kT0};
  RolloutMember b = a;
  b.id = "b";
  in.members = {a, b};
  EXPECT_EQ(DecideRollout(in).outcome, RolloutDecision::Outcome::kComplete);
  // A creation under way, or a member being destroyed, is not done.
  in.slots = 1;
  EXPECT_EQ(DecideRollout(in).outcome, RolloutDecision::Outcome::kContinue);
  in.slots = 0;
  RolloutMember doomed = a;
  doomed.id = "c";
  doomed.live = doomed.current = false;
  in.members.push_back(doomed);
  EXPECT_EQ(DecideRollout(in).outcome, RolloutDecision::Outcome::kContinue);
  in.members.pop_back();
  // Not ready past the deadline since the later of its creation and the start: failed.
  in.members[1].ready = false;
  in.members[1].health = fv1::HEALTH_UNHEALTHY;
  in.members[1].health_reason = "refused";
  in.members[1].created = kT0 + absl::Seconds(50);
  EXPECT_EQ(DecideRollout(in).outcome, RolloutDecision::Outcome::kContinue);
  in.now = kT0 + absl::Seconds(110);
  RolloutDecision d = DecideRollout(in);
  EXPECT_EQ(d.outcome, RolloutDecision::Outcome::kFail);
  EXPECT_EQ(d.failure,
            "instance b did not become healthy within 1m (health: HEALTH_UNHEALTHY, refused)");
  // Creations failing for longer than the deadline.
  in.members[1].ready = true;
  in.slots = 1;
  in.first_slot_failure = kT0 + absl::Seconds(40);
  d = DecideRollout(in);
  EXPECT_EQ(d.outcome, RolloutDecision::Outcome::kFail);
  EXPECT_TRUE(d.creations_failed);
  // Pets: every logical ID needs a current member.
  RolloutInput pets;
  pets.pets = true;
  pets.desired = 1;
  pets.logical_ids = {"x"};
  pets.now = pets.started = kT0;
  pets.deadline = absl::Seconds(60);
  RolloutMember y = a;
  y.logical_id = "y";
  pets.members = {y};
  EXPECT_EQ(DecideRollout(pets).outcome, RolloutDecision::Outcome::kContinue);
  pets.members[0].logical_id = "x";
  EXPECT_EQ(DecideRollout(pets).outcome, RolloutDecision::Outcome::kComplete);
}

TEST(DecideTest, RemediationBreakerOpensAboveTheShare) {
  DecideInput in = Cattle(4, {});
  for (int i = 0; i < 4; ++i) {
    MemberView m = M(absl::StrCat("m", i), kNew, fv1::HEALTH_UNHEALTHY);
    m.remediable = i < 3;
    in.members.push_back(m);
  }
  in.members[3].health = fv1::HEALTH_HEALTHY;
  in.remediation = true;
  in.remediation_max_concurrent = 5;
  in.max_unhealthy_percent = 50;
  Decision d = Decide(in);
  EXPECT_TRUE(d.breaker_open);
  EXPECT_EQ(d.unhealthy, 3);
  EXPECT_TRUE(d.destroys.empty());

  in.max_unhealthy_percent = 75;  // 3 of 4 is not more than 75%
  d = Decide(in);
  EXPECT_FALSE(d.breaker_open);
  EXPECT_EQ(d.destroys.size(), 3u);
}

TEST(ResolveRollingLimitsTest, DefaultsAndPercentages) {
  gv1::GroupSpec cattle;
  cattle.mutable_allocation()->set_size(10);
  RollingLimits r = ResolveRollingLimits(cattle, 10);
  EXPECT_EQ(r.surge, 1);
  EXPECT_EQ(r.unavailable, 0);

  cattle.mutable_update_policy()->mutable_max_surge()->set_percent(25);
  cattle.mutable_update_policy()->mutable_max_unavailable()->set_percent(10);
  r = ResolveRollingLimits(cattle, 10);
  EXPECT_EQ(r.surge, 3);  // 2.5 rounded up
  EXPECT_EQ(r.unavailable, 1);

  cattle.mutable_update_policy()->mutable_max_surge()->set_count(0);
  cattle.mutable_update_policy()->mutable_max_unavailable()->set_count(0);
  r = ResolveRollingLimits(cattle, 10);
  EXPECT_EQ(r.surge, 1);  // both zero could never progress
  EXPECT_EQ(r.unavailable, 0);

  gv1::GroupSpec pets;
  pets.mutable_allocation()->mutable_logical_ids()->add_ids("a");
  pets.mutable_update_policy()->mutable_max_surge()->set_count(3);
  r = ResolveRollingLimits(pets, 1);
  EXPECT_EQ(r.surge, 0);
  EXPECT_EQ(r.unavailable, 1);
}

gv1::GroupSpec CattleSpec(int64_t size) {
  gv1::GroupSpec s;
  s.set_id("cattle");
  s.mutable_allocation()->set_size(size);
  return s;
}

gv1::GroupSpec PetSpec(std::vector<std::string> lids) {
  gv1::GroupSpec s;
  s.set_id("pets");
  for (const auto& l : lids) s.mutable_allocation()->mutable_logical_ids()->add_ids(l);
  return s;
}

std::vector<MemberView> Five(const std::string& sha) {
  std::vector<MemberView> v;
  for (int i = 1; i <= 5; ++i)
    v.push_back(M(absl::StrCat("inst-", i), sha, fv1::HEALTH_HEALTHY, i));
  return v;
}

TEST(MakePlanTest, TutorialUpdate) {
  gv1::Plan p = MakePlan(Five(kOld), {}, CattleSpec(3), kNew);
  EXPECT_EQ(p.summary(), "Performs a rolling update of 3 instances, then terminates 2 instances");
  EXPECT_EQ(p.replaces(), 3);
  EXPECT_EQ(p.destroys(), 2);
  EXPECT_EQ(p.creates(), 0);
  EXPECT_EQ(p.config_sha(), kNew);
  ASSERT_EQ(p.steps_size(), 5);
  EXPECT_EQ(p.steps(0).action(), gv1::STEP_ACTION_DESTROY);
  EXPECT_EQ(p.steps(0).instance_id(), "inst-5");
  EXPECT_EQ(p.steps(1).instance_id(), "inst-4");
  for (int i = 2; i < 5; ++i) {
    EXPECT_EQ(p.steps(i).action(), gv1::STEP_ACTION_REPLACE);
    EXPECT_EQ(p.steps(i).instance_id(), absl::StrCat("inst-", 5 - i));
  }
  EXPECT_EQ(p.steps(2).description(), "replace inst-3 with one on config new-sha");
}

struct PlanCase {
  std::string name;
  std::vector<MemberView> members;
  gv1::GroupSpec spec;
  std::string sha;
  std::string summary;
};

class MakePlanTableTest : public ::testing::TestWithParam<PlanCase> {};

TEST_P(MakePlanTableTest, Summarizes) {
  const PlanCase& c = GetParam();
  gv1::Plan p = MakePlan(c.members, {}, c.spec, c.sha);
  EXPECT_EQ(p.summary(), c.summary);
  EXPECT_EQ(p.steps_size(), p.replaces() + p.creates() + p.destroys());
}

INSTANTIATE_TEST_SUITE_P(
    Table, MakePlanTableTest,
    ::testing::Values(
        PlanCase{"Noop", Five(kNew), CattleSpec(5), kNew, "Noop"},
        PlanCase{"PureScaleUpIsNotARoll", Five(kNew), CattleSpec(7), kNew, "Adds 2 instances"},
        PlanCase{"PureScaleDown", Five(kNew), CattleSpec(4), kNew, "Terminates 1 instance"},
        PlanCase{"RollOnly", Five(kOld), CattleSpec(5), kNew,
                 "Performs a rolling update of 5 instances"},
        PlanCase{"RollThenAdd", Five(kOld), CattleSpec(7), kNew,
                 "Performs a rolling update of 5 instances, then adds 2 instances"},
        PlanCase{"RollOne",
                 {M("x", kOld)},
                 CattleSpec(1),
                 kNew,
                 "Performs a rolling update of 1 instance"},
        PlanCase{
            "PetsListChange",
            {M("1", kNew, fv1::HEALTH_HEALTHY, 1, "a"), M("2", kNew, fv1::HEALTH_HEALTHY, 2, "b")},
            PetSpec({"b", "c"}),
            kNew,
            "Terminates 1 instance, then adds 1 instance"},
        PlanCase{
            "PetsRoll",
            {M("1", kOld, fv1::HEALTH_HEALTHY, 1, "a"), M("2", kOld, fv1::HEALTH_HEALTHY, 2, "b")},
            PetSpec({"a", "b"}),
            kNew,
            "Performs a rolling update of 2 instances"}),
    [](const ::testing::TestParamInfo<PlanCase>& info) { return info.param.name; });

TEST(MakePlanTest, PetStepsNameLogicalIds) {
  gv1::Plan p = MakePlan({M("1", kOld, fv1::HEALTH_HEALTHY, 1, "10.0.0.1"),
                          M("2", kNew, fv1::HEALTH_HEALTHY, 2, "10.0.0.9")},
                         {}, PetSpec({"10.0.0.1", "10.0.0.2"}), kNew);
  ASSERT_EQ(p.steps_size(), 3);
  EXPECT_EQ(p.steps(0).action(), gv1::STEP_ACTION_DESTROY);
  EXPECT_EQ(p.steps(0).logical_id(), "10.0.0.9");
  EXPECT_EQ(p.steps(1).action(), gv1::STEP_ACTION_CREATE);
  EXPECT_EQ(p.steps(1).logical_id(), "10.0.0.2");
  EXPECT_EQ(p.steps(2).action(), gv1::STEP_ACTION_REPLACE);
  EXPECT_EQ(p.steps(2).instance_id(), "1");
  EXPECT_EQ(p.steps(2).logical_id(), "10.0.0.1");
}

}  // namespace
}  // namespace infrakit::services::group
