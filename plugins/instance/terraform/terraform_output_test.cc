#include "plugins/instance/terraform/terraform_output.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::instance::terraform {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Key;
using ::testing::Not;

TEST(ParseShowJsonTest, ManagedResourcesOfTheRootModuleByAddress) {
  auto state = ParseShowJson(R"({
    "format_version": "1.0", "terraform_version": "1.5.7",
    "values": {"root_module": {
      "resources": [
        {"address": "aws_instance.instance-1", "mode": "managed", "type": "aws_instance",
         "name": "instance-1", "values": {"id": "i-123", "public_ip": "1.2.3.4"}},
        {"address": "data.aws_ami.ubuntu", "mode": "data", "type": "aws_ami", "name": "ubuntu",
         "values": {"id": "ami-1"}}
      ],
      "child_modules": [{"resources": [{"address": "module.x.aws_instance.y", "mode": "managed"}]}]
    }}})");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_THAT(*state, ElementsAre(Key("aws_instance.instance-1")));
  EXPECT_EQ(state->at("aws_instance.instance-1").fields().at("public_ip").string_value(),
            "1.2.3.4");
}

TEST(ParseShowJsonTest, NothingAppliedYetIsNoResources) {
  auto state = ParseShowJson(R"({"format_version": "1.0"})");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_THAT(*state, IsEmpty());
  state = ParseShowJson(R"({"format_version": "1.0", "values": {"root_module": {}}})");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_THAT(*state, IsEmpty());
}

TEST(ParseShowJsonTest, NotAStateIsAnError) {
  EXPECT_FALSE(ParseShowJson("No state.").ok());
  EXPECT_FALSE(ParseShowJson("[]").ok());
  EXPECT_FALSE(ParseShowJson(R"({"values": {"root_module": {"resources": {}}}})").ok());
}

TEST(ParseApplyErrorsTest, EachDiagnosticGoesToTheResourceItNames) {
  const auto errors = ParseApplyErrors(R"(
Error: creating EC2 Instance: InvalidAMIID.Malformed

  with aws_instance.instance-2,
  on instance-2.tf.json line 1, in resource "aws_instance" "instance-2":

Warning: Argument is deprecated

  with aws_instance.instance-1,

Error: Invalid provider configuration

Error: quota exceeded

  with aws_instance.instance-3,
  on instance-3.tf.json line 1, in resource "aws_instance" "instance-3":
)");
  EXPECT_THAT(errors,
              ElementsAre(Key(""), Key("aws_instance.instance-2"), Key("aws_instance.instance-3")));
  EXPECT_THAT(errors.at("aws_instance.instance-2"),
              HasSubstr("Error: creating EC2 Instance: InvalidAMIID.Malformed"));
  EXPECT_THAT(errors.at("aws_instance.instance-2"), Not(HasSubstr("deprecated")));
  EXPECT_EQ(errors.at(""), "Error: Invalid provider configuration");
  EXPECT_THAT(errors.at("aws_instance.instance-3"), HasSubstr("quota exceeded"));
}

TEST(ParseApplyErrorsTest, TheTerminalFrameIsStripped) {
  const auto errors = ParseApplyErrors(
      "╷\n│ Error: boom\n│ \n│   with null_resource.instance-1,\n│   on a.tf.json line 1:\n╵\n");
  ASSERT_THAT(errors, ElementsAre(Key("null_resource.instance-1")));
  EXPECT_THAT(errors.at("null_resource.instance-1"), HasSubstr("Error: boom"));
}

TEST(ParseApplyErrorsTest, NoErrorsInOrdinaryOutput) {
  EXPECT_THAT(ParseApplyErrors("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.\n"),
              IsEmpty());
}

}  // namespace
}  // namespace infrakit::plugins::instance::terraform
