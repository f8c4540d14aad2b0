#include "plugins/flavor/zookeeper/zookeeper_plugin.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "plugins/flavor/zookeeper/fake_srvr_server.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

using ::testing::HasSubstr;

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &out).ok()) << text;
  return out;
}

v1::Allocation Ips(const std::vector<std::string>& ips) {
  v1::Allocation allocation;
  for (const std::string& ip : ips) allocation.mutable_logical_ids()->add_ids(ip);
  return allocation;
}

v1::HealthyRequest HealthyAt(int port, const std::string& logical_id = "127.0.0.1") {
  v1::HealthyRequest request;
  *request.mutable_properties() = Json(absl::StrCat(R"({"ClientPort": )", port, "}"));
  request.mutable_instance()->set_id("instance-1");
  request.mutable_instance()->set_logical_id(logical_id);
  return request;
}

TEST(ZookeeperPluginTest, ValidateAnswersTheQuorumLimit) {
  ZookeeperPlugin plugin;
  v1::ValidateRequest request;
  *request.mutable_allocation() = Ips({"127.0.0.11", "127.0.0.12", "127.0.0.13"});
  auto three = plugin.ValidateAllocation(request);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(three->max_unavailable(), 1);
  *request.mutable_allocation() =
      Ips({"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"});
  EXPECT_EQ(plugin.ValidateAllocation(request)->max_unavailable(), 2);
  EXPECT_TRUE(plugin.Validate(request).ok());
  *request.mutable_properties() = Json(R"({"Mode": "banana"})");
  EXPECT_THAT(plugin.Validate(request).message(), HasSubstr("Mode"));
  request.clear_properties();
  request.mutable_allocation()->set_size(3);
  EXPECT_EQ(plugin.Validate(request).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ZookeeperPluginTest, PrepareAppendsTheMembersScriptAndKeepsTheSpec) {
  ZookeeperPlugin plugin;
  v1::PrepareRequest request;
  *request.mutable_properties() = Json(R"({"Labels": {"tier": "zk"}})");
  *request.mutable_allocation() = Ips({"127.0.0.13", "127.0.0.11", "127.0.0.12"});
  request.mutable_spec()->set_init("echo first");
  request.mutable_spec()->set_logical_id("127.0.0.12");
  (*request.mutable_spec()->mutable_tags())["infrakit.group"] = "zk";
  auto prepared = plugin.Prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  const std::string& init = prepared->spec().init();
  EXPECT_THAT(init, ::testing::StartsWith("echo first\n# flavor-zookeeper: member 2"));
  EXPECT_THAT(init, HasSubstr("echo 2 > \"$ZK_DIR/data/myid\""));
  EXPECT_THAT(init, HasSubstr("clientPortAddress=127.0.0.12\n"));
  EXPECT_EQ(prepared->spec().logical_id(), "127.0.0.12");
  EXPECT_EQ(prepared->spec().tags().at("infrakit.group"), "zk");
  EXPECT_EQ(prepared->spec().tags().at("tier"), "zk");
  // The same member gets the same script again (a replacement rejoins as itself).
  EXPECT_EQ(plugin.Prepare(request)->spec().init(), init);

  request.mutable_spec()->set_logical_id("127.0.0.99");
  EXPECT_THAT(plugin.Prepare(request).status().message(), HasSubstr("LogicalID"));
}

TEST(ZookeeperPluginTest, ObserversHaveNoLimitAndTheirOwnScript) {
  ZookeeperPlugin plugin;
  v1::ValidateRequest validate;
  *validate.mutable_properties() =
      Json(R"({"Mode": "observer", "Members": ["127.0.0.11", "127.0.0.12", "127.0.0.13"]})");
  *validate.mutable_allocation() = Ips({"127.0.0.14", "127.0.0.15"});
  auto limits = plugin.ValidateAllocation(validate);
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ(limits->max_unavailable(), 0);

  v1::PrepareRequest request;
  *request.mutable_properties() = validate.properties();
  *request.mutable_allocation() = validate.allocation();
  request.mutable_spec()->set_logical_id("127.0.0.15");
  auto prepared = plugin.Prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_THAT(prepared->spec().init(), HasSubstr("echo 102 > \"$ZK_DIR/data/myid\""));
  EXPECT_THAT(prepared->spec().init(),
              HasSubstr("server.3=127.0.0.13:2888:3888\npeerType=observer\n"
                        "server.102=127.0.0.15:2888:3888:observer\n"));
}

TEST(ZookeeperPluginTest, LeaderIsHealthyAndLast) {
  FakeSrvrServer server(FakeSrvrServer::Behavior::kAnswer,
                        "Zxid: 0x100000002\nMode: leader\nNode count: 5\n");
  ZookeeperPlugin plugin;
  auto verdict = plugin.Healthy(HealthyAt(server.port()));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->health(), v1::HEALTH_HEALTHY);
  EXPECT_EQ(verdict->role(), "leader");
  EXPECT_EQ(verdict->update_order(), 1);
  EXPECT_EQ(verdict->reason(), "leader, zxid 0x100000002");
  EXPECT_FALSE(verdict->constant());
}

TEST(ZookeeperPluginTest, FollowerIsHealthyAndFirst) {
  FakeSrvrServer server(FakeSrvrServer::Behavior::kAnswer, "Zxid: 0x3\nMode: follower\n");
  ZookeeperPlugin plugin;
  auto verdict = plugin.Healthy(HealthyAt(server.port()));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->health(), v1::HEALTH_HEALTHY);
  EXPECT_EQ(verdict->role(), "follower");
  EXPECT_EQ(verdict->update_order(), 0);
}

TEST(ZookeeperPluginTest, NotServingIsUnhealthy) {
  FakeSrvrServer server(FakeSrvrServer::Behavior::kAnswer,
                        "This ZooKeeper instance is not currently serving requests\n");
  ZookeeperPlugin plugin;
  auto verdict = plugin.Healthy(HealthyAt(server.port()));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->health(), v1::HEALTH_UNHEALTHY);
  EXPECT_THAT(verdict->reason(), HasSubstr("not currently serving"));
  EXPECT_TRUE(verdict->role().empty());
}

TEST(ZookeeperPluginTest, RefusedIsUnknown) {
  ZookeeperPlugin plugin;
  auto verdict = plugin.Healthy(HealthyAt(UnusedPort()));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->health(), v1::HEALTH_UNKNOWN);
  EXPECT_THAT(verdict->reason(), HasSubstr("refused"));
}

TEST(ZookeeperPluginTest, GarbageIsUnknown) {
  FakeSrvrServer server(FakeSrvrServer::Behavior::kAnswer, "imok");
  ZookeeperPlugin plugin;
  auto verdict = plugin.Healthy(HealthyAt(server.port()));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->health(), v1::HEALTH_UNKNOWN);
  EXPECT_THAT(verdict->reason(), HasSubstr("imok"));
}

TEST(ZookeeperPluginTest, NoLogicalIdIsUnknown) {
  ZookeeperPlugin plugin;
  auto verdict = plugin.Healthy(HealthyAt(2181, ""));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->health(), v1::HEALTH_UNKNOWN);
  EXPECT_THAT(verdict->reason(), HasSubstr("logical ID"));
}

TEST(ZookeeperPluginTest, BatchHealthyProbesConcurrentlyWithinTheTimeout) {
  FakeSrvrServer hang(FakeSrvrServer::Behavior::kHang);
  FakeSrvrServer leader(FakeSrvrServer::Behavior::kAnswer, "Zxid: 0x1\nMode: leader\n");
  ZookeeperPlugin plugin(absl::Milliseconds(500));
  v1::BatchHealthyRequest request;
  *request.mutable_properties() = Json(absl::StrCat(R"({"ClientPort": )", hang.port(), "}"));
  for (int i = 0; i < 8; ++i) {
    auto* instance = request.add_instances();
    instance->set_id(absl::StrCat("instance-", i));
    instance->set_logical_id("127.0.0.1");
  }
  const absl::Time start = absl::Now();
  auto batch = plugin.BatchHealthy(request);
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->results_size(), 8);
  for (const auto& result : batch->results()) {
    EXPECT_EQ(result.response().health(), v1::HEALTH_UNKNOWN);
    EXPECT_THAT(result.response().reason(), HasSubstr("no answer"));
  }
  // Eight hanging probes of 0.5 s each, concurrently: well under their 4 s in a row.
  EXPECT_LT(took, absl::Seconds(3));

  *request.mutable_properties() = Json(R"({"Mode": "banana"})");
  batch = plugin.BatchHealthy(request);
  ASSERT_TRUE(batch.ok());
  EXPECT_THAT(batch->results(0).error().message(), HasSubstr("Mode"));
}

}  // namespace
}  // namespace infrakit::plugins::flavor::zookeeper
