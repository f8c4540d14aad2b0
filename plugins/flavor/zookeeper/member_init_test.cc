#include "plugins/flavor/zookeeper/member_init.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

using ::testing::HasSubstr;

const std::vector<Member> kMembers = {{1, "127.0.0.11"}, {2, "127.0.0.12"}, {3, "127.0.0.13"}};

TEST(MemberInitTest, GoldenZooCfg) {
  EXPECT_EQ(absl::StrJoin(ZooCfgLines(ZookeeperProperties(), kMembers, kMembers[1]), "\n"),
            "tickTime=2000\n"
            "initLimit=10\n"
            "syncLimit=5\n"
            "dataDir=$ZK_DIR/data\n"
            "clientPort=2181\n"
            "clientPortAddress=127.0.0.12\n"
            "4lw.commands.whitelist=srvr,mntr,ruok\n"
            "admin.enableServer=false\n"
            "server.1=127.0.0.11:2888:3888\n"
            "server.2=127.0.0.12:2888:3888\n"
            "server.3=127.0.0.13:2888:3888");
}

TEST(MemberInitTest, GoldenObserverZooCfg) {
  const Member observer = {101, "127.0.0.14", true};
  EXPECT_EQ(absl::StrJoin(ZooCfgLines(ZookeeperProperties(), kMembers, observer), "\n"),
            "tickTime=2000\n"
            "initLimit=10\n"
            "syncLimit=5\n"
            "dataDir=$ZK_DIR/data\n"
            "clientPort=2181\n"
            "clientPortAddress=127.0.0.14\n"
            "4lw.commands.whitelist=srvr,mntr,ruok\n"
            "admin.enableServer=false\n"
            "server.1=127.0.0.11:2888:3888\n"
            "server.2=127.0.0.12:2888:3888\n"
            "server.3=127.0.0.13:2888:3888\n"
            "peerType=observer\n"
            "server.101=127.0.0.14:2888:3888:observer");
  EXPECT_THAT(MemberInit(ZookeeperProperties(), kMembers, observer),
              ::testing::StartsWith("# flavor-zookeeper: observer 101 (127.0.0.14) of an "
                                    "ensemble of 3\n"));
}

TEST(MemberInitTest, PortsAndTimesFromTheProperties) {
  ZookeeperProperties properties;
  properties.client_port = 12181;
  properties.peer_port = 12888;
  properties.election_port = 13888;
  properties.tick_time_ms = 500;
  const std::string cfg = absl::StrJoin(ZooCfgLines(properties, kMembers, kMembers[0]), "\n");
  EXPECT_THAT(cfg, HasSubstr("tickTime=500\n"));
  EXPECT_THAT(cfg, HasSubstr("clientPort=12181\n"));
  EXPECT_THAT(cfg, HasSubstr("server.3=127.0.0.13:12888:13888"));
}

TEST(MemberInitTest, GoldenScript) {
  ZookeeperProperties properties;
  properties.jvm_heap_mb = 64;
  properties.jvm_flags = {"-Dzookeeper.snapCount=100", "-Dodd='x'"};
  const std::string script = MemberInit(properties, kMembers, kMembers[2]);
  const std::string expected_start =
      "# flavor-zookeeper: member 3 (127.0.0.13) of an ensemble of 3\n"
      "set -e\n"
      "ZK_DIR=\"${INFRAKIT_INSTANCE_DIR:-$PWD}\"\n"
      "mkdir -p \"$ZK_DIR/data\"\n"
      "echo 3 > \"$ZK_DIR/data/myid\"\n"
      "cat > \"$ZK_DIR/zoo.cfg\" <<ZOO_CFG_END\n"
      "tickTime=2000\n";
  EXPECT_EQ(script.substr(0, expected_start.size()), expected_start);
  EXPECT_THAT(script, HasSubstr("server.3=127.0.0.13:2888:3888\nZOO_CFG_END\n"));
  EXPECT_THAT(script, ::testing::EndsWith(
                          "\nexec java -Xms16m -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "
                          "'-Dzookeeper.snapCount=100' '-Dodd='\\''x'\\''' -cp "
                          "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar "
                          "org.apache.zookeeper.server.quorum.QuorumPeerMain \"$ZK_DIR/zoo.cfg\""));
}

}  // namespace
}  // namespace infrakit::plugins::flavor::zookeeper
