// Destroys the group controller decided on and has not carried out yet, with fakes: a decision
// made for what the group wanted before is taken again. (A Destroy whose outcome is unknown,
// one that timed out, keeping its member out of the group: the simulation's regression seed
// 446 in sim_test.cc.) The invariants of harness.h are checked on every Provision / Destroy.
#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "services/group/controller.h"
#include "services/group/state.pb.h"
#include "services/group/testing/harness.h"

namespace infrakit::services::group {
namespace {

namespace gv1 = ::infrakit::group::v1;
using testing::Harness;

absl::Status SetSize(Harness& h, const std::string& id, int64_t size) {
  gv1::SetSizeRequest req;
  req.set_id(id);
  req.set_size(size);
  return h.controller->SetSize(req).status();
}

// Runs the controller's tasks one at a time until `n` members are chosen to be destroyed and
// no Destroy call has been made; false if that moment never comes.
bool RunUntilDoomed(Harness& h, int64_t n) {
  for (int i = 0; i < 1000; ++i) {
    if (h.Status("cattle").destroying() == n && h.instance->destroy_calls().empty()) return true;
    if (!h.executor.RunOne()) return false;
  }
  return false;
}

TEST(DestroyTest, ScaleDownDecidedBeforeTheSizeWasRaisedAgainIsWithdrawn) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3));
  ASSERT_TRUE(SetSize(h, "cattle", 1).ok());
  ASSERT_TRUE(RunUntilDoomed(h, 2));
  // The user changes their mind before any Destroy was sent: the members are wanted again.
  ASSERT_TRUE(SetSize(h, "cattle", 3).ok());
  h.Settle();
  EXPECT_TRUE(h.instance->destroy_calls().empty());
  EXPECT_EQ(h.instance->created(), 3) << "members destroyed and made again";
  EXPECT_EQ(h.Count("cattle"), 3);
  EXPECT_TRUE(h.Status("cattle").converged());
}

// A group service that takes over (a restart, or a new leader on etcd) resumes the creations
// its record still names as sent: their instances are listed, but nothing has claimed them for
// those creations yet. A scale-down that comes before they are settled may destroy only what is
// beyond the size once each such creation is taken to be among the listed members: counting
// them as instances of their own destroyed every listed member here, and the creations' retries
// then made new ones (an e2e run of the HA suite saw the group go 3 -> 0 -> 2).
TEST(DestroyTest, ScaleDownRightAfterAResumeDestroysOnlyTheExtras) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3));
  ASSERT_EQ(h.instance->created(), 3);
  GroupRecord record;
  ASSERT_TRUE(h.store.Get("cattle", &record));
  // The premise: the record names the three creations, which the listing claimed since.
  ASSERT_EQ(record.pending_creations_size(), 3);

  // The takeover, and the new size before any of its work has run.
  ASSERT_TRUE(h.RestartUnsettled().ok());
  ASSERT_TRUE(SetSize(h, "cattle", 2).ok());
  ASSERT_TRUE(h.RunUntil([&] { return h.Status("cattle").converged(); }));
  h.Advance(absl::Minutes(2));  // past the listing grace, when the resumed creations settle

  EXPECT_EQ(h.Count("cattle"), 2);
  EXPECT_EQ(h.instance->destroy_calls().size(), 1u) << "destroyed more than the one extra";
  EXPECT_EQ(h.instance->created(), 3) << "members destroyed and made again";
  EXPECT_EQ(h.trough, 2);
  EXPECT_TRUE(h.Status("cattle").converged());
}

}  // namespace
}  // namespace infrakit::services::group
