#include "tools/infrakitctl/lenient_json.h"

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "spec/tags.h"

namespace infrakit::tools::infrakitctl {
namespace {

using ::testing::HasSubstr;

// The "Spec" of an instance file of the original InfraKit's tutorial, as written there.
TEST(ParseLenientJsonTest, ReadsTheOriginalSpelling) {
  infrakit::instance::v1::Spec spec;
  absl::Status status = ParseLenientJson(R"({
      "Properties": {"Note": "Instance properties version 1.0"},
      "Tags": {"infrakit.group": "cattle", "Tier": "web"},
      "Init": "\nsudo apt-get update -y",
      "LogicalID": null,
      "Attachments": null
    })",
                                         &spec);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(spec.properties().fields().at("Note").string_value(),
            "Instance properties version 1.0");
  // Map keys and property keys are the user's: not normalised.
  EXPECT_EQ(spec.tags().at("Tier"), "web");
  EXPECT_EQ(spec.tags().at(spec::kGroupTag), "cattle");
  EXPECT_EQ(spec.init(), "\nsudo apt-get update -y");
  EXPECT_EQ(spec.logical_id(), "");
}

TEST(ParseLenientJsonTest, AnySpellingOfAFieldName) {
  for (const char* text : {R"({"logical_id": "a"})", R"({"logicalId": "a"})",
                           R"({"LOGICALID": "a"})", R"({"LogicalID": "a"})"}) {
    infrakit::instance::v1::Spec spec;
    ASSERT_TRUE(ParseLenientJson(text, &spec).ok()) << text;
    EXPECT_EQ(spec.logical_id(), "a") << text;
  }
}

TEST(ParseLenientJsonTest, NestedMessagesEnumsAndListShorthand) {
  infrakit::flavor::v1::HealthyRequest healthy;
  ASSERT_TRUE(ParseLenientJson(R"({"Properties": {"Size": 5},
      "Instance": {"ID": "instance-1", "State": "running", "Tags": {"a": "b"}}})",
                               &healthy)
                  .ok());
  EXPECT_EQ(healthy.instance().id(), "instance-1");
  EXPECT_EQ(healthy.instance().state(), infrakit::instance::v1::LIFECYCLE_STATE_RUNNING);
  EXPECT_EQ(healthy.properties().fields().at("Size").number_value(), 5);

  infrakit::flavor::v1::ValidateRequest pets;
  ASSERT_TRUE(
      ParseLenientJson(R"({"Allocation": {"LogicalIDs": ["10.0.0.1", "10.0.0.2"]}})", &pets).ok());
  ASSERT_EQ(pets.allocation().logical_ids().ids_size(), 2);
  EXPECT_EQ(pets.allocation().logical_ids().ids(1), "10.0.0.2");

  infrakit::flavor::v1::ValidateRequest cattle;
  ASSERT_TRUE(ParseLenientJson(R"({"allocation": {"size": 3}})", &cattle).ok());
  EXPECT_EQ(cattle.allocation().size(), 3);
}

TEST(ParseLenientJsonTest, UnknownFieldsAreNamedWithTheKnownOnes) {
  infrakit::instance::v1::Spec spec;
  absl::Status status = ParseLenientJson(R"({"Attachments": [{"ID": "v", "Kind": "x"}]})", &spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "Attachments[0].Kind: unknown field; expected one of: Id, Type");
}

TEST(ParseLenientJsonTest, UnknownEnumValuesListTheShortNames) {
  infrakit::instance::v1::Description d;
  absl::Status status = ParseLenientJson(R"({"State": "flying"})", &d);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      status.message(),
      "State: unknown value \"flying\"; expected one of: pending, running, terminating, failed");
}

TEST(ParseLenientJsonTest, SyntaxErrorsGiveLineAndColumn) {
  infrakit::instance::v1::Spec spec;
  absl::Status status = ParseLenientJson("{\n  \"Init\": \"x\",\n  \"Tags\": {\"a\": }\n}", &spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(status.message(), HasSubstr("at line 3, column"));
}

TEST(ParseLenientJsonTest, WrongTypesAreInvalid) {
  infrakit::instance::v1::Spec spec;
  EXPECT_EQ(ParseLenientJson(R"({"Init": {"a": 1}})", &spec).code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status not_object = ParseLenientJson("[1, 2]", &spec);
  EXPECT_EQ(not_object.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(not_object.message(), "input: expected a JSON object, got a list");
}

TEST(ParseLenientJsonTest, AStructKeepsItsKeys) {
  google::protobuf::Struct properties;
  ASSERT_TRUE(ParseLenientJson(R"({"Note": "v1", "logical_id": 3})", &properties).ok());
  EXPECT_EQ(properties.fields().at("Note").string_value(), "v1");
  EXPECT_EQ(properties.fields().at("logical_id").number_value(), 3);
  EXPECT_EQ(ParseLenientJson("\"text\"", &properties).message(),
            "input: expected a JSON object, got a string");
}

TEST(ParseLenientJsonTest, ReadsYaml) {
  infrakit::instance::v1::Spec spec;
  absl::Status status = ParseLenientJson(
      "Properties: {Note: v1, Count: 2, Port: \"80\"}\nTags:\n  Tier: web\nlogical_id: a\n", &spec);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(spec.properties().fields().at("Note").string_value(), "v1");
  EXPECT_EQ(spec.properties().fields().at("Count").number_value(), 2);
  EXPECT_EQ(spec.properties().fields().at("Port").string_value(), "80");
  EXPECT_EQ(spec.tags().at("Tier"), "web");
  EXPECT_EQ(spec.logical_id(), "a");
  // The format given wins over the text: YAML is not JSON.
  EXPECT_THAT(
      std::string(ParseLenientJson("Note: v1\n", &spec, common::ConfigFormat::kJson).message()),
      HasSubstr("not valid JSON"));
  google::protobuf::Struct properties;
  ASSERT_TRUE(ParseLenientJson("Note: v1\nOn: yes\n", &properties).ok());
  EXPECT_EQ(properties.fields().at("On").string_value(), "yes");
  EXPECT_THAT(std::string(ParseLenientJson("a: [\n", &properties).message()),
              HasSubstr("not valid YAML"));
}

}  // namespace
}  // namespace infrakit::tools::infrakitctl
