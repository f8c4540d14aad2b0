// flavor-zookeeper against the Flavor contract (flavor_conformance.h). No ZooKeeper runs here:
// the health cases are the verdicts that need none (tests/e2e/zookeeper has the real ensemble).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/conformance/flavor_conformance.h"

namespace infrakit::tests::conformance {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using HealthCase = FlavorPluginUnderTest::HealthCase;

FlavorPluginUnderTest FlavorZookeeper() {
  FlavorPluginUnderTest p;
  p.name = "FlavorZookeeper";
  p.binary = "plugins/flavor/zookeeper/infrakit-flavor-zookeeper";
  p.plugin_name = "flavor-zookeeper";
  // examples/zookeeper/zk.json's flavor properties.
  p.valid_properties = R"({
    "ClientPort": 2181, "PeerPort": 2888, "ElectionPort": 3888, "JvmHeapMB": 128,
    "Tags": {"tier": "zookeeper", "project": "infrakit-demo"}
  })";
  for (const char* ip : {"127.0.0.11", "127.0.0.12", "127.0.0.13"}) {
    p.allocation.mutable_logical_ids()->add_ids(ip);
  }
  p.invalid_properties = {
      {R"({"Mode": "banana"})", "Mode"},
      {R"({"ClientPort": 70000})", "ClientPort"},
      {R"({"PeerPort": 2181})", "PeerPort"},
      {R"({"JvmFlags": ["oops"]})", "JvmFlags[0]"},
      {R"({"Labels": {"tier": 1}})", "Labels.tier"},
      {R"({"Bogus": true})", "Bogus"},
  };
  p.health_cases = [](const std::string& /*scratch*/) {
    return std::vector<HealthCase>{
        // Port 1 on loopback: nothing listens there.
        {"nothing listening", R"({"ClientPort": 1})", "instance-1", "127.0.0.1", v1::HEALTH_UNKNOWN,
         "refused"},
        {"no logical ID", "{}", "instance-1", "", v1::HEALTH_UNKNOWN, "logical ID"},
    };
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(FlavorZookeeper, FlavorConformanceTest,
                         ::testing::Values(FlavorZookeeper()), FlavorPluginUnderTest::TestName);

}  // namespace
}  // namespace infrakit::tests::conformance
