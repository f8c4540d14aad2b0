#include "plugins/flavor/zookeeper/zookeeper_properties.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

using ::testing::HasSubstr;

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &out).ok()) << text;
  return out;
}

::infrakit::flavor::v1::Allocation Ips(const std::vector<std::string>& ips) {
  ::infrakit::flavor::v1::Allocation allocation;
  allocation.mutable_logical_ids();
  for (const std::string& ip : ips) allocation.mutable_logical_ids()->add_ids(ip);
  return allocation;
}

TEST(ZookeeperPropertiesTest, DefaultsWithoutProperties) {
  auto parsed = ParseZookeeperProperties(Json("{}"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->client_port, 2181);
  EXPECT_EQ(parsed->peer_port, 2888);
  EXPECT_EQ(parsed->election_port, 3888);
  EXPECT_EQ(parsed->tick_time_ms, 2000);
  EXPECT_EQ(parsed->init_limit, 10);
  EXPECT_EQ(parsed->sync_limit, 5);
  EXPECT_EQ(parsed->jvm_heap_mb, 128);
  EXPECT_TRUE(parsed->jvm_flags.empty());
  EXPECT_TRUE(parsed->tags.empty());
}

TEST(ZookeeperPropertiesTest, EveryKeyCaseInsensitively) {
  auto parsed = ParseZookeeperProperties(Json(R"({
    "clientport": 12181, "PEERPORT": 12888, "ElectionPort": 13888, "TickTime": 500,
    "InitLimit": 4, "SyncLimit": 2, "JvmHeapMB": 64, "JvmFlags": ["-Dx=y"],
    "Mode": "member", "Tags": {"tier": "zk"}})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->client_port, 12181);
  EXPECT_EQ(parsed->peer_port, 12888);
  EXPECT_EQ(parsed->election_port, 13888);
  EXPECT_EQ(parsed->tick_time_ms, 500);
  EXPECT_EQ(parsed->init_limit, 4);
  EXPECT_EQ(parsed->sync_limit, 2);
  EXPECT_EQ(parsed->jvm_heap_mb, 64);
  EXPECT_EQ(parsed->jvm_flags, std::vector<std::string>{"-Dx=y"});
  EXPECT_EQ(parsed->tags.at("tier"), "zk");
}

TEST(ZookeeperPropertiesTest, EveryRefusalNamesItsField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"Bogus": 1})", "Bogus: unknown key"},
      {R"({"ClientPort": 1, "clientport": 2})", "ClientPort: given twice"},
      {R"({"ClientPort": 0})", "ClientPort: 0 is not"},
      {R"({"ClientPort": 65536})", "ClientPort: 65536 is not"},
      {R"({"PeerPort": 2888.5})", "PeerPort:"},
      {R"({"ElectionPort": "3888"})", "ElectionPort: want a number"},
      {R"({"PeerPort": 2181})", "PeerPort: same as ClientPort"},
      {R"({"ElectionPort": 2888})", "ElectionPort: same as PeerPort"},
      {R"({"TickTime": 0})", "TickTime:"},
      {R"({"InitLimit": -1})", "InitLimit:"},
      {R"({"SyncLimit": 1001})", "SyncLimit:"},
      {R"({"JvmHeapMB": 8})", "JvmHeapMB:"},
      {R"({"JvmFlags": "-Xss1m"})", "JvmFlags: want a list"},
      {R"({"JvmFlags": ["-Xss1m", 3]})", "JvmFlags[1]: want a string"},
      {R"({"JvmFlags": ["rm -rf"]})", "JvmFlags[0]: \"rm -rf\" is not a JVM flag"},
      {R"({"Mode": "banana"})", "Mode: \"banana\""},
      {R"({"Mode": "observer"})", "Members: required"},
      {R"({"Members": ["127.0.0.11"]})", "Members: only for"},
      {R"({"Mode": "observer", "Members": "127.0.0.11"})", "Members: want a list"},
      {R"({"Mode": "observer", "Members": []})", "Members: empty"},
      {R"({"Mode": "observer", "Members": ["127.0.0.11", 12]})", "Members[1]: want a string"},
      {R"({"Mode": "observer", "Members": ["127.0.0.11", "zk-2"]})",
       "Members[1]: \"zk-2\" is not an IPv4 address"},
      {R"({"Mode": "observer", "Members": ["127.0.0.11", "127.0.0.11"]})",
       "Members[1]: \"127.0.0.11\" given twice"},
      {R"({"Mode": 1})", "Mode: want a string"},
      {R"({"Labels": {"a": 1}})", "Labels.a: want a string"},
      {R"({"Labels": {}, "Tags": {}})", "Tags: Labels is given too"},
  };
  for (const auto& [json, message] : cases) {
    auto parsed = ParseZookeeperProperties(Json(json));
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(parsed.status().message(), HasSubstr(message)) << json;
  }
}

TEST(ZookeeperPropertiesTest, MembersAreNumberedInAddressOrder) {
  auto ensemble = EnsembleOf(ZookeeperProperties(), Ips({"127.0.0.13", "127.0.0.9", "127.0.0.11"}));
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  const std::vector<Member>* members = &ensemble->members;
  EXPECT_EQ(ensemble->allocated.size(), 3);
  EXPECT_FALSE((*members)[0].observer);
  ASSERT_EQ(members->size(), 3);
  EXPECT_EQ((*members)[0].ip, "127.0.0.9");
  EXPECT_EQ((*members)[0].id, 1);
  EXPECT_EQ((*members)[1].ip, "127.0.0.11");
  EXPECT_EQ((*members)[1].id, 2);
  EXPECT_EQ((*members)[2].ip, "127.0.0.13");
  EXPECT_EQ((*members)[2].id, 3);
  // The listed order does not matter.
  auto reordered =
      EnsembleOf(ZookeeperProperties(), Ips({"127.0.0.11", "127.0.0.13", "127.0.0.9"}));
  ASSERT_TRUE(reordered.ok());
  EXPECT_EQ(reordered->members[1].ip, "127.0.0.11");
  EXPECT_EQ(reordered->members[1].id, 2);
}

TEST(ZookeeperPropertiesTest, BadAllocationsNameTheField) {
  ::infrakit::flavor::v1::Allocation size;
  size.set_size(3);
  EXPECT_THAT(EnsembleOf(ZookeeperProperties(), size).status().message(),
              HasSubstr("Allocation: "));
  EXPECT_THAT(EnsembleOf(ZookeeperProperties(), Ips({})).status().message(),
              HasSubstr("Allocation.LogicalIDs: empty"));
  EXPECT_THAT(EnsembleOf(ZookeeperProperties(), Ips({"127.0.0.1", "zk-1"})).status().message(),
              HasSubstr("Allocation.LogicalIDs[1]: \"zk-1\" is not an IPv4 address"));
  EXPECT_THAT(EnsembleOf(ZookeeperProperties(), Ips({"127.0.0.1", "127.0.0.2", "127.0.0.1"}))
                  .status()
                  .message(),
              HasSubstr("Allocation.LogicalIDs[2]: \"127.0.0.1\" given twice"));
  EXPECT_EQ(EnsembleOf(ZookeeperProperties(), size).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ZookeeperPropertiesTest, ObserversAreNumberedAboveTheMembers) {
  auto properties = ParseZookeeperProperties(
      Json(R"({"mode": "Observer", "members": ["127.0.0.12", "127.0.0.11", "127.0.0.13"]})"));
  ASSERT_TRUE(properties.ok()) << properties.status();
  auto ensemble = EnsembleOf(*properties, Ips({"127.0.0.15", "127.0.0.14"}));
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  ASSERT_EQ(ensemble->members.size(), 3);
  EXPECT_EQ(ensemble->members[0].ip, "127.0.0.11");
  EXPECT_EQ(ensemble->members[0].id, 1);
  EXPECT_FALSE(ensemble->members[0].observer);
  ASSERT_EQ(ensemble->allocated.size(), 2);
  EXPECT_EQ(ensemble->allocated[0].ip, "127.0.0.14");
  EXPECT_EQ(ensemble->allocated[0].id, 101);
  EXPECT_TRUE(ensemble->allocated[0].observer);
  EXPECT_EQ(ensemble->allocated[1].id, 102);

  auto overlap = EnsembleOf(*properties, Ips({"127.0.0.14", "127.0.0.12"}));
  EXPECT_THAT(overlap.status().message(),
              HasSubstr("Allocation.LogicalIDs[1]: \"127.0.0.12\" is one of the Members"));
}

TEST(ZookeeperPropertiesTest, MaxUnavailableKeepsAQuorum) {
  EXPECT_EQ(MaxUnavailable(1), 0);
  EXPECT_EQ(MaxUnavailable(2), 0);
  EXPECT_EQ(MaxUnavailable(3), 1);
  EXPECT_EQ(MaxUnavailable(4), 1);
  EXPECT_EQ(MaxUnavailable(5), 2);
}

}  // namespace
}  // namespace infrakit::plugins::flavor::zookeeper
