// The infrakit-group wiring with --store etcd:// against a real one-member etcd on 127.0.0.31
// (skipped without etcd): two group services, one leads and runs the Controller, the other
// refuses calls naming the leader or forwards them, and lists the groups from its copy of the
// store; when the leader stops, the other takes over.
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "client/testing/test_server.h"
#include "common/etcd/grpc_etcd_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "services/group/server/group_server.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::services::group::server {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::client::testing::TestServer;
using ::infrakit::testing::EtcdCluster;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;

const absl::Duration kTtl = absl::Seconds(2);

class GroupServerEtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdCluster::Installed()) GTEST_SKIP() << EtcdCluster::kNotInstalled;
    etcd_ = std::make_unique<EtcdCluster>(1);
    absl::Status started = etcd_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  GroupServerOptions Options(const std::string& identity) {
    GroupServerOptions o;
    o.plugins_dir = dir_.Join("plugins");
    o.store = "etcd://" + etcd_->Endpoints();
    o.etcd_prefix = "/it";
    o.lease_ttl = kTtl;
    o.identity = identity;
    return o;
  }

  TempDir dir_;
  std::unique_ptr<EtcdCluster> etcd_;
};

TEST_F(GroupServerEtcdTest, BadEtcdFlagsAreNamed) {
  GroupServerOptions o = Options("a");
  o.store = "zookeeper://x:1";
  EXPECT_THAT(std::string(GroupServer::Create(o).status().message()), HasSubstr("--store"));
  o = Options("a");
  o.etcd_prefix = "/it/";
  EXPECT_THAT(std::string(GroupServer::Create(o).status().message()), HasSubstr("--etcd-prefix"));
  o = Options("a");
  o.lease_ttl = absl::Milliseconds(300);
  EXPECT_THAT(std::string(GroupServer::Create(o).status().message()),
              HasSubstr("--etcd-lease-ttl"));
  o = Options("a\nb");
  EXPECT_THAT(std::string(GroupServer::Create(o).status().message()), HasSubstr("--advertise"));
  for (const char* bad : {"nope", "127.0.0.1:99999", "0.0.0.0:7301", ":7301"}) {
    o = Options("a");
    o.peer_listen = bad;
    absl::Status refused = GroupServer::Create(o).status();
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(refused.message()), HasSubstr("--peer-listen")) << bad;
  }
  o = Options("a");
  o.store = "file";
  o.state_dir = dir_.Join("state");
  o.peer_listen = "127.0.0.1:0";
  EXPECT_THAT(std::string(GroupServer::Create(o).status().message()), HasSubstr("--peer-listen"));
}

// With --peer-listen, a follower forwards calls to the leader and answers with its answer.
TEST_F(GroupServerEtcdTest, AFollowerForwardsCallsToTheLeadersPeerAddress) {
  GroupServerOptions oa = Options("service-a");
  oa.peer_listen = "127.0.0.1:0";
  auto a = GroupServer::Create(oa);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_GT((*a)->peer_port(), 0);
  ASSERT_TRUE(WaitFor([&] { return (*a)->Leads(); }, absl::Seconds(10)));
  GroupServerOptions ob = Options("service-b");
  ob.peer_listen = "127.0.0.1:0";
  auto b = GroupServer::Create(ob);
  ASSERT_TRUE(b.ok()) << b.status();
  auto server_a = TestServer::Start(dir_.Join("a.sock"), {(*a)->service()});
  ASSERT_TRUE(server_a.ok()) << server_a.status();
  auto server_b = TestServer::Start(dir_.Join("b.sock"), {(*b)->service()});
  ASSERT_TRUE(server_b.ok()) << server_b.status();
  auto stub_a = gv1::GroupService::NewStub((*server_a)->NewChannel());
  auto stub_b = gv1::GroupService::NewStub((*server_b)->NewChannel());

  gv1::ListGroupsResponse list;
  ASSERT_TRUE(WaitFor(
      [&] {
        grpc::ClientContext context;
        list.Clear();
        return stub_b->ListGroups(&context, gv1::ListGroupsRequest(), &list).ok() &&
               list.leader() == "service-a";
      },
      absl::Seconds(10)));
  EXPECT_TRUE(list.follower());
  EXPECT_EQ(list.status(), "following");
  grpc::ClientContext list_a_context;
  gv1::ListGroupsResponse list_a;
  ASSERT_TRUE(stub_a->ListGroups(&list_a_context, gv1::ListGroupsRequest(), &list_a).ok());
  EXPECT_FALSE(list_a.follower());
  EXPECT_EQ(list_a.status(), "leading");

  // The leader's answer, through the follower: no group "cattle" here.
  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(3);
  gv1::SetSizeResponse response;
  grpc::ClientContext via_b;
  grpc::Status forwarded = stub_b->SetSize(&via_b, set_size, &response);
  grpc::ClientContext direct;
  grpc::Status answered = stub_a->SetSize(&direct, set_size, &response);
  EXPECT_EQ(forwarded.error_code(), grpc::StatusCode::NOT_FOUND) << forwarded.error_message();
  EXPECT_EQ(forwarded.error_message(), answered.error_message());
  (*server_a)->Shutdown();
  (*server_b)->Shutdown();
}

// A follower lists the groups itself, from its copy of the records in etcd, which follows the
// leader's writes; writes sent to it still go to the leader.
TEST_F(GroupServerEtcdTest, AFollowerListsTheGroupsFromItsCopyOfTheStore) {
  auto client = etcd::GrpcEtcdClient::Create(etcd_->Endpoints());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)
                  ->Put("/it/groups/cattle",
                        R"({"format_version": 1, "spec": {"id": "cattle",
                            "instance": {"plugin": "instance-file"},
                            "flavor": {"plugin": "flavor-vanilla"},
                            "allocation": {"size": 3}}})",
                        0)
                  .ok());
  GroupServerOptions oa = Options("service-a");
  oa.peer_listen = "127.0.0.1:0";
  auto a = GroupServer::Create(oa);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(WaitFor([&] { return (*a)->Leads(); }, absl::Seconds(10)));
  auto b = GroupServer::Create(Options("service-b"));
  ASSERT_TRUE(b.ok()) << b.status();
  auto server_b = TestServer::Start(dir_.Join("b.sock"), {(*b)->service()});
  ASSERT_TRUE(server_b.ok()) << server_b.status();
  auto stub_b = gv1::GroupService::NewStub((*server_b)->NewChannel());
  auto list_b = [&] {
    grpc::ClientContext context;
    gv1::ListGroupsResponse response;
    EXPECT_TRUE(stub_b->ListGroups(&context, gv1::ListGroupsRequest(), &response).ok());
    return response;
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        gv1::ListGroupsResponse r = list_b();
        return r.store_revision() > 0 && r.leader() == "service-a";
      },
      absl::Seconds(10)));
  gv1::ListGroupsResponse list = list_b();
  EXPECT_TRUE(list.follower());
  EXPECT_EQ(list.leader(), "service-a");
  ASSERT_EQ(list.groups_size(), 1);
  EXPECT_EQ(list.groups(0).spec().id(), "cattle");
  EXPECT_TRUE(list.groups(0).status().from_store());
  EXPECT_EQ(list.groups(0).status().desired(), 3);

  // A write through the follower is the leader's; the follower's copy follows the record.
  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(5);
  gv1::SetSizeResponse resized;
  grpc::ClientContext via_b;
  grpc::Status forwarded = stub_b->SetSize(&via_b, set_size, &resized);
  ASSERT_TRUE(forwarded.ok()) << forwarded.error_message();
  EXPECT_EQ(resized.previous_size(), 3);
  EXPECT_TRUE(WaitFor(
      [&] {
        list = list_b();
        return list.groups_size() == 1 && list.groups(0).status().desired() == 5;
      },
      absl::Seconds(10)));
  // And a record removed from etcd leaves the copy.
  const int64_t before = list.store_revision();
  ASSERT_TRUE((*client)->Txn({}, {etcd::Op::Delete("/it/groups/cattle")}, {}).ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        list = list_b();
        return list.groups_size() == 0;
      },
      absl::Seconds(10)));
  EXPECT_GT(list.store_revision(), before);
  (*server_b)->Shutdown();
}

TEST_F(GroupServerEtcdTest, OneLeadsTheOtherRefusesAndTakesOverWhenItStops) {
  auto a = GroupServer::Create(Options("service-a"));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(WaitFor([&] { return (*a)->Leads(); }, absl::Seconds(10)));
  auto b = GroupServer::Create(Options("service-b"));
  ASSERT_TRUE(b.ok()) << b.status();
  auto server = TestServer::Start(dir_.Join("b.sock"), {(*b)->service()});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = gv1::GroupService::NewStub((*server)->NewChannel());

  // b follows: writes are refused naming the leader, ListGroups says who leads.
  gv1::ListGroupsResponse list;
  ASSERT_TRUE(WaitFor(
      [&] {
        grpc::ClientContext context;
        list.Clear();
        return stub->ListGroups(&context, gv1::ListGroupsRequest(), &list).ok() &&
               list.leader() == "service-a";
      },
      absl::Seconds(10)));
  EXPECT_TRUE(list.follower());
  EXPECT_FALSE((*b)->Leads());
  grpc::ClientContext context;
  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(3);
  gv1::SetSizeResponse set_size_response;
  grpc::Status refused = stub->SetSize(&context, set_size, &set_size_response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("not the leader; the leader is service-a"));

  // a stops (resigning): b leads within the TTL and a second.
  const absl::Time stopped = absl::Now();
  a->reset();
  ASSERT_TRUE(WaitFor([&] { return (*b)->Leads(); }, kTtl + absl::Seconds(1)));
  std::cerr << "takeover in " << absl::FormatDuration(absl::Now() - stopped) << "\n";
  grpc::ClientContext context2;
  list.Clear();
  ASSERT_TRUE(stub->ListGroups(&context2, gv1::ListGroupsRequest(), &list).ok());
  EXPECT_FALSE(list.follower());
  EXPECT_EQ(list.leader(), "service-b");
  (*server)->Shutdown();
}

// A leader whose Controller cannot resume the groups (a corrupt record) says so, refuses calls
// naming why, and tries again until it can.
TEST_F(GroupServerEtcdTest, ALeaderThatCannotResumeTheGroupsSaysSoAndRetries) {
  auto client = etcd::GrpcEtcdClient::Create(etcd_->Endpoints());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Put("/it/groups/broken", "not json", 0).ok());
  auto a = GroupServer::Create(Options("service-a"));
  ASSERT_TRUE(a.ok()) << a.status();
  auto server = TestServer::Start(dir_.Join("a.sock"), {(*a)->service()});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = gv1::GroupService::NewStub((*server)->NewChannel());
  auto list = [&] {
    grpc::ClientContext context;
    gv1::ListGroupsResponse response;
    EXPECT_TRUE(stub->ListGroups(&context, gv1::ListGroupsRequest(), &response).ok());
    return response;
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        return absl::StartsWith(list().status(),
                                "leading, but not acting: cannot resume the groups in etcd");
      },
      absl::Seconds(10)))
      << list().status();
  EXPECT_THAT(list().status(), HasSubstr("/it/groups/broken"));
  EXPECT_FALSE((*a)->Leads());
  grpc::ClientContext context;
  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(1);
  gv1::SetSizeResponse response;
  grpc::Status refused = stub->SetSize(&context, set_size, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(refused.error_message(), HasSubstr("cannot resume the groups"));

  // The record fixed, the next try resumes.
  ASSERT_TRUE((*client)->Txn({}, {etcd::Op::Delete("/it/groups/broken")}, {}).ok());
  EXPECT_TRUE(
      WaitFor([&] { return (*a)->Leads() && list().status() == "leading"; }, absl::Seconds(10)));
  (*server)->Shutdown();
}

}  // namespace
}  // namespace infrakit::services::group::server
