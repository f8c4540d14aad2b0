// Destroys the group controller decided on and has not carried out yet, with fakes: a decision
// made for what the group wanted before is taken again. (A Destroy whose outcome is unknown,
// one that timed out, keeping its member out of the group: the simulation's regression seed
// 446 in sim_test.cc.) The invariants of harness.h are checked on every Provision / Destroy.
#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "services/group/controller.h"
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

}  // namespace
}  // namespace infrakit::services::group
