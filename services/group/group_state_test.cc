#include "services/group/group_state.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace infrakit::services::group {
namespace {

Slot& AddSlot(Group* g, int64_t seq) {
  Slot s;
  s.sequence = seq;
  s.key = "k" + std::to_string(seq);
  g->slot_by_key[s.key] = seq;
  ++g->queued_slots;
  return g->slots.emplace(seq, std::move(s)).first->second;
}

TEST(GroupStateTest, SlotStatesKeepTheCountersInStep) {
  Group g;
  AddSlot(&g, 1);
  AddSlot(&g, 2);
  // (btree_map insertions move elements: the reference is taken after them.)
  Slot& a = g.slots.at(1);
  EXPECT_TRUE(g.CheckInvariants().ok());
  g.SetSlotState(&a, SlotState::kInFlight);
  EXPECT_EQ(g.queued_slots, 1);
  EXPECT_EQ(g.in_flight_slots, 1);
  a.provisioned_at = absl::FromUnixSeconds(5);
  a.instance_id = "i-1";
  g.slot_by_instance["i-1"] = 1;
  g.SetSlotState(&a, SlotState::kCreated);
  EXPECT_EQ(g.in_flight_slots, 0);
  EXPECT_EQ(g.created_slots.size(), 1u);
  EXPECT_TRUE(g.CheckInvariants().ok()) << g.CheckInvariants();
  g.EraseSlot(1);
  EXPECT_TRUE(g.created_slots.empty());
  EXPECT_FALSE(g.slot_by_instance.count("i-1"));
  EXPECT_FALSE(g.slot_by_key.count("k1"));
  g.EraseSlot(42);  // unknown: ignored
  EXPECT_TRUE(g.CheckInvariants().ok()) << g.CheckInvariants();
}

TEST(GroupStateTest, CheckInvariantsNamesWhatIsOutOfStep) {
  Group g;
  AddSlot(&g, 1);
  g.queued_slots = 0;
  absl::Status st = g.CheckInvariants();
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_NE(st.message().find("queued_slots"), std::string::npos) << st;

  Group h;
  Member& m = h.members["i-1"];
  h.SetDoomed(&m, true);
  h.SetDoomed(&m, true);  // idempotent
  EXPECT_EQ(h.doomed_members, 1);
  EXPECT_TRUE(h.CheckInvariants().ok());
  h.doomed_members = 0;
  EXPECT_NE(h.CheckInvariants().message().find("doomed_members"), std::string::npos);
  h.doomed_members = 1;
  m.destroying = true;
  h.SetDoomed(&m, false);
  EXPECT_NE(h.CheckInvariants().message().find("destroying but not doomed"), std::string::npos);
}

// A member with this ID, tag infrakit.config_sha = `sha`, HEALTHY or not.
Member& AddMember(Group* g, const std::string& id, const std::string& sha, bool healthy) {
  Member& m = g->members[id];
  auto d = std::make_shared<iv1::Description>();
  d->set_id(id);
  (*d->mutable_tags())["infrakit.config_sha"] = sha;
  m.desc = d;
  m.sha = sha;
  m.health = healthy ? fv1::HEALTH_HEALTHY : fv1::HEALTH_UNSPECIFIED;
  g->TouchMember(id);
  return m;
}

std::vector<std::string> PublishedIds(const Group& g) {
  std::vector<std::string> ids;
  g.published_members.snapshot()->ForEach([&](const PublishedMembers::Entry& e) {
    ids.push_back(e.key);
    return true;
  });
  return ids;
}

// Readers see the members touched since the last sync, with the status counts kept in step, and
// a snapshot taken earlier keeps what it had.
TEST(GroupStateTest, PublishedMembersFollowTheTouchedMembersAndKeepTheCounts) {
  Group g;
  g.sha = "v2";
  g.spec.mutable_allocation()->set_size(3);
  AddMember(&g, "b", "v2", true);
  AddMember(&g, "a", "v1", false);
  gv1::GroupStatus status = GroupStatusOf(&g);
  EXPECT_EQ(status.actual(), 2);
  EXPECT_EQ(status.healthy(), 1);
  EXPECT_EQ(status.outdated(), 1);
  EXPECT_EQ(PublishedIds(g), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(g.CheckInvariants().ok()) << g.CheckInvariants();
  auto before = g.published_members.snapshot();

  AddMember(&g, "c", "v2", false);
  g.SetDoomed(&g.members["b"], true);
  g.members.erase("a");
  g.TouchMember("a");
  status = GroupStatusOf(&g);
  EXPECT_EQ(status.actual(), 2);
  EXPECT_EQ(status.destroying(), 1);
  EXPECT_EQ(status.healthy(), 0);
  EXPECT_EQ(status.outdated(), 0);
  EXPECT_EQ(PublishedIds(g), (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(g.published_members.Find("b")->doomed);
  EXPECT_EQ(g.published_members.Find("c")->health, fv1::HEALTH_UNKNOWN);
  EXPECT_TRUE(g.CheckInvariants().ok()) << g.CheckInvariants();
  EXPECT_EQ(before->size(), 2u);
  EXPECT_EQ(before->Find("b")->doomed, false);

  // A new config: every member counted again against it.
  g.sha = "v3";
  EXPECT_EQ(GroupStatusOf(&g).outdated(), 1);  // c (b is doomed)
}

// The published members of the group's config share one copy of its SHA; a member of another
// config has its own, and a new config is shared from the next sync on.
TEST(GroupStateTest, PublishedMembersOfOneConfigShareItsSha) {
  Group g;
  g.sha = "v2";
  AddMember(&g, "a", "v2", true);
  AddMember(&g, "b", "v2", true);
  AddMember(&g, "c", "v1", true);
  g.SyncPublishedMembers();
  ASSERT_NE(g.published_sha, nullptr);
  EXPECT_EQ(*g.published_sha, "v2");
  EXPECT_EQ(g.published_members.Find("a")->sha, g.published_sha);
  EXPECT_EQ(g.published_members.Find("b")->sha, g.published_sha);
  EXPECT_NE(g.published_members.Find("c")->sha, g.published_sha);
  EXPECT_EQ(*g.published_members.Find("c")->sha, "v1");
  EXPECT_TRUE(g.CheckInvariants().ok()) << g.CheckInvariants();

  g.sha = "v1";
  AddMember(&g, "d", "v1", true);
  g.SyncPublishedMembers();
  EXPECT_EQ(*g.published_sha, "v1");
  EXPECT_EQ(g.published_members.Find("d")->sha, g.published_sha);
  EXPECT_EQ(*g.published_members.Find("a")->sha, "v2");  // unchanged: not touched
  EXPECT_EQ(GroupStatusOf(&g).outdated(), 2);            // a and b
  EXPECT_TRUE(g.CheckInvariants().ok()) << g.CheckInvariants();
}

TEST(GroupStateTest, AChangeThatWasNotTouchedIsCaught) {
  Group g;
  AddMember(&g, "a", "v1", false);
  g.SyncPublishedMembers();
  EXPECT_TRUE(g.CheckInvariants().ok()) << g.CheckInvariants();
  g.members["a"].health = fv1::HEALTH_HEALTHY;  // no TouchMember
  EXPECT_NE(g.CheckInvariants().message().find("not touched"), std::string::npos);
  g.TouchMember("a");
  g.SyncPublishedMembers();
  EXPECT_TRUE(g.CheckInvariants().ok()) << g.CheckInvariants();
  // A full listing: everything published again.
  AddMember(&g, "b", "v1", false);
  g.touched_members.clear();
  g.TouchAllMembers();
  g.SyncPublishedMembers();
  EXPECT_EQ(PublishedIds(g), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(g.CheckInvariants().ok()) << g.CheckInvariants();
}

}  // namespace
}  // namespace infrakit::services::group
