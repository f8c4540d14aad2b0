#include "plugins/instance/terraform/tf_file.h"

#include <string>

#include "common/json_object.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::instance::terraform {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::testing::HasSubstr;

v1::Description Record() {
  v1::Description record;
  record.set_id("instance-42");
  record.set_logical_id("10.0.0.2");
  (*record.mutable_tags())["infrakit.group"] = "web";
  v1::Spec* spec = record.mutable_spec();
  EXPECT_TRUE(
      google::protobuf::util::JsonStringToMessage(
          R"({"type": "aws_instance", "value": {"ami": "ami-1"}})", spec->mutable_properties())
          .ok());
  *spec->mutable_tags() = record.tags();
  spec->set_init("echo hi");
  spec->set_logical_id("10.0.0.2");
  spec->set_idempotency_key("key-1");
  return record;
}

TEST(TfFileTest, TheResourceAndTheRecordRoundTrip) {
  auto text = EncodeTfFile(Record());
  ASSERT_TRUE(text.ok()) << text.status();
  auto file = common::ParseJsonValue(*text);
  ASSERT_TRUE(file.ok()) << file.status();
  const auto& resource = file->struct_value()
                             .fields()
                             .at("resource")
                             .struct_value()
                             .fields()
                             .at("aws_instance")
                             .struct_value()
                             .fields()
                             .at("instance-42")
                             .struct_value()
                             .fields();
  EXPECT_EQ(resource.at("ami").string_value(), "ami-1");
  EXPECT_EQ(resource.at("user_data").string_value(), "echo hi");
  EXPECT_EQ(resource.at("tags").struct_value().fields().at("infrakit.group").string_value(), "web");

  auto decoded = DecodeTfFile(*text);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*decoded, Record()))
      << decoded->DebugString();
}

TEST(TfFileTest, AFileWithoutARecordIsNotAnInstance) {
  EXPECT_THAT(DecodeTfFile(R"({"resource": {}})").status().message(), HasSubstr("no instance"));
  EXPECT_FALSE(DecodeTfFile("{").ok());
  EXPECT_FALSE(DecodeTfFile(R"({"//": "{\"tags\": {}}"})").ok());  // No ID.
}

TEST(TfFileTest, Names) {
  EXPECT_EQ(TfFileName("instance-1"), "instance-1.tf.json");
  EXPECT_EQ(IdOfTfFileName("instance-12.tf.json"), "instance-12");
  EXPECT_EQ(IdOfTfFileName("main.tf.json"), "");
  EXPECT_EQ(IdOfTfFileName("instance-1.tf"), "");
  EXPECT_EQ(IdOfTfFileName("instance-.tf.json"), "");
  EXPECT_EQ(IdOfTfFileName(".instance-1.tf.json.tmp-abc"), "");
  EXPECT_EQ(ResourceAddress("aws_instance", "instance-1"), "aws_instance.instance-1");
}

}  // namespace
}  // namespace infrakit::plugins::instance::terraform
