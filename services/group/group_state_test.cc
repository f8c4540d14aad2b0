#include "services/group/group_state.h"

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

}  // namespace
}  // namespace infrakit::services::group
