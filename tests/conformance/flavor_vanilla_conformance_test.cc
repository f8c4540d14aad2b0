// flavor-vanilla against the Flavor contract (flavor_conformance.h), with each kind of probe.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/conformance/flavor_conformance.h"

namespace infrakit::tests::conformance {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using HealthCase = FlavorPluginUnderTest::HealthCase;

FlavorPluginUnderTest FlavorVanilla() {
  FlavorPluginUnderTest p;
  p.name = "FlavorVanilla";
  p.binary = "plugins/flavor/vanilla/infrakit-flavor-vanilla";
  p.plugin_name = "flavor-vanilla";
  // The original InfraKit tutorial's flavor properties.
  p.valid_properties = R"({
    "Size": 5,
    "UserData": ["sudo apt-get update -y", "sudo apt-get install -y nginx",
                 "sudo service nginx start"],
    "Labels": {"tier": "web", "project": "infrakit"}
  })";
  p.allocation.set_size(5);
  p.invalid_properties = {
      {R"({"Size": 3})", "Size"},
      {R"({"UserData": "one string"})", "UserData"},
      {R"({"Labels": {"tier": 1}})", "Labels.tier"},
      {R"({"HealthCheck": {"TCP": "no-port"}})", "HealthCheck.TCP"},
      {R"({"HealthCheck": {"Command": "true", "TimeoutSeconds": -1}})",
       "HealthCheck.TimeoutSeconds"},
      {R"({"Bogus": true})", "Bogus"},
  };
  p.health_cases = [](const std::string& scratch) {
    return std::vector<HealthCase>{
        {"no probe", R"({"UserData": ["echo hi"]})", "instance-1", "", v1::HEALTH_HEALTHY, ""},
        {"passing command",
         R"({"HealthCheck": {"Command": "test \"$INFRAKIT_INSTANCE_ID\" = instance-1"}})",
         "instance-1", "", v1::HEALTH_HEALTHY, ""},
        {"failing command", R"({"HealthCheck": {"Command": "echo nginx down; exit 3"}})",
         "instance-1", "", v1::HEALTH_UNHEALTHY, "nginx down"},
        {"address needs a logical ID", R"({"HealthCheck": {"TCP": "{{.LogicalID}}:80"}})",
         "instance-1", "", v1::HEALTH_UNKNOWN, "logical ID"},
    };
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(FlavorVanilla, FlavorConformanceTest, ::testing::Values(FlavorVanilla()),
                         FlavorPluginUnderTest::TestName);

}  // namespace
}  // namespace infrakit::tests::conformance
