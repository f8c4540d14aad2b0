// A follower's GroupService forwarding every call, through LeaderForwarder, to a leader's
// GroupService on a real TCP port (the real Controller over fake plugins); and the forwarder's
// own errors when there is no leader to forward to.
#include "services/group/server/leader_forwarder.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/group_client.h"
#include "client/testing/test_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "services/group/controller.h"
#include "services/group/file_store.h"
#include "services/group/ha/store_reads.h"
#include "services/group/real_clock.h"
#include "services/group/server/active_controller.h"
#include "services/group/server/group_service.h"
#include "services/group/testing/fake_flavor_plugin.h"
#include "services/group/testing/fake_instance_plugin.h"
#include "services/group/testing/fake_resolver.h"
#include "services/group/thread_pool_executor.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::services::group::server {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::client::GroupClient;
using ::infrakit::client::StreamCancelToken;
using ::infrakit::client::testing::TestServer;
using ::infrakit::services::group::testing::FakeFlavorPlugin;
using ::infrakit::services::group::testing::FakeInstancePlugin;
using ::infrakit::services::group::testing::FakeResolver;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(20);

gv1::GroupSpec Cattle(const std::string& id, int64_t size, const std::string& note) {
  gv1::GroupSpec s;
  s.set_id(id);
  s.mutable_instance()->set_plugin("instance-fake");
  (*s.mutable_instance()->mutable_properties()->mutable_fields())["Note"].set_string_value(note);
  s.mutable_flavor()->set_plugin("flavor-fake");
  s.mutable_allocation()->set_size(size);
  return s;
}

// A port of 127.0.0.1 that was free a moment ago and that nothing listens on.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

// A follower's copy of the store, as the test sets it.
class FakeStoreReads : public ha::StoreReads {
 public:
  void Set(absl::StatusOr<gv1::ListGroupsResponse> answer) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
  }
  absl::StatusOr<gv1::ListGroupsResponse> ListGroups() const override {
    absl::MutexLock lock(&mu_);
    return answer_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::StatusOr<gv1::ListGroupsResponse> answer_ ABSL_GUARDED_BY(mu_) =
      absl::UnavailableError("not read yet");
};

class LeaderForwarderTest : public ::testing::Test {
 protected:
  LeaderForwarderTest()
      : instance_(std::make_shared<FakeInstancePlugin>(&clock_)),
        flavor_(std::make_shared<FakeFlavorPlugin>()) {
    resolver_.AddInstance("instance-fake", instance_);
    resolver_.AddFlavor("flavor-fake", flavor_);
  }

  void SetUp() override {
    // The leader: a Controller behind a GroupService on 127.0.0.1 (its peer listener).
    auto store = FileStore::Open(dir_.Join("state"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ControllerOptions options;
    options.update_health_period = absl::Milliseconds(20);
    options.backoff_initial = absl::Milliseconds(20);
    controller_ =
        std::make_unique<Controller>(options, &resolver_, store_.get(), &clock_, &executor_);
    ASSERT_TRUE(controller_->Start().ok());
    leader_service_ = std::make_unique<GroupService>(controller_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(leader_service_.get());
    leader_server_ = builder.BuildAndStart();
    ASSERT_NE(leader_server_, nullptr);
    SetLeader({"leader-1", absl::StrCat("127.0.0.1:", port)});

    // The follower: no Controller, every call forwarded; served on a unix socket.
    follower_active_ = std::make_unique<ActiveController>([this] { return Leader().identity; });
    forwarder_ = std::make_unique<LeaderForwarder>(
        [this]() -> absl::StatusOr<ha::LeaderValue> { return Leader(); });
    follower_service_ = std::make_unique<GroupService>(follower_active_.get(), forwarder_.get());
    auto server = TestServer::Start(dir_.Join("follower.sock"), {follower_service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    follower_server_ = *std::move(server);
    client_ = std::make_unique<GroupClient>(follower_server_->NewChannel(), absl::Seconds(20));
  }

  void TearDown() override {
    client_.reset();
    if (follower_server_ != nullptr) follower_server_->Shutdown();
    follower_service_.reset();
    if (leader_server_ != nullptr) {
      leader_server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    }
    if (controller_ != nullptr) controller_->Shutdown();
    leader_service_.reset();
    controller_.reset();
  }

  void SetLeader(ha::LeaderValue leader) {
    absl::MutexLock lock(&mu_);
    leader_ = std::move(leader);
  }
  ha::LeaderValue Leader() {
    absl::MutexLock lock(&mu_);
    return leader_;
  }

  bool Converged(const std::string& id, int size) {
    gv1::InspectGroupRequest inspect;
    inspect.set_id(id);
    auto r = client_->InspectGroup(inspect);
    return r.ok() && r->status().converged() && r->members_size() == size &&
           instance_->CountWithTag("infrakit.group", id) == size;
  }

  TempDir dir_;
  RealClock clock_;
  ThreadPoolExecutor executor_{8};
  FakeResolver resolver_;
  std::shared_ptr<FakeInstancePlugin> instance_;
  std::shared_ptr<FakeFlavorPlugin> flavor_;
  std::unique_ptr<FileStore> store_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<GroupService> leader_service_;
  std::unique_ptr<grpc::Server> leader_server_;
  absl::Mutex mu_;
  ha::LeaderValue leader_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ActiveController> follower_active_;
  std::unique_ptr<LeaderForwarder> forwarder_;
  std::unique_ptr<GroupService> follower_service_;
  std::unique_ptr<TestServer> follower_server_;
  std::unique_ptr<GroupClient> client_;
};

TEST_F(LeaderForwarderTest, EveryCallThroughTheFollowerIsServedByTheLeader) {
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = Cattle("cattle", 2, "v1");
  auto watched = client_->WatchGroup(watch);
  ASSERT_TRUE(watched.ok()) << watched.status();
  EXPECT_EQ(watched->message(), "watching cattle");
  ASSERT_TRUE(WaitFor([&] { return Converged("cattle", 2); }, kWait));

  auto listed = client_->ListGroups(gv1::ListGroupsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->follower());
  ASSERT_EQ(listed->groups_size(), 1);
  EXPECT_EQ(listed->groups(0).spec().id(), "cattle");

  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(3);
  auto resized = client_->SetSize(set_size);
  ASSERT_TRUE(resized.ok()) << resized.status();
  EXPECT_EQ(resized->previous_size(), 2);
  ASSERT_TRUE(WaitFor([&] { return Converged("cattle", 3); }, kWait));

  // A stream: the update's progress, relayed from the leader, ends OK when it completes.
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = Cattle("cattle", 3, "v2");
  std::vector<gv1::UpdateGroupResponse> progress;
  absl::Status ended = client_->UpdateGroup(
      update, [&](const gv1::UpdateGroupResponse& r) { progress.push_back(r); });
  ASSERT_TRUE(ended.ok()) << ended;
  ASSERT_GE(progress.size(), 2u);
  EXPECT_EQ(progress.front().phase(), gv1::UPDATE_PHASE_STARTED);
  EXPECT_EQ(progress.back().phase(), gv1::UPDATE_PHASE_COMPLETED);
  EXPECT_EQ(instance_->CountWithTag("infrakit.group", "cattle"), 3);

  gv1::DescribeUpdateRequest describe;
  *describe.mutable_spec() = Cattle("cattle", 3, "v2");
  auto described = client_->DescribeUpdate(describe);
  ASSERT_TRUE(described.ok()) << described.status();

  gv1::DestroyGroupRequest destroy;
  destroy.set_id("cattle");
  auto destroyed = client_->DestroyGroup(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  EXPECT_EQ(instance_->CountWithTag("infrakit.group", "cattle"), 0);
  EXPECT_TRUE(WaitFor([&] { return follower_service_->open_calls() == 0; }, kWait));
}

// Streams the leader ends while it subscribes (an update to the spec the group already has is
// over at once) are relayed whole, never taken for a refusal.
// A follower with a copy of the store lists the groups from it, without the leader, and asks
// the leader only until the copy is read; writes still go to the leader.
TEST_F(LeaderForwarderTest, AFollowerListsFromItsCopyOfTheStoreOnceItIsRead) {
  FakeStoreReads reads;
  GroupService reading(follower_active_.get(), forwarder_.get(), &reads);
  auto server = TestServer::Start(dir_.Join("reading.sock"), {&reading});
  ASSERT_TRUE(server.ok()) << server.status();
  GroupClient client((*server)->NewChannel(), absl::Seconds(20));
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = Cattle("cattle", 1, "v1");
  ASSERT_TRUE(client.WatchGroup(watch).ok());

  // Not read yet: the leader's list.
  auto listed = client.ListGroups(gv1::ListGroupsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->follower());
  ASSERT_EQ(listed->groups_size(), 1);
  EXPECT_FALSE(listed->groups(0).status().from_store());
  EXPECT_EQ(listed->store_revision(), 0);

  // Read: the copy's groups (here not the leader's, to tell them apart), paged by the follower.
  gv1::ListGroupsResponse stored;
  stored.set_store_revision(42);
  for (const char* id : {"a", "b"}) {
    gv1::GroupSummary* g = stored.add_groups();
    *g->mutable_spec() = Cattle(id, 2, "v1");
    g->mutable_status()->set_desired(2);
    g->mutable_status()->set_from_store(true);
  }
  reads.Set(stored);
  // The raw stub: GroupClient::ListGroups gathers every page.
  auto stub = gv1::GroupService::NewStub((*server)->NewChannel());
  auto page =
      [&](const gv1::ListGroupsRequest& request) -> absl::StatusOr<gv1::ListGroupsResponse> {
    grpc::ClientContext context;
    gv1::ListGroupsResponse response;
    grpc::Status status = stub->ListGroups(&context, request, &response);
    if (!status.ok()) return absl::UnknownError(status.error_message());
    return response;
  };
  gv1::ListGroupsRequest first_page;
  first_page.set_page_size(1);
  listed = page(first_page);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->follower());
  EXPECT_EQ(listed->leader(), "leader-1");
  EXPECT_EQ(listed->store_revision(), 42);
  ASSERT_EQ(listed->groups_size(), 1);
  EXPECT_EQ(listed->groups(0).spec().id(), "a");
  EXPECT_TRUE(listed->groups(0).status().from_store());
  ASSERT_FALSE(listed->next_page_token().empty());
  gv1::ListGroupsRequest second_page;
  second_page.set_page_token(listed->next_page_token());
  listed = page(second_page);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->groups_size(), 1);
  EXPECT_EQ(listed->groups(0).spec().id(), "b");
  EXPECT_TRUE(listed->next_page_token().empty());

  // Even with no leader to ask, the copy answers.
  const ha::LeaderValue leader = Leader();
  SetLeader({});
  listed = client.ListGroups(gv1::ListGroupsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->groups_size(), 2);
  SetLeader(leader);

  // A write is still the leader's.
  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(2);
  auto resized = client.SetSize(set_size);
  ASSERT_TRUE(resized.ok()) << resized.status();
  EXPECT_EQ(resized->previous_size(), 1);
  (*server)->Shutdown();
}

TEST_F(LeaderForwarderTest, StreamsEndedAtOnceAreRelayedWhole) {
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = Cattle("cattle", 1, "v1");
  ASSERT_TRUE(client_->WatchGroup(watch).ok());
  ASSERT_TRUE(WaitFor([&] { return Converged("cattle", 1); }, kWait));
  for (int i = 0; i < 20; ++i) {
    gv1::UpdateGroupRequest update;
    *update.mutable_spec() = Cattle("cattle", 1, "v1");
    std::vector<gv1::UpdateGroupResponse> progress;
    absl::Status ended = client_->UpdateGroup(
        update, [&](const gv1::UpdateGroupResponse& r) { progress.push_back(r); });
    ASSERT_TRUE(ended.ok()) << ended;
    ASSERT_FALSE(progress.empty());
  }
}

TEST_F(LeaderForwarderTest, TheLeadersErrorsArePassedThrough) {
  gv1::SetSizeRequest set_size;
  set_size.set_id("nope");
  set_size.set_size(1);
  absl::Status direct =
      GroupClient(grpc::CreateChannel(Leader().peer_address, grpc::InsecureChannelCredentials()),
                  absl::Seconds(5))
          .SetSize(set_size)
          .status();
  absl::Status forwarded = client_->SetSize(set_size).status();
  EXPECT_EQ(forwarded.code(), absl::StatusCode::kNotFound) << forwarded;
  EXPECT_EQ(forwarded, direct);

  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = Cattle("nope", 1, "v1");
  absl::Status updated = client_->UpdateGroup(update, [](const gv1::UpdateGroupResponse&) {});
  EXPECT_EQ(updated.code(), absl::StatusCode::kNotFound) << updated;
}

TEST_F(LeaderForwarderTest, AForwardedStreamCancelledByTheClientReleasesEverything) {
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = Cattle("cattle", 1, "v1");
  ASSERT_TRUE(client_->WatchGroup(watch).ok());
  gv1::StreamGroupEventsRequest events;
  events.set_id("cattle");
  StreamCancelToken token;
  absl::Status streamed;
  std::thread reader([&] {
    streamed = client_->StreamGroupEvents(
        events, [](const gv1::GroupEvent&) {}, &token);
  });
  ASSERT_TRUE(WaitFor([&] { return follower_service_->open_calls() == 1; }, kWait));
  token.Cancel();
  reader.join();
  EXPECT_TRUE(streamed.ok()) << streamed;  // the client's cancel
  EXPECT_TRUE(WaitFor([&] { return follower_service_->open_calls() == 0; }, kWait));
  EXPECT_TRUE(WaitFor([&] { return leader_service_->open_calls() == 0; }, kWait));
}

TEST_F(LeaderForwarderTest, WithoutAReachableLeaderTheFollowerSaysWhy) {
  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(1);

  SetLeader({});
  absl::Status none = client_->SetSize(set_size).status();
  EXPECT_EQ(none.code(), absl::StatusCode::kUnavailable) << none;
  EXPECT_THAT(std::string(none.message()), HasSubstr("no leader is elected"));
  auto listed = client_->ListGroups(gv1::ListGroupsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->follower());
  EXPECT_EQ(listed->groups_size(), 0);
  EXPECT_THAT(listed->status(), HasSubstr("no leader is elected"));

  SetLeader({"leader-2", ""});
  absl::Status no_peer = client_->SetSize(set_size).status();
  EXPECT_EQ(no_peer.code(), absl::StatusCode::kFailedPrecondition) << no_peer;
  EXPECT_THAT(std::string(no_peer.message()), HasSubstr("not the leader; the leader is leader-2"));

  // A leader that advertises a port nobody listens on (it died).
  const std::string dead = absl::StrCat("127.0.0.1:", ClosedPort());
  SetLeader({"leader-3", dead});
  absl::Status unreachable = client_->SetSize(set_size).status();
  EXPECT_EQ(unreachable.code(), absl::StatusCode::kUnavailable) << unreachable;
  EXPECT_THAT(std::string(unreachable.message()),
              HasSubstr("forwarding to the leader leader-3 at " + dead));
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = Cattle("cattle", 1, "v2");
  absl::Status stream = client_->UpdateGroup(update, [](const gv1::UpdateGroupResponse&) {});
  EXPECT_EQ(stream.code(), absl::StatusCode::kUnavailable) << stream;
  EXPECT_THAT(std::string(stream.message()), HasSubstr("leader-3"));
}

}  // namespace
}  // namespace infrakit::services::group::server
