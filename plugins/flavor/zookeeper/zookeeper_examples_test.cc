// examples/zookeeper's configs, parsed as infrakitctl parses them, are valid for flavor-zookeeper
// and make the ensemble the walkthrough shows: members 1-3 on 127.0.0.11-13, observers 101-102.
#include <string>

#include "client/config/group_config.h"
#include "gtest/gtest.h"
#include "plugins/flavor/zookeeper/zookeeper_plugin.h"
#include "tests/testing/runfiles.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

::infrakit::group::v1::GroupSpec Load(const std::string& path) {
  auto parsed = client::config::ParseConfigFile(::infrakit::testing::RunfilePath(path));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->spec : ::infrakit::group::v1::GroupSpec();
}

TEST(ZookeeperExamplesTest, MembersAndObserversAreValid) {
  ZookeeperPlugin plugin;
  const auto members = Load("examples/zookeeper/zk.json");
  const auto observers = Load("examples/zookeeper/zk-observers.json");
  EXPECT_EQ(members.flavor().plugin(), "flavor-zookeeper");
  EXPECT_EQ(observers.flavor().plugin(), "flavor-zookeeper");

  v1::ValidateRequest validate;
  *validate.mutable_properties() = members.flavor().properties();
  *validate.mutable_allocation() = members.allocation();
  auto limits = plugin.ValidateAllocation(validate);
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ(limits->max_unavailable(), 1);

  *validate.mutable_properties() = observers.flavor().properties();
  *validate.mutable_allocation() = observers.allocation();
  ASSERT_TRUE(plugin.Validate(validate).ok()) << plugin.Validate(validate);

  v1::PrepareRequest prepare;
  *prepare.mutable_properties() = observers.flavor().properties();
  *prepare.mutable_allocation() = observers.allocation();
  prepare.mutable_spec()->set_logical_id("127.0.0.14");
  auto prepared = plugin.Prepare(prepare);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_NE(prepared->spec().init().find("server.101=127.0.0.14:2888:3888:observer"),
            std::string::npos)
      << prepared->spec().init();
  EXPECT_NE(prepared->spec().init().find("server.3=127.0.0.13:2888:3888"), std::string::npos);
}

}  // namespace
}  // namespace infrakit::plugins::flavor::zookeeper
