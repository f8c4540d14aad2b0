#include "plugins/flavor/swarm/manager_order.h"

#include "gtest/gtest.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

std::vector<std::string> Addresses(const std::vector<const SwarmManager*>& order) {
  std::vector<std::string> out;
  for (const SwarmManager* m : order) out.push_back(m->address);
  return out;
}

TEST(ManagerOrderTest, TheManagerThatAnsweredLastComesFirst) {
  SwarmProperties properties;
  properties.managers = {
      {"10.0.0.1", "/s/1.sock"}, {"10.0.0.2", "/s/2.sock"}, {"10.0.0.3", "/s/3.sock"}};
  ManagerOrder order;
  using V = std::vector<std::string>;
  EXPECT_EQ(Addresses(order.Order(properties, "")), (V{"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  order.Answered("/s/3.sock");
  EXPECT_EQ(Addresses(order.Order(properties, "")), (V{"10.0.0.3", "10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(Addresses(order.Order(properties, "10.0.0.3")), (V{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(Addresses(order.Order(properties, "10.0.0.1")), (V{"10.0.0.3", "10.0.0.2"}));
  // A socket no longer among the managers changes nothing.
  order.Answered("/s/9.sock");
  EXPECT_EQ(Addresses(order.Order(properties, "")), (V{"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
}

}  // namespace
}  // namespace infrakit::plugins::flavor::swarm
