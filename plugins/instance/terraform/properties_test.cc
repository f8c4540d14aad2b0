#include "plugins/instance/terraform/properties.h"

#include <string>

#include "common/json_object.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::instance::terraform {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::testing::HasSubstr;

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &s).ok()) << text;
  return s;
}

std::string Text(const google::protobuf::Struct& s) {
  std::string out;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(s, &out).ok());
  return out;
}

TEST(ParseTerraformPropertiesTest, TypeAndValue) {
  auto parsed = ParseTerraformProperties(
      Json(R"({"type": "aws_instance", "value": {"ami": "ami-1", "instance_type": "t3.micro"}})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->type, "aws_instance");
  EXPECT_EQ(parsed->value.fields().at("ami").string_value(), "ami-1");
  EXPECT_TRUE(ParseTerraformProperties(Json(R"({"type": "null_resource", "value": {}})")).ok());
}

TEST(ParseTerraformPropertiesTest, StrictErrorsNameTheField) {
  struct Case {
    std::string json;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"type": "aws_instance", "value": {}, "Tags": {}})", "properties.Tags: unknown"},
           {R"({"type": 1, "value": {}})", "properties.type: must be a string, got a number"},
           {R"({"type": "aws instance", "value": {}})", "properties.type: \"aws instance\""},
           {R"({"type": "aws_instance", "value": []})", "properties.value: must be an object"},
           {R"({"value": {}})", "properties.type: missing"},
           {R"({"type": "aws_instance"})", "properties.value: missing"},
       }) {
    auto parsed = ParseTerraformProperties(Json(c.json));
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.message)) << c.json;
  }
}

v1::Spec SpecWith(const std::string& properties, const std::string& init,
                  const std::string& logical_id = "") {
  v1::Spec spec;
  *spec.mutable_properties() = Json(properties);
  spec.set_init(init);
  spec.set_logical_id(logical_id);
  return spec;
}

google::protobuf::Map<std::string, std::string> Tags() {
  google::protobuf::Map<std::string, std::string> tags;
  tags["infrakit.group"] = "web";
  tags["tier"] = "front";
  return tags;
}

TEST(ResourceBodyTest, AwsInstanceGetsTagsAndUserData) {
  const v1::Spec spec = SpecWith(
      R"({"type": "aws_instance", "value": {"ami": "a", "tags": {"tier": "old", "team": "x"},
          "user_data": "#!/bin/sh"}})",
      "echo hi", "10.0.0.1");
  auto properties = ParseTerraformProperties(spec.properties());
  ASSERT_TRUE(properties.ok());
  auto body = ResourceBody("instance-7", *properties, spec, Tags());
  ASSERT_TRUE(body.ok()) << body.status();
  const auto& tags = body->fields().at("tags").struct_value().fields();
  EXPECT_EQ(tags.at("tier").string_value(), "front");  // The instance's tags win.
  EXPECT_EQ(tags.at("team").string_value(), "x");
  EXPECT_EQ(tags.at("infrakit.group").string_value(), "web");
  EXPECT_EQ(tags.at("Name").string_value(), "instance-7");
  EXPECT_EQ(tags.at("LogicalID").string_value(), "10.0.0.1");
  EXPECT_EQ(body->fields().at("user_data").string_value(), "#!/bin/sh\necho hi");
  EXPECT_EQ(body->fields().at("ami").string_value(), "a");
}

TEST(ResourceBodyTest, EachProvidersInitField) {
  struct Case {
    std::string type;
    std::string expect;  // In the body's JSON.
  };
  for (const Case& c : std::vector<Case>{
           {"digitalocean_droplet", R"("user_data":"echo hi")"},
           {"google_compute_instance", R"("metadata_startup_script":"echo hi")"},
           {"azurerm_virtual_machine", R"("os_profile":{"custom_data":"echo hi"})"},
       }) {
    const v1::Spec spec = SpecWith(R"({"type": ")" + c.type + R"(", "value": {}})", "echo hi");
    auto body =
        ResourceBody("instance-1", *ParseTerraformProperties(spec.properties()), spec, Tags());
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_THAT(Text(*body), HasSubstr(c.expect)) << c.type;
    EXPECT_THAT(Text(*body), HasSubstr(R"("Name":"instance-1")")) << c.type;
  }
}

TEST(ResourceBodyTest, OtherTypesAreLeftAsWritten) {
  const v1::Spec spec = SpecWith(R"({"type": "null_resource", "value": {"x": 1}})", "echo hi");
  auto body =
      ResourceBody("instance-1", *ParseTerraformProperties(spec.properties()), spec, Tags());
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(Text(*body), R"({"x":1})");
}

TEST(ResourceBodyTest, AFieldOfTheWrongTypeIsNamed) {
  for (const auto& [value, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"tags": ["a"]})", "properties.value.tags"},
           {R"({"user_data": 3})", "properties.value.user_data"},
       }) {
    const v1::Spec spec =
        SpecWith(R"({"type": "aws_instance", "value": )" + value + "}", "echo hi");
    auto body =
        ResourceBody("instance-1", *ParseTerraformProperties(spec.properties()), spec, Tags());
    EXPECT_EQ(body.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(body.status().message(), HasSubstr(field));
  }
}

}  // namespace
}  // namespace infrakit::plugins::instance::terraform
