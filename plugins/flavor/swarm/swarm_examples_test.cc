// examples/swarm's configs, parsed as infrakitctl parses them, are valid for flavor-swarm and
// make the swarm the walkthrough shows: three managers that may lose one, workers with a pool.
#include <string>

#include "client/config/group_config.h"
#include "gtest/gtest.h"
#include "plugins/flavor/swarm/swarm_plugin.h"
#include "plugins/flavor/swarm/swarm_properties.h"
#include "tests/testing/runfiles.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

::infrakit::group::v1::GroupSpec Load(const std::string& path) {
  auto parsed = client::config::ParseConfigFile(::infrakit::testing::RunfilePath(path));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->spec : ::infrakit::group::v1::GroupSpec();
}

TEST(SwarmExamplesTest, ManagersAndWorkersAreValid) {
  SwarmPlugin plugin;
  const auto managers = Load("examples/swarm/managers.json");
  const auto workers = Load("examples/swarm/workers.json");
  EXPECT_EQ(managers.flavor().plugin(), "flavor-swarm");
  EXPECT_EQ(workers.flavor().plugin(), "flavor-swarm");

  v1::ValidateRequest validate;
  *validate.mutable_properties() = managers.flavor().properties();
  *validate.mutable_allocation() = managers.allocation();
  auto limits = plugin.ValidateAllocation(validate);
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ(limits->max_unavailable(), 1);

  *validate.mutable_properties() = workers.flavor().properties();
  *validate.mutable_allocation() = workers.allocation();
  limits = plugin.ValidateAllocation(validate);
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ(limits->max_unavailable(), 0);
  EXPECT_EQ(workers.allocation().size(), 2);

  auto parsed = ParseSwarmProperties(workers.flavor().properties());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->pool_first, "127.0.1.1");
  EXPECT_EQ(parsed->pool_last, "127.0.1.254");
}

}  // namespace
}  // namespace infrakit::plugins::flavor::swarm
