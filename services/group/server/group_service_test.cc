// GroupService over a real unix socket, in process: the real Controller (real clock, thread
// pool, file store) over the fake instance and flavor plugins, every call through
// client::GroupClient.
#include "services/group/server/group_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/group_client.h"
#include "client/testing/test_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "services/group/controller.h"
#include "services/group/file_store.h"
#include "services/group/real_clock.h"
#include "services/group/testing/fake_flavor_plugin.h"
#include "services/group/testing/fake_instance_plugin.h"
#include "services/group/testing/fake_resolver.h"
#include "services/group/thread_pool_executor.h"
#include "spi/item_status.h"
#include "spi/request_limits.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::services::group::server {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace fv1 = ::infrakit::flavor::v1;
using ::infrakit::client::GroupClient;
using ::infrakit::client::StreamCancelToken;
using ::infrakit::client::testing::TestServer;
using ::infrakit::services::group::testing::FakeFlavorPlugin;
using ::infrakit::services::group::testing::FakeInstancePlugin;
using ::infrakit::services::group::testing::FakeResolver;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;

constexpr char kInstancePlugin[] = "instance-fake";
constexpr char kFlavorPlugin[] = "flavor-fake";
constexpr absl::Duration kWait = absl::Seconds(20);

gv1::GroupSpec Cattle(const std::string& id, int64_t size, const std::string& note = "v1") {
  gv1::GroupSpec s;
  s.set_id(id);
  s.mutable_instance()->set_plugin(kInstancePlugin);
  (*s.mutable_instance()->mutable_properties()->mutable_fields())["Note"].set_string_value(note);
  s.mutable_flavor()->set_plugin(kFlavorPlugin);
  (*s.mutable_flavor()->mutable_properties()->mutable_fields())["Init"].set_string_value("start");
  s.mutable_allocation()->set_size(size);
  return s;
}

gv1::WatchGroupRequest WatchRequest(const gv1::GroupSpec& spec) {
  gv1::WatchGroupRequest r;
  *r.mutable_spec() = spec;
  return r;
}

gv1::InspectGroupRequest InspectRequest(const std::string& id) {
  gv1::InspectGroupRequest r;
  r.set_id(id);
  return r;
}

// Collects a stream's messages from the thread reading it.
template <typename Message>
class Collector {
 public:
  void Add(const Message& m) {
    absl::MutexLock lock(&mu_);
    messages_.push_back(m);
  }
  std::vector<Message> messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Message> messages_;
};

class GroupServiceTest : public ::testing::Test {
 protected:
  GroupServiceTest()
      : instance_(std::make_shared<FakeInstancePlugin>(&clock_)),
        flavor_(std::make_shared<FakeFlavorPlugin>()) {
    resolver_.AddInstance(kInstancePlugin, instance_);
    resolver_.AddFlavor(kFlavorPlugin, flavor_);
  }

  void SetUp() override {
    auto store = FileStore::Open(dir_.Join("state"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ControllerOptions options;
    options.update_health_period = absl::Milliseconds(20);
    options.backoff_initial = absl::Milliseconds(20);
    options.backoff_max = absl::Milliseconds(200);
    options.empty_listing_confirm_delay = absl::Milliseconds(50);
    controller_ =
        std::make_unique<Controller>(options, &resolver_, store_.get(), &clock_, &executor_);
    ASSERT_TRUE(controller_->Start().ok());
    service_ = std::make_unique<GroupService>(controller_.get());
    auto server = TestServer::Start(dir_.Join("group.sock"), {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<GroupClient>(server_->NewChannel(), absl::Seconds(20));
  }

  void TearDown() override {
    client_.reset();
    if (server_ != nullptr) server_->Shutdown();
    if (controller_ != nullptr) controller_->Shutdown();
    service_.reset();
    controller_.reset();
  }

  // Watches `spec` and waits until the group has converged.
  void WatchAndConverge(const gv1::GroupSpec& spec) {
    auto watched = client_->WatchGroup(WatchRequest(spec));
    ASSERT_TRUE(watched.ok()) << watched.status();
    ASSERT_TRUE(WaitForConverged(spec.id(), spec.allocation().size()));
  }

  // Waits until group `id` reports `size` members and convergence.
  bool WaitForConverged(const std::string& id, int64_t size) {
    gv1::InspectGroupResponse last;
    bool ok = WaitFor(
        [&] {
          auto r = client_->InspectGroup(InspectRequest(id));
          if (!r.ok()) return false;
          last = *r;
          return r->status().converged() && r->members_size() == size &&
                 instance_->CountWithTag("infrakit.group", id) == size;
        },
        kWait);
    EXPECT_TRUE(ok) << last.DebugString();
    return ok;
  }

  TempDir dir_;
  RealClock clock_;
  ThreadPoolExecutor executor_{8};
  FakeResolver resolver_;
  std::shared_ptr<FakeInstancePlugin> instance_;
  std::shared_ptr<FakeFlavorPlugin> flavor_;
  std::unique_ptr<FileStore> store_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<GroupService> service_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<GroupClient> client_;
};

TEST_F(GroupServiceTest, WatchInspectAndList) {
  auto watched = client_->WatchGroup(WatchRequest(Cattle("cattle", 3)));
  ASSERT_TRUE(watched.ok()) << watched.status();
  EXPECT_EQ(watched->message(), "watching cattle");
  EXPECT_FALSE(watched->config_sha().empty());
  ASSERT_TRUE(WaitForConverged("cattle", 3));

  auto inspected = client_->InspectGroup(InspectRequest("cattle"));
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  EXPECT_EQ(inspected->spec().id(), "cattle");
  EXPECT_EQ(inspected->status().desired(), 3);
  EXPECT_EQ(inspected->status().config_sha(), watched->config_sha());
  for (const gv1::Member& m : inspected->members()) {
    EXPECT_EQ(m.tags().at("infrakit.group"), "cattle");
    EXPECT_EQ(m.tags().at("infrakit.config_sha"), watched->config_sha());
  }

  auto listed = client_->ListGroups(gv1::ListGroupsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->groups_size(), 1);
  EXPECT_EQ(listed->groups(0).spec().id(), "cattle");
}

// ListGroups pages: in ID order, each page's token leading to the next, the client's
// ListGroups following them all; bad sizes and tokens are INVALID_ARGUMENT.
TEST_F(GroupServiceTest, ListGroupsPages) {
  for (const char* id : {"e", "b", "d", "a", "c"}) {
    auto watched = client_->WatchGroup(WatchRequest(Cattle(id, 0)));
    ASSERT_TRUE(watched.ok()) << watched.status();
  }
  std::vector<std::vector<std::string>> pages;
  gv1::ListGroupsRequest request;
  request.set_page_size(2);
  absl::Status followed = client_->ListGroupsPages(request, [&](const gv1::ListGroupsResponse& p) {
    pages.emplace_back();
    for (const gv1::GroupSummary& g : p.groups()) pages.back().push_back(g.spec().id());
  });
  ASSERT_TRUE(followed.ok()) << followed;
  EXPECT_EQ(pages, (std::vector<std::vector<std::string>>{{"a", "b"}, {"c", "d"}, {"e"}}));

  auto all = client_->ListGroups(gv1::ListGroupsRequest());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->groups_size(), 5);
  EXPECT_EQ(all->next_page_token(), "");

  request.set_page_size(-1);
  EXPECT_EQ(client_->ListGroupsPage(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_page_size(0);
  request.set_page_token("garbage");
  auto bad = client_->ListGroupsPage(request);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("page_token"));
}

// InspectGroup pages its members; every page carries the spec and the status. A token of one
// group is refused for another, and one of ListGroups for InspectGroup.
TEST_F(GroupServiceTest, InspectGroupPagesItsMembers) {
  WatchAndConverge(Cattle("cattle", 5));
  WatchAndConverge(Cattle("other", 1));
  gv1::InspectGroupRequest request = InspectRequest("cattle");
  request.set_page_size(2);
  std::vector<std::string> ids;
  std::string token;
  int pages = 0;
  do {
    request.set_page_token(token);
    auto page = client_->InspectGroupPage(request);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->members_size(), 2);
    EXPECT_EQ(page->spec().id(), "cattle");
    EXPECT_EQ(page->status().desired(), 5);
    for (const gv1::Member& m : page->members()) ids.push_back(m.id());
    token = page->next_page_token();
    if (++pages == 1) {
      gv1::InspectGroupRequest other = InspectRequest("other");
      other.set_page_token(token);
      auto refused = client_->InspectGroupPage(other);
      EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(refused.status().message(), HasSubstr("other filters"));
      gv1::ListGroupsRequest list;
      list.set_page_token(token);
      EXPECT_EQ(client_->ListGroupsPage(list).status().code(), absl::StatusCode::kInvalidArgument);
    }
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));

  auto all = client_->InspectGroup(InspectRequest("cattle"));
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->members_size(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(all->members(i).id(), ids[i]);
}

TEST_F(GroupServiceTest, ErrorCodes) {
  // Unknown group.
  auto inspected = client_->InspectGroup(InspectRequest("nope"));
  EXPECT_EQ(inspected.status().code(), absl::StatusCode::kNotFound) << inspected.status();
  EXPECT_THAT(std::string(inspected.status().message()), HasSubstr("nope"));
  gv1::UnwatchGroupRequest unwatch;
  unwatch.set_id("nope");
  EXPECT_EQ(client_->UnwatchGroup(unwatch).status().code(), absl::StatusCode::kNotFound);
  gv1::StopUpdateRequest stop;
  stop.set_id("nope");
  EXPECT_EQ(client_->StopUpdate(stop).status().code(), absl::StatusCode::kNotFound);
  gv1::SetSizeRequest set_size;
  set_size.set_id("nope");
  set_size.set_size(2);
  EXPECT_EQ(client_->SetSize(set_size).status().code(), absl::StatusCode::kNotFound);
  gv1::DestroyGroupRequest destroy;
  destroy.set_id("nope");
  EXPECT_EQ(client_->DestroyGroup(destroy).status().code(), absl::StatusCode::kNotFound);
  gv1::DestroyInstancesRequest destroy_instances;
  destroy_instances.set_id("nope");
  destroy_instances.add_instance_ids("not-a-member");
  EXPECT_EQ(client_->DestroyInstances(destroy_instances).status().code(),
            absl::StatusCode::kNotFound);
  gv1::DescribeUpdateRequest describe;
  *describe.mutable_spec() = Cattle("nope", 1);
  EXPECT_EQ(client_->DescribeUpdate(describe).status().code(), absl::StatusCode::kNotFound);
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = Cattle("nope", 1);
  int progress = 0;
  absl::Status updated =
      client_->UpdateGroup(update, [&](const gv1::UpdateGroupResponse&) { ++progress; });
  EXPECT_EQ(updated.code(), absl::StatusCode::kNotFound) << updated;
  EXPECT_EQ(progress, 0);
  gv1::StreamGroupEventsRequest events;
  events.set_id("nope");
  StreamCancelToken token;
  absl::Status streamed = client_->StreamGroupEvents(
      events, [](const gv1::GroupEvent&) {}, &token);
  EXPECT_EQ(streamed.code(), absl::StatusCode::kNotFound) << streamed;

  // A bad spec names the field.
  gv1::GroupSpec bad = Cattle("cattle", 1);
  bad.mutable_allocation()->set_size(-1);
  auto watched = client_->WatchGroup(WatchRequest(bad));
  EXPECT_EQ(watched.status().code(), absl::StatusCode::kInvalidArgument) << watched.status();
  EXPECT_THAT(std::string(watched.status().message()), HasSubstr("allocation.size"));
  bad = Cattle("bad/id", 1);
  watched = client_->WatchGroup(WatchRequest(bad));
  EXPECT_EQ(watched.status().code(), absl::StatusCode::kInvalidArgument) << watched.status();
  EXPECT_THAT(std::string(watched.status().message()), HasSubstr("id"));

  // An unknown plugin is named; so is one that is down.
  gv1::GroupSpec unknown = Cattle("cattle", 1);
  unknown.mutable_instance()->set_plugin("instance-nowhere");
  watched = client_->WatchGroup(WatchRequest(unknown));
  EXPECT_EQ(watched.status().code(), absl::StatusCode::kNotFound) << watched.status();
  EXPECT_THAT(std::string(watched.status().message()), HasSubstr("instance-nowhere"));
  resolver_.SetDown(kFlavorPlugin, true);
  watched = client_->WatchGroup(WatchRequest(Cattle("cattle", 1)));
  EXPECT_EQ(watched.status().code(), absl::StatusCode::kUnavailable) << watched.status();
  EXPECT_THAT(std::string(watched.status().message()), HasSubstr(kFlavorPlugin));
  resolver_.SetDown(kFlavorPlugin, false);
  // The plugin's own validation error comes back as INVALID_ARGUMENT.
  instance_->set_validate_error(absl::InvalidArgumentError("Note: not allowed"));
  watched = client_->WatchGroup(WatchRequest(Cattle("cattle", 1)));
  EXPECT_EQ(watched.status().code(), absl::StatusCode::kInvalidArgument) << watched.status();
  EXPECT_THAT(std::string(watched.status().message()), HasSubstr("Note: not allowed"));
  instance_->set_validate_error(absl::OkStatus());
  // None of the failed watches left a group behind.
  auto listed = client_->ListGroups(gv1::ListGroupsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->groups_size(), 0);

  // Watching a watched group.
  WatchAndConverge(Cattle("cattle", 1));
  watched = client_->WatchGroup(WatchRequest(Cattle("cattle", 1)));
  EXPECT_EQ(watched.status().code(), absl::StatusCode::kAlreadyExists) << watched.status();

  // A negative size names the field and changes nothing.
  set_size.set_id("cattle");
  set_size.set_size(-2);
  auto resized = client_->SetSize(set_size);
  EXPECT_EQ(resized.status().code(), absl::StatusCode::kInvalidArgument) << resized.status();
  EXPECT_THAT(std::string(resized.status().message()), HasSubstr("size"));
  EXPECT_EQ(client_->InspectGroup(InspectRequest("cattle"))->status().desired(), 1);

  // No update to stop.
  stop.set_id("cattle");
  EXPECT_EQ(client_->StopUpdate(stop).status().code(), absl::StatusCode::kFailedPrecondition);

  // Destroying a non-member destroys nothing.
  destroy_instances.set_id("cattle");
  auto destroyed = client_->DestroyInstances(destroy_instances);
  EXPECT_EQ(destroyed.status().code(), absl::StatusCode::kNotFound) << destroyed.status();
  EXPECT_EQ(instance_->CountWithTag("infrakit.group", "cattle"), 1);
}

TEST_F(GroupServiceTest, DescribeUpdateChangesNothing) {
  WatchAndConverge(Cattle("cattle", 3));
  const std::string sha = client_->InspectGroup(InspectRequest("cattle"))->status().config_sha();

  gv1::DescribeUpdateRequest same;
  *same.mutable_spec() = Cattle("cattle", 3);
  auto plan = client_->DescribeUpdate(same);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan().summary(), "Noop");

  gv1::DescribeUpdateRequest changed;
  *changed.mutable_spec() = Cattle("cattle", 3, "v2");
  plan = client_->DescribeUpdate(changed);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan().summary(), "Performs a rolling update of 3 instances");
  EXPECT_EQ(plan->plan().replaces(), 3);
  EXPECT_NE(plan->plan().config_sha(), sha);

  auto inspected = client_->InspectGroup(InspectRequest("cattle"));
  ASSERT_TRUE(inspected.ok());
  EXPECT_EQ(inspected->status().config_sha(), sha);
  EXPECT_FALSE(inspected->status().updating());
  EXPECT_EQ(instance_->created(), 3);
}

TEST_F(GroupServiceTest, UpdateStreamsFromStartedToCompleted) {
  WatchAndConverge(Cattle("cattle", 3));
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = Cattle("cattle", 2, "v2");
  std::vector<gv1::UpdateGroupResponse> progress;
  absl::Status ended = client_->UpdateGroup(
      update, [&](const gv1::UpdateGroupResponse& r) { progress.push_back(r); });
  ASSERT_TRUE(ended.ok()) << ended;
  ASSERT_GE(progress.size(), 2u);
  EXPECT_EQ(progress.front().phase(), gv1::UPDATE_PHASE_STARTED);
  EXPECT_EQ(progress.back().phase(), gv1::UPDATE_PHASE_COMPLETED);
  for (size_t i = 1; i + 1 < progress.size(); ++i) {
    EXPECT_EQ(progress[i].phase(), gv1::UPDATE_PHASE_PROGRESS) << progress[i].DebugString();
  }

  auto inspected = client_->InspectGroup(InspectRequest("cattle"));
  ASSERT_TRUE(inspected.ok());
  EXPECT_EQ(inspected->members_size(), 2);
  for (const gv1::Member& m : inspected->members()) {
    EXPECT_EQ(m.tags().at("infrakit.config_sha"), inspected->status().config_sha());
    EXPECT_FALSE(m.outdated());
  }
  EXPECT_FALSE(inspected->status().updating());
}

TEST_F(GroupServiceTest, StopUpdateEndsTheStreamStopped) {
  WatchAndConverge(Cattle("cattle", 2));
  // New members never become healthy: the update waits for them until stopped.
  gv1::GroupSpec next = Cattle("cattle", 2, "v2");
  flavor_->SetShaHealth(
      [&] {
        gv1::DescribeUpdateRequest d;
        *d.mutable_spec() = next;
        return client_->DescribeUpdate(d)->plan().config_sha();
      }(),
      fv1::HEALTH_UNHEALTHY);
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = next;
  Collector<gv1::UpdateGroupResponse> progress;
  absl::Status ended;
  std::thread reader([&] {
    ended =
        client_->UpdateGroup(update, [&](const gv1::UpdateGroupResponse& r) { progress.Add(r); });
  });
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = client_->InspectGroup(InspectRequest("cattle"));
        return r.ok() && r->status().updating();
      },
      kWait));
  gv1::StopUpdateRequest stop;
  stop.set_id("cattle");
  auto stopped = client_->StopUpdate(stop);
  EXPECT_TRUE(stopped.ok()) << stopped.status();
  reader.join();
  EXPECT_TRUE(ended.ok()) << ended;
  std::vector<gv1::UpdateGroupResponse> messages = progress.messages();
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages.front().phase(), gv1::UPDATE_PHASE_STARTED);
  EXPECT_EQ(messages.back().phase(), gv1::UPDATE_PHASE_STOPPED);
}

TEST_F(GroupServiceTest, SetSizeAndDestroyInstances) {
  WatchAndConverge(Cattle("cattle", 2));
  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(4);
  auto resized = client_->SetSize(set_size);
  ASSERT_TRUE(resized.ok()) << resized.status();
  EXPECT_EQ(resized->previous_size(), 2);
  ASSERT_TRUE(WaitForConverged("cattle", 4));

  auto inspected = client_->InspectGroup(InspectRequest("cattle"));
  ASSERT_TRUE(inspected.ok());
  gv1::DestroyInstancesRequest destroy;
  destroy.set_id("cattle");
  destroy.add_instance_ids(inspected->members(0).id());
  destroy.add_instance_ids(inspected->members(2).id());
  auto destroyed = client_->DestroyInstances(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  EXPECT_EQ(destroyed->size(), 2);
  EXPECT_EQ(destroyed->destroyed_size(), 2);
  EXPECT_FALSE(instance_->Exists(inspected->members(0).id()));
  EXPECT_FALSE(instance_->Exists(inspected->members(2).id()));
  ASSERT_TRUE(WaitForConverged("cattle", 2));
}

TEST_F(GroupServiceTest, UnwatchKeepsInstancesAndDestroyRemovesThem) {
  WatchAndConverge(Cattle("kept", 2));
  WatchAndConverge(Cattle("gone", 3));

  gv1::UnwatchGroupRequest unwatch;
  unwatch.set_id("kept");
  auto unwatched = client_->UnwatchGroup(unwatch);
  ASSERT_TRUE(unwatched.ok()) << unwatched.status();
  EXPECT_EQ(client_->InspectGroup(InspectRequest("kept")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(instance_->CountWithTag("infrakit.group", "kept"), 2);

  gv1::DestroyGroupRequest destroy;
  destroy.set_id("gone");
  auto destroyed = client_->DestroyGroup(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  EXPECT_EQ(destroyed->destroyed(), 3);
  EXPECT_EQ(instance_->CountWithTag("infrakit.group", "gone"), 0);
  EXPECT_EQ(client_->InspectGroup(InspectRequest("gone")).status().code(),
            absl::StatusCode::kNotFound);
  auto listed = client_->ListGroups(gv1::ListGroupsRequest());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->groups_size(), 0);
  EXPECT_TRUE(WaitFor([&] { return service_->open_calls() == 0; }, kWait));
}

TEST_F(GroupServiceTest, EventsDeliverCreatedAndEndWhenTheGroupGoes) {
  WatchAndConverge(Cattle("cattle", 1));
  // The raw stub, to wait for the subscription before acting.
  auto stub = gv1::GroupService::NewStub(server_->NewChannel());
  grpc::ClientContext context;
  gv1::StreamGroupEventsRequest request;
  request.set_id("cattle");
  std::unique_ptr<grpc::ClientReader<gv1::GroupEvent>> reader =
      stub->StreamGroupEvents(&context, request);
  reader->WaitForInitialMetadata();
  ASSERT_EQ(context.GetServerInitialMetadata().count(kStreamSubscribedMetadataKey), 1u);

  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(3);
  ASSERT_TRUE(client_->SetSize(set_size).ok());
  int created = 0;
  gv1::GroupEvent event;
  while (created < 2 && reader->Read(&event)) {
    EXPECT_EQ(event.group(), "cattle");
    if (event.type() == gv1::GROUP_EVENT_TYPE_CREATED) {
      ++created;
      EXPECT_FALSE(event.instance_id().empty());
    }
  }
  EXPECT_EQ(created, 2);

  // Unwatching the group ends its streams normally.
  gv1::UnwatchGroupRequest unwatch;
  unwatch.set_id("cattle");
  ASSERT_TRUE(client_->UnwatchGroup(unwatch).ok());
  while (reader->Read(&event)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(WaitFor([&] { return service_->open_calls() == 0; }, kWait));
}

TEST_F(GroupServiceTest, CancellingStreamsFreesThem) {
  WatchAndConverge(Cattle("cattle", 1));
  gv1::StreamGroupEventsRequest request;
  request.set_id("cattle");
  StreamCancelToken token;
  absl::Status ended = absl::UnknownError("not ended");
  std::thread reader([&] {
    ended = client_->StreamGroupEvents(
        request, [](const gv1::GroupEvent&) {}, &token);
  });
  ASSERT_TRUE(WaitFor([&] { return service_->open_calls() == 1; }, kWait));
  token.Cancel();
  reader.join();
  EXPECT_TRUE(ended.ok()) << ended;
  EXPECT_TRUE(WaitFor([&] { return service_->open_calls() == 0; }, kWait));

  // An update's listener goes away; the update itself carries on to the end.
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = Cattle("cattle", 1, "v2");
  StreamCancelToken update_token;
  absl::Status update_ended = absl::UnknownError("not ended");
  std::thread update_reader([&] {
    update_ended = client_->UpdateGroup(
        update, [&](const gv1::UpdateGroupResponse&) { update_token.Cancel(); }, &update_token);
  });
  update_reader.join();
  EXPECT_TRUE(update_ended.ok()) << update_ended;
  EXPECT_TRUE(WaitFor([&] { return service_->open_calls() == 0; }, kWait));
  gv1::DescribeUpdateRequest describe;
  *describe.mutable_spec() = Cattle("cattle", 1, "v2");
  const std::string new_sha = client_->DescribeUpdate(describe)->plan().config_sha();
  EXPECT_TRUE(WaitFor(
      [&] {
        auto r = client_->InspectGroup(InspectRequest("cattle"));
        return r.ok() && r->status().config_sha() == new_sha && r->status().converged() &&
               !r->status().updating() && r->members_size() == 1 &&
               r->members(0).tags().at("infrakit.config_sha") == new_sha;
      },
      kWait));
}

TEST_F(GroupServiceTest, ShutdownReturnsWithOpenStreamsAndPendingCalls) {
  WatchAndConverge(Cattle("cattle", 2));
  // Destroys fail: DestroyGroup cannot finish on its own.
  instance_->set_destroy_error(absl::UnavailableError("destroy is broken"));

  gv1::StreamGroupEventsRequest events;
  events.set_id("cattle");
  StreamCancelToken token;
  absl::Status events_ended = absl::UnknownError("not ended");
  std::thread events_reader([&] {
    events_ended = client_->StreamGroupEvents(
        events, [](const gv1::GroupEvent&) {}, &token);
  });
  gv1::DestroyGroupRequest destroy;
  destroy.set_id("cattle");
  absl::Status destroy_ended = absl::UnknownError("not ended");
  std::thread destroyer([&] { destroy_ended = client_->DestroyGroup(destroy).status(); });
  ASSERT_TRUE(WaitFor([&] { return service_->open_calls() == 2; }, kWait));

  server_->Shutdown();  // Returns: the test would hang otherwise.
  events_reader.join();
  destroyer.join();
  EXPECT_FALSE(events_ended.ok());
  EXPECT_FALSE(destroy_ended.ok());
  EXPECT_TRUE(WaitFor([&] { return service_->open_calls() == 0; }, kWait));
}

// The request limits (spi/request_limits.h) at their boundaries through the gRPC surface:
// accepted at the limit, INVALID_ARGUMENT naming the field one byte (or item) above.
TEST_F(GroupServiceTest, RequestLimitsAtTheBoundary) {
  // Instance properties of exactly `n` bytes encoded (one string field: the rest is fixed
  // overhead at these sizes).
  auto spec_with_properties = [](size_t n) {
    gv1::GroupSpec spec = Cattle("big", 0);
    google::protobuf::Struct& properties = *spec.mutable_instance()->mutable_properties();
    std::string& note = *(*properties.mutable_fields())["Note"].mutable_string_value();
    note.assign(n, 'p');
    note.resize(n - (properties.ByteSizeLong() - n), 'p');
    EXPECT_EQ(properties.ByteSizeLong(), n);
    return spec;
  };
  auto at = client_->WatchGroup(WatchRequest(spec_with_properties(spi::kMaxPropertiesBytes)));
  EXPECT_TRUE(at.ok()) << at.status();
  auto above =
      client_->WatchGroup(WatchRequest(spec_with_properties(spi::kMaxPropertiesBytes + 1)));
  EXPECT_EQ(above.status().code(), absl::StatusCode::kInvalidArgument) << above.status();
  EXPECT_THAT(std::string(above.status().message()), HasSubstr("spec.instance.properties"));

  EXPECT_EQ(
      client_->InspectGroup(InspectRequest(std::string(spi::kMaxIdBytes, 'g'))).status().code(),
      absl::StatusCode::kNotFound);
  auto long_id = client_->InspectGroup(InspectRequest(std::string(spi::kMaxIdBytes + 1, 'g')));
  EXPECT_EQ(long_id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(long_id.status().message()), HasSubstr("id: 257 bytes"));

  gv1::DestroyInstancesRequest destroy;
  destroy.set_id("big");
  for (size_t i = 0; i < spi::kMaxBatchSize + 1; ++i) destroy.add_instance_ids("i");
  auto too_many = client_->DestroyInstances(destroy);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_many.status().message()), HasSubstr("instance_ids"));
  destroy.set_instance_ids(0, std::string(spi::kMaxIdBytes + 1, 'i'));
  destroy.mutable_instance_ids()->RemoveLast();
  auto long_instance = client_->DestroyInstances(destroy);
  EXPECT_EQ(long_instance.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(long_instance.status().message()), HasSubstr("instance_ids[0]"));
}

}  // namespace
}  // namespace infrakit::services::group::server
