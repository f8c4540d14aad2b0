// instance-terraform against the Instance contract (tests/conformance/instance_conformance.h),
// with the stand-in terraform (plugins/instance/terraform/testdata/fake_terraform.py, which
// follows Terraform's CLI and state contract) as its --terraform: no real terraform here.
// Nothing is changed behind its back: the plugin learns of resources only through its own runs.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/conformance/instance_conformance.h"
#include "tests/testing/runfiles.h"

namespace infrakit::tests::conformance {
namespace {

InstancePluginUnderTest InstanceTerraform() {
  InstancePluginUnderTest p;
  p.name = "InstanceTerraform";
  p.binary = "plugins/instance/terraform/infrakit-instance-terraform";
  p.plugin_name = "instance-terraform";
  p.args = [](const std::string& scratch) {
    return std::vector<std::string>{
        "--dir", absl::StrCat(scratch, "/work"), "--terraform",
        infrakit::testing::RunfilePath("plugins/instance/terraform/testdata/fake_terraform.py")};
  };
  p.valid_properties = R"({"type": "aws_instance", "value": {"ami": "ami-1"}})";
  p.invalid_properties = {
      {R"({"type": "aws_instance", "value": {}, "Tags": {}})", "Tags"},
      {R"({"type": 1, "value": {}})", "type"},
      {R"({"type": "aws_instance", "value": "x"})", "value"},
      {R"({"value": {}})", "type"},
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(InstanceTerraform, InstanceConformanceTest,
                         ::testing::Values(InstanceTerraform()), InstancePluginUnderTest::TestName);

}  // namespace
}  // namespace infrakit::tests::conformance
