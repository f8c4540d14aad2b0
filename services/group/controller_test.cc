// The group controller with fakes: convergence, pets, failures, operations and their errors.
// Deterministic: fake clock, manual executor; invariants checked after every task (harness.h).
#include "services/group/controller.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/group/testing/harness.h"
#include "spec/group_spec.h"

namespace infrakit::services::group {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace fv1 = ::infrakit::flavor::v1;
namespace iv1 = ::infrakit::instance::v1;
using ::infrakit::spec::ConfigSha;
using testing::Harness;

std::set<std::string> Ids(Harness& h, const std::string& group) {
  std::set<std::string> ids;
  for (const auto& d : h.instance->Instances()) {
    auto it = d.tags().find("infrakit.group");
    if (it != d.tags().end() && it->second == group) ids.insert(d.id());
  }
  return ids;
}

std::vector<std::string> IdList(Harness& h, const std::string& group) {
  std::set<std::string> ids = Ids(h, group);
  return std::vector<std::string>(ids.begin(), ids.end());
}

absl::Status SetSize(Harness& h, const std::string& id, int64_t size) {
  gv1::SetSizeRequest req;
  req.set_id(id);
  req.set_size(size);
  return h.controller->SetSize(req).status();
}

struct ScaleCase {
  std::string name;
  int64_t initial;
  int64_t target;
};

class ScaleTest : public ::testing::TestWithParam<ScaleCase> {};

TEST_P(ScaleTest, ConvergesWithoutOvershoot) {
  const ScaleCase& c = GetParam();
  Harness h;
  h.max_instances = static_cast<int>(std::max(c.initial, c.target));
  h.Watch(Harness::Cattle("cattle", c.initial));
  EXPECT_EQ(h.Count("cattle"), c.initial);
  EXPECT_EQ(h.instance->created(), c.initial);

  h.max_instances = static_cast<int>(std::max(c.initial, c.target));
  ASSERT_TRUE(SetSize(h, "cattle", c.target).ok());
  h.Settle();
  EXPECT_EQ(h.Count("cattle"), c.target);
  gv1::GroupStatus s = h.Status("cattle");
  EXPECT_EQ(s.desired(), c.target);
  EXPECT_EQ(s.actual(), c.target);
  EXPECT_TRUE(s.converged());
  EXPECT_EQ(s.waiting_for_plugin(), "");
  EXPECT_EQ(s.last_error(), "");
  EXPECT_EQ(h.Inspect("cattle").members_size(), c.target);
  // Nothing created beyond what was needed, and every destroyed member was drained first.
  EXPECT_EQ(h.instance->created(), std::max(c.initial, c.target));
  EXPECT_EQ(h.flavor->drained().size(),
            static_cast<size_t>(std::max<int64_t>(0, c.initial - c.target)));
}

INSTANTIATE_TEST_SUITE_P(Table, ScaleTest,
                         ::testing::Values(ScaleCase{"UpFromZero", 0, 3}, ScaleCase{"Up", 3, 5},
                                           ScaleCase{"Down", 5, 2}, ScaleCase{"ToZero", 3, 0},
                                           ScaleCase{"ZeroStaysZero", 0, 0},
                                           ScaleCase{"Same", 4, 4}, ScaleCase{"Large", 2, 40}),
                         [](const auto& info) { return info.param.name; });

TEST(ControllerTest, ScaleDownRemovesTheNewestHealthyLast) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 4));
  std::vector<std::string> ids = IdList(h, "cattle");
  ASSERT_EQ(ids.size(), 4u);
  // inst-0002 becomes unhealthy: it goes first, then the newest (inst-0004).
  h.flavor->SetHealth(ids[1], fv1::HEALTH_UNHEALTHY);
  h.Advance(absl::Seconds(10));  // a resync checks health
  ASSERT_TRUE(SetSize(h, "cattle", 2).ok());
  h.Settle();
  EXPECT_EQ(h.instance->destroyed_order(), (std::vector<std::string>{ids[1], ids[3]}));
}

TEST(ControllerTest, InstancesCarryTheGroupTagsAndComeFromPrepare) {
  Harness h;
  gv1::GroupSpec spec = Harness::Cattle("cattle", 3);
  gv1::WatchGroupRequest req;
  *req.mutable_spec() = spec;
  auto r = h.controller->WatchGroup(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->message(), "watching cattle");
  EXPECT_EQ(r->config_sha(), ConfigSha(spec));
  h.Settle();

  std::set<std::string> keys;
  std::set<int64_t> sequences;
  for (const auto& s : h.instance->provisioned_specs()) {
    EXPECT_EQ(s.tags().at("infrakit.group"), "cattle");
    EXPECT_EQ(s.tags().at("infrakit.config_sha"), ConfigSha(spec));
    EXPECT_EQ(s.tags().at("flavor"), "fake");  // the flavor's Prepare shaped the spec
    EXPECT_EQ(s.properties().fields().at("Note").string_value(), "v1");
    EXPECT_FALSE(s.idempotency_key().empty());
    keys.insert(s.idempotency_key());
  }
  EXPECT_EQ(keys.size(), 3u);
  for (const auto& p : h.flavor->prepared()) {
    EXPECT_EQ(p.index().group(), "cattle");
    sequences.insert(p.index().sequence());
  }
  EXPECT_EQ(sequences.size(), 3u);

  gv1::InspectGroupResponse in = h.Inspect("cattle");
  ASSERT_EQ(in.members_size(), 3);
  for (const auto& m : in.members()) {
    EXPECT_EQ(m.tags().at("infrakit.config_sha"), ConfigSha(spec));
    EXPECT_EQ(m.health(), fv1::HEALTH_HEALTHY) << m.id();
    EXPECT_FALSE(m.outdated());
    EXPECT_EQ(m.state(), iv1::LIFECYCLE_STATE_RUNNING);
  }
  EXPECT_LT(in.members(0).id(), in.members(1).id());  // ordered by ID
}

TEST(ControllerTest, ReplacesARemovedInstanceAtOnce) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3));
  auto events = h.Events("cattle");
  std::string victim = *Ids(h, "cattle").begin();
  h.instance->RemoveExternal(victim);
  // No time passes: the watch event alone heals the group.
  h.Settle();
  EXPECT_EQ(h.Count("cattle"), 3);
  EXPECT_FALSE(Ids(h, "cattle").count(victim));
  EXPECT_TRUE(events->Has(gv1::GROUP_EVENT_TYPE_DESTROYED, victim + " disappeared"));
  EXPECT_EQ(events->Count(gv1::GROUP_EVENT_TYPE_CREATED), 1);
  EXPECT_EQ(h.instance->describe_calls(), 0);  // no re-listing
}

// An instance that dies at once: listed and removed before its Provision returns (a process
// that exits at start). Its creation is settled as gone when Provision returns, not counted for
// the listing grace; the replacement backs off like a failed creation.
TEST(ControllerTest, InstanceGoneBeforeProvisionReturnsIsReplacedWithBackoff) {
  Harness h;
  bool crash = true;
  h.instance->set_after_create([&] {
    if (!crash) return;
    for (const std::string& id : Ids(h, "cattle")) h.instance->RemoveExternal(id);
  });
  h.Watch(Harness::Cattle("cattle", 1));
  EXPECT_EQ(h.instance->provision_calls(), 1);
  EXPECT_EQ(h.Count("cattle"), 0);
  gv1::GroupStatus s = h.Status("cattle");
  EXPECT_TRUE(absl::StrContains(s.last_error(), "gone before its creation returned"))
      << s.last_error();
  // Backoff 1 s, then 2 s, then 4 s: not at once (no hot loop), not after the 30 s grace.
  h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.instance->provision_calls(), 2);
  h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.instance->provision_calls(), 2);
  h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.instance->provision_calls(), 3);
  h.Advance(absl::Seconds(3));
  EXPECT_EQ(h.instance->provision_calls(), 3);
  h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.instance->provision_calls(), 4);
  // Once instances survive, the group converges on the next try.
  crash = false;
  ASSERT_TRUE(h.RunUntil([&] { return h.Status("cattle").converged(); }, absl::Seconds(10)));
  EXPECT_EQ(h.Count("cattle"), 1);
  EXPECT_EQ(h.instance->provision_calls(), 5);
  EXPECT_TRUE(h.Status("cattle").last_error().empty());
}

// DestroyGroup does not wait the listing grace for a creation whose instance already died.
TEST(ControllerTest, DestroyGroupDoesNotWaitForAnInstanceGoneBeforeProvisionReturned) {
  Harness h;
  h.instance->set_after_create([&] {
    for (const std::string& id : Ids(h, "cattle")) h.instance->RemoveExternal(id);
  });
  h.Watch(Harness::Cattle("cattle", 1));
  ASSERT_EQ(h.instance->provision_calls(), 1);
  absl::StatusOr<gv1::DestroyGroupResponse> result = absl::UnknownError("not yet");
  gv1::DestroyGroupRequest req;
  req.set_id("cattle");
  h.controller->DestroyGroup(
      req, [&](absl::StatusOr<gv1::DestroyGroupResponse> r) { result = std::move(r); });
  // No time passes.
  h.Settle();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->destroyed(), 0);
  EXPECT_EQ(h.controller->ListGroups().groups_size(), 0);
  EXPECT_EQ(h.instance->provision_calls(), 1);
}

TEST(ControllerTest, IdleGroupDoesNoWorkBetweenResyncs) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 50));
  h.Advance(absl::Seconds(10));
  const int healthy_calls = h.flavor->healthy_calls();
  const int provisions = h.instance->provision_calls();
  h.clock.Advance(absl::Seconds(9));
  EXPECT_EQ(h.executor.pending(), 0);
  h.Settle();
  EXPECT_EQ(h.flavor->healthy_calls(), healthy_calls);
  // The resync: one health check per member, nothing else.
  h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.flavor->healthy_calls(), healthy_calls + 50);
  EXPECT_EQ(h.instance->provision_calls(), provisions);
  EXPECT_EQ(h.instance->describe_calls(), 0);
  EXPECT_EQ(h.instance->watch_calls(), 1);
}

TEST(ControllerTest, NothingHappensBeforeTheWatchIsSynced) {
  Harness h;
  const std::string sha = ConfigSha(Harness::Cattle("cattle", 3));
  h.instance->AddExternal({{"infrakit.group", "cattle"}, {"infrakit.config_sha", sha}});
  h.instance->set_withhold_synced(true);
  h.max_instances = 3;
  h.Watch(Harness::Cattle("cattle", 3));
  h.Advance(absl::Minutes(1));
  // The initial set is not complete until SYNCED: no creation on a partial view.
  EXPECT_EQ(h.instance->created(), 0);
  EXPECT_EQ(h.Status("cattle").waiting_for_plugin(), testing::kInstancePlugin);
  gv1::DescribeUpdateRequest describe;
  *describe.mutable_spec() = Harness::Cattle("cattle", 3, "v2");
  EXPECT_EQ(h.controller->DescribeUpdate(describe).status().code(), absl::StatusCode::kUnavailable);

  h.instance->ReleaseSynced();
  h.Settle();
  EXPECT_EQ(h.instance->created(), 2);
  EXPECT_EQ(h.Count("cattle"), 3);
  EXPECT_EQ(h.Status("cattle").waiting_for_plugin(), "");
}

TEST(ControllerTest, ListedBeforeProvisionReturnsIsNeitherExtraNorMissing) {
  Harness h;
  // The plugin announces each instance before its Provision returns, and everything else
  // queued (reconcile passes, other provisions) runs in that window, as threads would.
  h.instance->set_after_create([&h] { h.executor.RunAll(); });
  h.max_instances = 3;
  h.Watch(Harness::Cattle("cattle", 3));
  EXPECT_EQ(h.instance->created(), 3);
  EXPECT_TRUE(h.instance->destroy_calls().empty());
  EXPECT_TRUE(h.Status("cattle").converged());
  gv1::SetSizeRequest req;
  req.set_id("cattle");
  req.set_size(5);
  h.max_instances = 5;
  ASSERT_TRUE(h.controller->SetSize(req).ok());
  h.Settle();
  EXPECT_EQ(h.instance->created(), 5);
  EXPECT_TRUE(h.instance->destroy_calls().empty());
}

TEST(ControllerTest, LaggingListingCausesNoOvershoot) {
  Harness h;
  h.instance->set_listing_lag(absl::Seconds(5));
  h.max_instances = 4;
  h.Watch(Harness::Cattle("cattle", 4));
  EXPECT_EQ(h.instance->created(), 4);
  // Created but not listed yet: counted as creations under way.
  gv1::GroupStatus s = h.Status("cattle");
  EXPECT_EQ(s.provisioning(), 4);
  EXPECT_EQ(s.actual(), 4);
  EXPECT_FALSE(s.converged());
  for (int i = 0; i < 12; ++i) h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.instance->created(), 4);
  s = h.Status("cattle");
  EXPECT_EQ(s.provisioning(), 0);
  EXPECT_TRUE(s.converged());
  EXPECT_EQ(h.Inspect("cattle").members_size(), 4);

  // A replacement while the listing lags: still exactly one.
  h.instance->RemoveExternal(*Ids(h, "cattle").begin());
  for (int i = 0; i < 12; ++i) h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.instance->created(), 5);
  EXPECT_EQ(h.Count("cattle"), 4);
}

TEST(ControllerTest, LaggingListingWhilePollingCausesNoOvershoot) {
  Harness h;
  h.instance->set_watch_supported(false);
  h.instance->set_listing_lag(absl::Seconds(25));
  h.max_instances = 3;
  h.Watch(Harness::Cattle("cattle", 3));
  h.Advance(absl::Minutes(2));
  EXPECT_EQ(h.instance->created(), 3);
  EXPECT_TRUE(h.Status("cattle").converged());
}

TEST(ControllerTest, CreationNeverListedIsForgottenAfterTheGrace) {
  Harness h;
  h.instance->set_listing_lag(absl::Hours(1));
  h.Watch(Harness::Cattle("cattle", 1));
  EXPECT_EQ(h.instance->created(), 1);
  h.Advance(absl::Seconds(29));
  EXPECT_EQ(h.instance->created(), 1);
  h.Advance(absl::Seconds(2));
  // Counted for the grace period only: then the group creates again, and says why.
  EXPECT_EQ(h.instance->created(), 2);
  EXPECT_TRUE(absl::StrContains(h.Status("cattle").last_error(), "not listed"));
}

TEST(ControllerTest, PollsWhenThePluginCannotWatch) {
  Harness h;
  h.instance->set_watch_supported(false);
  h.Watch(Harness::Cattle("cattle", 3));
  EXPECT_EQ(h.Count("cattle"), 3);
  // Created, and counted as creations under way until a poll lists them.
  EXPECT_EQ(h.Status("cattle").provisioning(), 3);
  h.Advance(absl::Seconds(10));
  EXPECT_TRUE(h.Status("cattle").converged());
  int describes = h.instance->describe_calls();
  EXPECT_EQ(describes, 2);
  h.instance->RemoveExternal(*Ids(h, "cattle").begin());
  h.Advance(absl::Seconds(9));
  EXPECT_EQ(h.Count("cattle"), 2);  // not seen before the next poll
  h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.Count("cattle"), 3);
  EXPECT_EQ(h.instance->describe_calls(), describes + 1);
}

TEST(ControllerTest, InstancePluginDownMeansWaitNotDestroy) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3));
  std::set<std::string> before = Ids(h, "cattle");
  h.instance->set_down(true);
  h.resolver.SetDown(testing::kInstancePlugin, true);
  h.Settle();
  gv1::GroupStatus s = h.Status("cattle");
  EXPECT_EQ(s.waiting_for_plugin(), testing::kInstancePlugin);
  EXPECT_NE(s.last_error(), "");

  // While down: a smaller size waits; nothing is created or destroyed.
  ASSERT_TRUE(SetSize(h, "cattle", 1).ok());
  h.Advance(absl::Minutes(2));
  EXPECT_TRUE(h.instance->destroy_calls().empty());
  EXPECT_EQ(h.instance->created(), 3);
  EXPECT_EQ(h.Status("cattle").waiting_for_plugin(), testing::kInstancePlugin);

  h.instance->set_down(false);
  h.resolver.SetDown(testing::kInstancePlugin, false);
  h.Advance(absl::Seconds(11));
  EXPECT_EQ(h.Count("cattle"), 1);
  s = h.Status("cattle");
  EXPECT_EQ(s.waiting_for_plugin(), "");
  EXPECT_TRUE(s.converged());
  EXPECT_EQ(h.instance->created(), 3);
}

TEST(ControllerTest, FlavorDownBlocksDestroysAndIsNamed) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3));
  h.flavor->set_error(absl::UnavailableError("flavor is down"));
  ASSERT_TRUE(SetSize(h, "cattle", 1).ok());
  h.Settle();
  EXPECT_EQ(h.Count("cattle"), 3);  // Drain failed: no Destroy
  EXPECT_TRUE(h.instance->destroy_calls().empty());
  EXPECT_EQ(h.Status("cattle").waiting_for_plugin(), testing::kFlavorPlugin);
  EXPECT_TRUE(absl::StrContains(h.Status("cattle").last_error(), "flavor is down"));
  h.Advance(absl::Seconds(30));
  EXPECT_EQ(h.Count("cattle"), 3);

  h.flavor->set_error(absl::OkStatus());
  h.Advance(absl::Seconds(61));
  EXPECT_EQ(h.Count("cattle"), 1);
  EXPECT_EQ(h.Status("cattle").waiting_for_plugin(), "");
}

TEST(ControllerTest, EmptyListingIsConfirmedBeforeItIsBelieved) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3));
  // The watch breaks, and the plugin comes back listing nothing (e.g. it lost its state).
  h.instance->BreakWatches(absl::UnavailableError("connection lost"));
  for (const std::string& id : Ids(h, "cattle")) h.instance->RemoveExternal(id);
  h.Advance(absl::Seconds(1));  // re-watch after the first backoff: an empty initial set
  EXPECT_EQ(h.instance->created(), 3) << "an empty listing was believed at once";
  EXPECT_TRUE(absl::StrContains(h.Status("cattle").last_error(), "lists no member"));
  h.Advance(absl::Seconds(2));  // the confirming listing: still empty, so it is true...
  // ... of members a listing has shown. These were known from events only, moments ago: a
  // listing may lag behind those, so they are kept until one begun listing_grace after them
  // misses them too.
  EXPECT_EQ(h.instance->created(), 3);
  h.Advance(absl::Seconds(31));
  EXPECT_EQ(h.Count("cattle"), 3);
  EXPECT_EQ(h.instance->created(), 6);
}

TEST(ControllerTest, MemberTheListingHasShownIsGoneWhenAListingMissesIt) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3));
  // A fresh watch's initial set shows the members: from then on a listing that misses one
  // means it is gone, however new it is.
  h.instance->BreakWatches(absl::UnavailableError("connection lost"));
  h.Advance(absl::Seconds(1));
  h.instance->BreakWatches(absl::UnavailableError("connection lost"));
  h.instance->RemoveExternal(*Ids(h, "cattle").begin());
  h.Advance(absl::Seconds(2));
  EXPECT_EQ(h.instance->created(), 4);
  EXPECT_EQ(h.Count("cattle"), 3);
}

TEST(ControllerTest, WatchThatBreaksIsReestablished) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 2));
  h.instance->BreakWatches(absl::UnavailableError("connection lost"));
  h.Settle();
  EXPECT_EQ(h.Status("cattle").waiting_for_plugin(), testing::kInstancePlugin);
  h.Advance(absl::Seconds(1));
  EXPECT_EQ(h.instance->active_watches(), 1);
  EXPECT_EQ(h.Status("cattle").waiting_for_plugin(), "");
  h.instance->RemoveExternal(*Ids(h, "cattle").begin());
  h.Settle();
  EXPECT_EQ(h.Count("cattle"), 2);
  EXPECT_EQ(h.instance->created(), 3);
}

TEST(ControllerTest, FailingProvisionBacksOffExponentiallyUpToTheCap) {
  Harness h;
  h.instance->set_provision_error(absl::InternalError("disk full"));
  h.Watch(Harness::Cattle("cattle", 1));
  auto log = h.Events("cattle");
  EXPECT_EQ(h.instance->provision_calls(), 1);
  gv1::GroupStatus s = h.Status("cattle");
  EXPECT_TRUE(absl::StrContains(s.last_error(), "disk full")) << s.last_error();
  EXPECT_EQ(s.waiting_for_plugin(), testing::kInstancePlugin);
  EXPECT_EQ(s.provisioning(), 1);
  EXPECT_EQ(s.actual(), 0);

  // Attempts at +1, +2, +4, ... +60, +60 seconds: never a hot loop, never slower than the cap.
  std::vector<int> gaps = {1, 2, 4, 8, 16, 32, 60, 60, 60};
  int calls = 1;
  for (int gap : gaps) {
    h.Advance(absl::Seconds(gap) - absl::Milliseconds(1));
    EXPECT_EQ(h.instance->provision_calls(), calls) << "retried before " << gap << "s";
    h.Advance(absl::Milliseconds(1));
    EXPECT_EQ(h.instance->provision_calls(), ++calls) << "no retry after " << gap << "s";
  }
  EXPECT_EQ(log->Count(gv1::GROUP_EVENT_TYPE_ERROR), static_cast<int>(gaps.size()));
  EXPECT_TRUE(log->Has(gv1::GROUP_EVENT_TYPE_ERROR, "disk full"));

  h.instance->set_provision_error(absl::OkStatus());
  h.Advance(absl::Seconds(60));
  EXPECT_EQ(h.Count("cattle"), 1);
  s = h.Status("cattle");
  EXPECT_EQ(s.last_error(), "");
  EXPECT_EQ(s.waiting_for_plugin(), "");
  EXPECT_TRUE(s.converged());
}

TEST(ControllerTest, FailingProvisionsProbeOneAtATime) {
  Harness h;
  h.instance->set_provision_error(absl::UnavailableError("no capacity"));
  h.Watch(Harness::Cattle("cattle", 20));
  // The first wave tries every creation once (in at most 8 batch calls) and counts as one
  // attempt; after that, one creation probes per backoff (1, 2, 4, 8, 16 s... within a minute).
  EXPECT_EQ(h.instance->provision_calls(), 20);
  EXPECT_EQ(h.Status("cattle").last_error().find("attempt 2"), std::string::npos);
  h.Advance(absl::Minutes(1));
  EXPECT_GE(h.instance->provision_calls(), 20 + 4);
  EXPECT_LE(h.instance->provision_calls(), 20 + 6);
  h.instance->set_provision_error(absl::OkStatus());
  h.Advance(absl::Minutes(2));
  EXPECT_EQ(h.Count("cattle"), 20);
}

TEST(ControllerTest, RetriedProvisionNeverDuplicates) {
  Harness h;
  // The plugin creates the instance but the call fails (as a timeout would).
  h.instance->FailProvisionsAfterCreate(1, absl::DeadlineExceededError("timed out"));
  h.instance->set_listing_lag(absl::Seconds(3));
  h.max_instances = 1;
  h.Watch(Harness::Cattle("cattle", 1));
  h.Advance(absl::Seconds(10));
  EXPECT_EQ(h.instance->created(), 1);
  EXPECT_GE(h.instance->provision_calls(), 2);  // retried with the same key
  EXPECT_EQ(h.Count("cattle"), 1);
}

TEST(ControllerTest, PetsOneMemberPerLogicalId) {
  Harness h;
  h.group = "pets";
  h.Watch(Harness::Pets("pets", {"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  std::set<std::string> lids;
  for (const auto& d : h.instance->Instances()) {
    lids.insert(d.logical_id());
    EXPECT_EQ(d.tags().at("infrakit.logical_id"), d.logical_id());
  }
  EXPECT_EQ(lids, (std::set<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  for (const auto& p : h.flavor->prepared()) EXPECT_FALSE(p.spec().logical_id().empty());

  // A duplicate, an unknown logical ID and a member without one appear: all removed, the
  // original members untouched.
  std::set<std::string> originals = Ids(h, "pets");
  const std::string sha = h.Status("pets").config_sha();
  std::string dup = h.instance->AddExternal({{"infrakit.group", "pets"},
                                             {"infrakit.config_sha", sha},
                                             {"infrakit.logical_id", "10.0.0.2"}},
                                            "10.0.0.2");
  std::string unknown = h.instance->AddExternal({{"infrakit.group", "pets"},
                                                 {"infrakit.config_sha", sha},
                                                 {"infrakit.logical_id", "10.9.9.9"}},
                                                "10.9.9.9");
  std::string none =
      h.instance->AddExternal({{"infrakit.group", "pets"}, {"infrakit.config_sha", sha}});
  h.Settle();
  EXPECT_EQ(Ids(h, "pets"), originals);
  EXPECT_EQ(h.instance->destroyed_order().size(), 3u);

  // A removed member comes back with its logical ID.
  std::string victim;
  for (const auto& d : h.instance->Instances()) {
    if (d.logical_id() == "10.0.0.3") victim = d.id();
  }
  h.instance->RemoveExternal(victim);
  h.Settle();
  int with_lid = 0;
  for (const auto& d : h.instance->Instances()) with_lid += d.logical_id() == "10.0.0.3";
  EXPECT_EQ(with_lid, 1);
  EXPECT_EQ(h.Count("pets"), 3);
}

TEST(ControllerTest, PetsListChangeTouchesOnlyTheAffected) {
  Harness h;
  h.group = "pets";
  h.Watch(Harness::Pets("pets", {"a", "b", "c"}));
  std::map<std::string, std::string> by_lid;
  for (const auto& d : h.instance->Instances()) by_lid[d.logical_id()] = d.id();

  auto log = h.Update(Harness::Pets("pets", {"b", "c", "d"}));
  h.Settle();
  EXPECT_EQ(log->last_phase(), gv1::UPDATE_PHASE_COMPLETED);
  ASSERT_FALSE(log->messages.empty());
  EXPECT_EQ(log->messages[0].message(), "Terminates 1 instance, then adds 1 instance");
  std::map<std::string, std::string> after;
  for (const auto& d : h.instance->Instances()) after[d.logical_id()] = d.id();
  EXPECT_EQ(after.size(), 3u);
  EXPECT_EQ(after["b"], by_lid["b"]);
  EXPECT_EQ(after["c"], by_lid["c"]);
  EXPECT_FALSE(after.count("a"));
  EXPECT_TRUE(after.count("d"));
  EXPECT_EQ(h.instance->destroyed_order(), std::vector<std::string>{by_lid["a"]});
}

TEST(ControllerTest, WatchErrors) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 1));
  gv1::WatchGroupRequest req;
  *req.mutable_spec() = Harness::Cattle("cattle", 1);
  EXPECT_EQ(h.controller->WatchGroup(req).status().code(), absl::StatusCode::kAlreadyExists);

  *req.mutable_spec() = Harness::Cattle("bad", -1);
  auto bad = h.controller->WatchGroup(req);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "allocation.size")) << bad.status();

  *req.mutable_spec() = Harness::Cattle("other", 1);
  req.mutable_spec()->mutable_instance()->set_plugin("instance-nope");
  auto unknown = h.controller->WatchGroup(req);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "instance-nope"));

  *req.mutable_spec() = Harness::Cattle("other", 1);
  h.resolver.SetDown(testing::kFlavorPlugin, true);
  auto down = h.controller->WatchGroup(req);
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(down.status().message(), testing::kFlavorPlugin));
  h.resolver.SetDown(testing::kFlavorPlugin, false);

  h.instance->set_validate_error(absl::InvalidArgumentError("Note: must be a string"));
  auto rejected = h.controller->WatchGroup(req);
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(rejected.status().message(), "instance.properties"));
  EXPECT_TRUE(absl::StrContains(rejected.status().message(), "Note: must be a string"));
  h.instance->set_validate_error(absl::OkStatus());

  h.store.set_error(absl::ResourceExhaustedError("disk full"));
  auto unsaved = h.controller->WatchGroup(req);
  EXPECT_EQ(unsaved.status().code(), absl::StatusCode::kResourceExhausted);
  h.store.set_error(absl::OkStatus());
  h.Settle();

  // None of the failures left anything behind.
  EXPECT_EQ(h.controller->ListGroups().groups_size(), 1);
  EXPECT_EQ(h.instance->created(), 1);
  // And the group can still be watched after them.
  EXPECT_TRUE(h.controller->WatchGroup(req).ok());
}

TEST(ControllerTest, UnknownGroupIsNotFoundEverywhere) {
  Harness h;
  gv1::InspectGroupRequest inspect;
  inspect.set_id("nope");
  EXPECT_EQ(h.controller->InspectGroup(inspect).status().code(), absl::StatusCode::kNotFound);
  gv1::UnwatchGroupRequest unwatch;
  unwatch.set_id("nope");
  EXPECT_EQ(h.controller->UnwatchGroup(unwatch).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(SetSize(h, "nope", 1).code(), absl::StatusCode::kNotFound);
  gv1::StopUpdateRequest stop;
  stop.set_id("nope");
  EXPECT_EQ(h.controller->StopUpdate(stop).code(), absl::StatusCode::kNotFound);
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = Harness::Cattle("nope", 1);
  EXPECT_EQ(h.controller->UpdateGroup(update, nullptr, nullptr).status().code(),
            absl::StatusCode::kNotFound);
  gv1::DescribeUpdateRequest describe;
  *describe.mutable_spec() = Harness::Cattle("nope", 1);
  EXPECT_EQ(h.controller->DescribeUpdate(describe).status().code(), absl::StatusCode::kNotFound);
  gv1::StreamGroupEventsRequest events;
  events.set_id("nope");
  EXPECT_EQ(h.controller->StreamGroupEvents(events, nullptr, nullptr).status().code(),
            absl::StatusCode::kNotFound);

  absl::Status destroyed = absl::OkStatus(), instances = absl::OkStatus();
  gv1::DestroyGroupRequest dg;
  dg.set_id("nope");
  h.controller->DestroyGroup(
      dg, [&](absl::StatusOr<gv1::DestroyGroupResponse> r) { destroyed = r.status(); });
  gv1::DestroyInstancesRequest di;
  di.set_id("nope");
  di.add_instance_ids("x");
  h.controller->DestroyInstances(
      di, [&](absl::StatusOr<gv1::DestroyInstancesResponse> r) { instances = r.status(); });
  h.Settle();
  EXPECT_EQ(destroyed.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(instances.code(), absl::StatusCode::kNotFound);
}

TEST(ControllerTest, SetSizeErrors) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 1));
  absl::Status negative = SetSize(h, "cattle", -2);
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(negative.message(), "size"));
  h.Watch(Harness::Pets("pets", {"a"}));
  EXPECT_EQ(SetSize(h, "pets", 3).code(), absl::StatusCode::kFailedPrecondition);
  gv1::SetSizeRequest req;
  req.set_id("cattle");
  req.set_size(4);
  auto r = h.controller->SetSize(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->previous_size(), 1);
}

TEST(ControllerTest, UnwatchKeepsInstancesAndForgetsTheGroup) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 2));
  auto events = h.Events("cattle");
  GroupRecord record;
  ASSERT_TRUE(h.store.Get("cattle", &record));
  gv1::UnwatchGroupRequest req;
  req.set_id("cattle");
  ASSERT_TRUE(h.controller->UnwatchGroup(req).ok());
  h.Settle();
  EXPECT_FALSE(h.store.Get("cattle", &record));
  EXPECT_EQ(h.controller->ListGroups().groups_size(), 0);
  EXPECT_EQ(h.Count("cattle"), 2);
  EXPECT_TRUE(events->ended);
  EXPECT_TRUE(events->end.ok());
  EXPECT_EQ(h.instance->active_watches(), 0);
  // Nothing of the old group acts any more.
  h.instance->RemoveExternal(*Ids(h, "cattle").begin());
  h.Advance(absl::Minutes(1));
  EXPECT_EQ(h.Count("cattle"), 1);
  EXPECT_EQ(h.controller->UnwatchGroup(req).code(), absl::StatusCode::kNotFound);
}

TEST(ControllerTest, UnwatchThatCannotForgetChangesNothing) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 1));
  h.store.set_error(absl::PermissionDeniedError("read-only"));
  gv1::UnwatchGroupRequest req;
  req.set_id("cattle");
  EXPECT_EQ(h.controller->UnwatchGroup(req).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(h.controller->ListGroups().groups_size(), 1);
}

TEST(ControllerTest, DestroyGroupDrainsDestroysAndForgets) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 3));
  auto events = h.Events("cattle");
  std::set<std::string> ids = Ids(h, "cattle");
  absl::StatusOr<gv1::DestroyGroupResponse> result = absl::UnknownError("not yet");
  gv1::DestroyGroupRequest req;
  req.set_id("cattle");
  h.controller->DestroyGroup(
      req, [&](absl::StatusOr<gv1::DestroyGroupResponse> r) { result = std::move(r); });
  h.Settle();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->destroyed(), 3);
  EXPECT_EQ(h.Count("cattle"), 0);
  std::vector<std::string> drained = h.flavor->drained();
  EXPECT_EQ(std::set<std::string>(drained.begin(), drained.end()), ids);
  GroupRecord record;
  EXPECT_FALSE(h.store.Get("cattle", &record));
  EXPECT_EQ(h.controller->ListGroups().groups_size(), 0);
  EXPECT_EQ(events->Count(gv1::GROUP_EVENT_TYPE_DESTROYED), 3);
  EXPECT_TRUE(events->ended);
}

// The answer counts the instances this DestroyGroup destroyed, not those an earlier rolling
// update or scale down destroyed.
TEST(ControllerTest, DestroyGroupCountsOnlyItsOwnDestroys) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 4, "v1"));
  ASSERT_EQ(SetSize(h, "cattle", 3), absl::OkStatus());
  h.Settle();
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = Harness::Cattle("cattle", 3, "v2");
  bool update_ended = false;
  auto sub = h.controller->UpdateGroup(
      update, [](const gv1::UpdateGroupResponse&) {},
      [&](const absl::Status&) { update_ended = true; });
  ASSERT_TRUE(sub.ok()) << sub.status();
  ASSERT_TRUE(h.RunUntil([&] { return update_ended; }));
  ASSERT_EQ(h.instance->destroyed_order().size(), 4u);  // 1 scale down + 3 rolled
  ASSERT_EQ(h.Count("cattle"), 3);
  absl::StatusOr<gv1::DestroyGroupResponse> result = absl::UnknownError("not yet");
  gv1::DestroyGroupRequest req;
  req.set_id("cattle");
  h.controller->DestroyGroup(
      req, [&](absl::StatusOr<gv1::DestroyGroupResponse> r) { result = std::move(r); });
  h.Settle();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->destroyed(), 3);
  EXPECT_EQ(h.Count("cattle"), 0);
}

TEST(ControllerTest, DestroyInstancesShrinksBySuccesses) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 4));
  std::vector<std::string> ids = IdList(h, "cattle");

  absl::StatusOr<gv1::DestroyInstancesResponse> result = absl::UnknownError("not yet");
  auto done = [&](absl::StatusOr<gv1::DestroyInstancesResponse> r) { result = std::move(r); };
  gv1::DestroyInstancesRequest req;
  req.set_id("cattle");
  req.add_instance_ids(ids[0]);
  req.add_instance_ids("inst-9999");
  h.controller->DestroyInstances(req, done);
  h.Settle();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(result.status().message(), "inst-9999"));
  EXPECT_EQ(h.Count("cattle"), 4);  // nothing destroyed

  req.clear_instance_ids();
  req.add_instance_ids(ids[0]);
  req.add_instance_ids(ids[2]);
  h.controller->DestroyInstances(req, done);
  h.Settle();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->size(), 2);
  EXPECT_EQ(std::set<std::string>(result->destroyed().begin(), result->destroyed().end()),
            (std::set<std::string>{ids[0], ids[2]}));
  EXPECT_EQ(Ids(h, "cattle"), (std::set<std::string>{ids[1], ids[3]}));
  EXPECT_EQ(h.Inspect("cattle").spec().allocation().size(), 2);
  EXPECT_EQ(h.instance->created(), 4);  // not replaced

  // A destroy that fails gives the place back.
  h.instance->set_destroy_error(absl::InternalError("stuck"));
  req.clear_instance_ids();
  req.add_instance_ids(ids[1]);
  h.controller->DestroyInstances(req, done);
  h.Settle();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(h.Inspect("cattle").spec().allocation().size(), 2);
  EXPECT_EQ(h.Count("cattle"), 2);
}

TEST(ControllerTest, EventStreamFollowsTheGroupAndCanBeCancelled) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 1));
  auto log = std::make_shared<testing::EventLog>();
  gv1::StreamGroupEventsRequest req;
  req.set_id("cattle");
  auto sub = h.controller->StreamGroupEvents(
      req, [log](const gv1::GroupEvent& e) { log->events.push_back(e); },
      [log](const absl::Status& st) { log->ended = true; });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(SetSize(h, "cattle", 2).ok());
  h.Settle();
  ASSERT_FALSE(log->events.empty());
  EXPECT_EQ(log->events[0].type(), gv1::GROUP_EVENT_TYPE_SPEC_CHANGED);
  EXPECT_EQ(log->events[0].group(), "cattle");
  EXPECT_EQ(log->Count(gv1::GROUP_EVENT_TYPE_CREATED), 1);
  EXPECT_EQ(log->Count(gv1::GROUP_EVENT_TYPE_HEALTHY), 1);
  size_t seen = log->events.size();
  (*sub)->Cancel();
  ASSERT_TRUE(SetSize(h, "cattle", 3).ok());
  h.Settle();
  EXPECT_EQ(log->events.size(), seen);
  EXPECT_FALSE(log->ended);
}

TEST(ControllerTest, ListGroupsOrderedWithStatus) {
  Harness h;
  h.Watch(Harness::Cattle("zeta", 1));
  h.Watch(Harness::Cattle("alpha", 2));
  gv1::ListGroupsResponse r = h.controller->ListGroups();
  ASSERT_EQ(r.groups_size(), 2);
  EXPECT_EQ(r.groups(0).spec().id(), "alpha");
  EXPECT_EQ(r.groups(0).status().actual(), 2);
  EXPECT_TRUE(r.groups(0).status().converged());
  EXPECT_EQ(r.groups(1).spec().id(), "zeta");
}

TEST(ControllerTest, ShutdownEndsStreamsAndRefusesCalls) {
  Harness h;
  h.Watch(Harness::Cattle("cattle", 1));
  auto events = h.Events("cattle");
  h.controller->Shutdown();
  h.Settle();
  EXPECT_TRUE(events->ended);
  EXPECT_EQ(events->end.code(), absl::StatusCode::kUnavailable);
  gv1::WatchGroupRequest req;
  *req.mutable_spec() = Harness::Cattle("other", 1);
  EXPECT_EQ(h.controller->WatchGroup(req).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(h.instance->active_watches(), 0);
}

}  // namespace
}  // namespace infrakit::services::group
