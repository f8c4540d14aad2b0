// node_health's verdicts over node lists as GET /nodes gives them.
#include "plugins/flavor/swarm/node_health.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using ::testing::HasSubstr;

SwarmNode Node(const std::string& id, const std::string& instance, bool manager,
               const std::string& group = "workers") {
  SwarmNode node;
  node.id = id;
  node.role = manager ? "manager" : "worker";
  node.availability = "active";
  node.state = "ready";
  node.engine_labels = {{kInstanceLabel, instance}, {kGroupLabel, group}};
  node.is_manager = manager;
  node.reachability = manager ? "reachable" : "";
  return node;
}

TEST(NodeHealthTest, FindsTheInstancesNodePreferringAReadyOne) {
  SwarmNode old = Node("old", "instance-1", false);
  old.state = "down";
  const std::vector<SwarmNode> nodes = {old, Node("n2", "instance-2", false),
                                        Node("new", "instance-1", false)};
  ASSERT_NE(NodeOfInstance(nodes, "instance-1"), nullptr);
  EXPECT_EQ(NodeOfInstance(nodes, "instance-1")->id, "new");
  EXPECT_EQ(NodeOfInstance(nodes, "instance-3"), nullptr);
}

TEST(NodeHealthTest, LeaderIsHealthyAndRolledLast) {
  SwarmNode leader = Node("m1", "instance-1", true, "managers");
  leader.leader = true;
  const std::vector<SwarmNode> nodes = {leader, Node("m2", "instance-2", true, "managers"),
                                        Node("w1", "instance-3", false)};
  v1::HealthyResponse verdict = NodeVerdict(nodes[0], true, nodes);
  EXPECT_EQ(verdict.health(), v1::HEALTH_HEALTHY);
  EXPECT_EQ(verdict.role(), "leader");
  EXPECT_EQ(verdict.update_order(), 1);
  EXPECT_EQ(verdict.reason(), "manager (leader) of a swarm of 3 nodes, 2 managers");
  verdict = NodeVerdict(nodes[1], true, nodes);
  EXPECT_EQ(verdict.health(), v1::HEALTH_HEALTHY);
  EXPECT_EQ(verdict.role(), "manager");
  EXPECT_EQ(verdict.update_order(), 0);
  verdict = NodeVerdict(nodes[2], false, nodes);
  EXPECT_EQ(verdict.health(), v1::HEALTH_HEALTHY);
  EXPECT_EQ(verdict.role(), "worker");
}

TEST(NodeHealthTest, EveryWrongStateIsUnhealthyNamingIt) {
  struct Case {
    std::string name;
    SwarmNode node;
    bool want_manager;
    std::string reason;
  };
  SwarmNode down = Node("w", "i", false);
  down.state = "down";
  SwarmNode drained = Node("w", "i", false);
  drained.availability = "drain";
  SwarmNode unreachable = Node("m", "i", true);
  unreachable.reachability = "unreachable";
  const std::vector<Case> cases = {
      {"down", down, false, "node w is down"},
      {"drained", drained, false, "node w has availability drain, want active"},
      {"worker in a manager group", Node("w", "i", false), true,
       "node w is a worker, want a manager"},
      {"manager in a worker group", Node("m", "i", true), false,
       "node m is a manager, want a worker"},
      {"unreachable", unreachable, true, "node m is a manager the others find unreachable"},
  };
  for (const Case& c : cases) {
    v1::HealthyResponse verdict = NodeVerdict(c.node, c.want_manager, {c.node});
    EXPECT_EQ(verdict.health(), v1::HEALTH_UNHEALTHY) << c.name;
    EXPECT_EQ(verdict.reason(), c.reason) << c.name;
    EXPECT_EQ(verdict.update_order(), 0) << c.name;
  }
}

TEST(NodeHealthTest, NotJoinedIsUnknownSayingWhy) {
  v1::HealthyResponse verdict =
      NotJoinedVerdict("instance-7", absl::UnavailableError("/x/docker.sock: refused"));
  EXPECT_EQ(verdict.health(), v1::HEALTH_UNKNOWN);
  EXPECT_THAT(verdict.reason(), HasSubstr("no node labelled infrakit.instance=instance-7"));
  EXPECT_THAT(verdict.reason(), HasSubstr("does not answer yet (/x/docker.sock: refused)"));

  EngineInfo pending;
  pending.local_node_state = "pending";
  pending.error = "timeout joining";
  verdict = NotJoinedVerdict("instance-7", pending);
  EXPECT_EQ(verdict.health(), v1::HEALTH_UNKNOWN);
  EXPECT_THAT(verdict.reason(), HasSubstr("not yet joined (swarm state pending: timeout joining)"));

  EngineInfo active;
  active.local_node_state = "active";
  active.node_id = "abc";
  verdict = NotJoinedVerdict("instance-7", active);
  EXPECT_EQ(verdict.health(), v1::HEALTH_UNKNOWN);
  EXPECT_THAT(verdict.reason(), HasSubstr("node abc (swarm state active), not yet listed"));
}

TEST(NodeHealthTest, DeadWorkersAreDownWorkersOfTheGroupWithoutALiveInstance) {
  SwarmNode dead = Node("dead", "instance-1", false);
  dead.state = "down";
  SwarmNode frozen = Node("frozen", "instance-2", false);
  frozen.state = "down";
  SwarmNode other_group = Node("other", "instance-3", false, "other");
  other_group.state = "down";
  SwarmNode manager = Node("m", "instance-4", true);
  manager.state = "down";
  SwarmNode foreign = Node("foreign", "", false);
  foreign.engine_labels.clear();
  foreign.state = "down";
  const std::vector<SwarmNode> nodes = {dead,    frozen,  other_group,
                                        manager, foreign, Node("up", "instance-5", false)};
  std::vector<const SwarmNode*> swept = DeadWorkers(nodes, "workers", {"instance-2", "instance-5"});
  ASSERT_EQ(swept.size(), 1u);
  EXPECT_EQ(swept[0]->id, "dead");
}

}  // namespace
}  // namespace infrakit::plugins::flavor::swarm
