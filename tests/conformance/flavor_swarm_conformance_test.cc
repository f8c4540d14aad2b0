// flavor-swarm against the Flavor contract (flavor_conformance.h). No Docker engine runs here:
// the managers' sockets are under a directory that does not exist, so Prepare of the first
// manager initializes the swarm (no other manager answers), the health cases are the verdict
// given when no manager answers, and Drain has nothing to drain (OK by design). The engine
// client's test forms a real swarm.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/conformance/flavor_conformance.h"

namespace infrakit::tests::conformance {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using HealthCase = FlavorPluginUnderTest::HealthCase;

// Where no engine runs: the managers' default sockets are <base>/<address>/docker.sock.
constexpr char kNoEngines[] = "/tmp/ik-swarm-conformance-nonexistent";

FlavorPluginUnderTest FlavorSwarm() {
  FlavorPluginUnderTest p;
  p.name = "FlavorSwarm";
  p.binary = "plugins/flavor/swarm/infrakit-flavor-swarm";
  p.plugin_name = "flavor-swarm";
  // A swarm of one manager; the group's logical ID is its address.
  p.valid_properties = std::string(R"({"Role": "manager", "Managers": ["127.0.0.21"],
    "DataRootBase": ")") +
                       kNoEngines + R"(", "Labels": {"tier": "swarm"}})";
  p.allocation.mutable_logical_ids()->add_ids("127.0.0.21");
  p.invalid_properties = {
      {R"({"Role": "boss", "Managers": ["127.0.0.21"]})", "Role"},
      {R"({"Role": "manager", "Managers": ["127.0.0.21", "127.0.0.22"]})", "Managers"},
      {R"({"Role": "manager", "Managers": [{"Socket": "/x.sock"}]})", "Managers[0].Address"},
      {R"({"Role": "worker", "Managers": ["127.0.0.21"], "Bogus": true})", "Bogus"},
      {R"({"Role": "worker", "Managers": ["127.0.0.21"], "AddressPool": "127.0.0.0/8"})",
       "AddressPool"},
      {R"({"Role": "worker", "Managers": ["127.0.0.21"], "Labels": {"infrakit.instance": "x"}})",
       "Labels.infrakit.instance"},
  };
  p.health_cases = [](const std::string& /*scratch*/) {
    const std::string base = std::string(R"("DataRootBase": ")") + kNoEngines + "\"";
    return std::vector<HealthCase>{
        {"manager, no manager answers",
         R"({"Role": "manager", "Managers": ["127.0.0.21"], )" + base + "}", "instance-1",
         "127.0.0.21", v1::HEALTH_UNKNOWN, "no manager of the swarm answers"},
        {"worker, no manager answers",
         R"({"Role": "worker", "Managers": ["127.0.0.21", "127.0.0.22", "127.0.0.23"],
             "AddressPool": "127.0.1.0/24", )" +
             base + "}",
         "instance-1", "", v1::HEALTH_UNKNOWN, "no manager of the swarm answers"},
    };
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(FlavorSwarm, FlavorConformanceTest, ::testing::Values(FlavorSwarm()),
                         FlavorPluginUnderTest::TestName);

}  // namespace
}  // namespace infrakit::tests::conformance
