// The order of a group's events and stream messages, with fakes: things are said in the order
// they happened.
#include <map>
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

// For every instance with events: its CREATED event comes before any HEALTHY or UNHEALTHY one.
void ExpectCreatedFirst(const testing::EventLog& log) {
  std::set<std::string> created;
  for (const auto& e : log.events) {
    if (e.type() == gv1::GROUP_EVENT_TYPE_CREATED) created.insert(e.instance_id());
    if (e.type() == gv1::GROUP_EVENT_TYPE_HEALTHY || e.type() == gv1::GROUP_EVENT_TYPE_UNHEALTHY) {
      EXPECT_TRUE(created.count(e.instance_id()))
          << "a verdict on " << e.instance_id() << " before its CREATED event: " << e.message();
    }
  }
}

TEST(EventsTest, CreatedComesBeforeTheFirstVerdictWhenListedBeforeProvisionReturns) {
  Harness h;
  // The plugin lists each instance before its Provision returns, and everything queued runs in
  // that window (health checks included), as threads would.
  h.instance->set_after_create([&h] { h.executor.RunAll(); });
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = Harness::Cattle("cattle", 3);
  ASSERT_TRUE(h.controller->WatchGroup(watch).ok());
  auto events = h.Events("cattle");
  h.Advance(absl::Seconds(1));
  ASSERT_EQ(events->Count(gv1::GROUP_EVENT_TYPE_CREATED), 3);
  ASSERT_EQ(events->Count(gv1::GROUP_EVENT_TYPE_HEALTHY), 3);
  ExpectCreatedFirst(*events);
  EXPECT_EQ(h.Status("cattle").healthy(), 3);
}

TEST(EventsTest, AdoptedInstanceIsCheckedOnceNoCreationIsUnderWay) {
  Harness h;
  h.instance->set_after_create([&h] { h.executor.RunAll(); });
  h.Watch(Harness::Cattle("cattle", 2));
  // An instance of the group made elsewhere is adopted (and, an extra, scaled away), its
  // health checked like any member's although no creation claimed it.
  h.instance->AddExternal({{"infrakit.group", "cattle"},
                           {"infrakit.config_sha", ConfigSha(Harness::Cattle("cattle", 2))}});
  h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.Count("cattle"), 2);
  EXPECT_EQ(h.Status("cattle").healthy(), 2);
}

TEST(EventsTest, UpdateAfterUnwatchAndWatchCreatesNewInstances) {
  Harness h;
  gv1::GroupSpec v1 = Harness::Cattle("cattle", 3, "v1");
  h.Watch(v1);
  std::set<std::string> old;
  for (const auto& d : h.instance->Instances()) old.insert(d.id());
  gv1::UnwatchGroupRequest unwatch;
  unwatch.set_id("cattle");
  ASSERT_TRUE(h.controller->UnwatchGroup(unwatch).ok());
  h.Watch(v1);  // adopts the three
  EXPECT_EQ(h.instance->created(), 3);

  gv1::GroupSpec v2 = Harness::Cattle("cattle", 3, "v2");
  auto events = h.Events("cattle");
  auto log = h.Update(v2);
  ASSERT_TRUE(h.RunUntil([&] { return log->ended; }));
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(h.CountSha("cattle", ConfigSha(v2)), 3);
  EXPECT_EQ(h.instance->created(), 6);
  for (const auto& e : events->events) {
    if (e.type() == gv1::GROUP_EVENT_TYPE_CREATED) {
      EXPECT_FALSE(old.count(e.instance_id()))
          << "reported an adopted instance as created: " << e.message();
    }
  }
  for (const auto& m : log->messages) {
    for (const std::string& id : old) {
      EXPECT_FALSE(absl::StrContains(m.message(), "created " + id)) << m.message();
    }
  }
  for (const std::string& id : old) EXPECT_FALSE(h.instance->Exists(id));
}

}  // namespace
}  // namespace infrakit::services::group
