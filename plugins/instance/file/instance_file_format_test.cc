#include "plugins/instance/file/instance_file_format.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::instance::file {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::testing::HasSubstr;

// `cat tutorial/instance-1475046008` in the seed README, verbatim.
constexpr char kSeedFile[] = R"({
    "ID": "instance-1475046008",
    "LogicalID": null,
    "Tags": {
      "infrakit.config_sha": "KSh4RpuYaDYQsYv77cimBZ8ZhHU=",
      "infrakit.group": "cattle",
      "project": "infrakit",
      "tier": "web"
    },
    "Spec": {
      "Properties": {
        "Note": "Instance properties version 2.0 -- CHANGED"
      },
      "Tags": {
        "infrakit.config_sha": "KSh4RpuYaDYQsYv77cimBZ8ZhHU=",
        "infrakit.group": "cattle",
        "project": "infrakit",
        "tier": "web"
      },
      "Init": "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start",
      "LogicalID": null,
      "Attachments": null
    }
  })";

// The same instance as this plugin writes it: the seed's layout with a regular 2-space indent.
constexpr char kEncoded[] = R"({
  "ID": "instance-1475046008",
  "LogicalID": null,
  "Tags": {
    "infrakit.config_sha": "KSh4RpuYaDYQsYv77cimBZ8ZhHU=",
    "infrakit.group": "cattle",
    "project": "infrakit",
    "tier": "web"
  },
  "Spec": {
    "Properties": {
      "Note": "Instance properties version 2.0 -- CHANGED"
    },
    "Tags": {
      "infrakit.config_sha": "KSh4RpuYaDYQsYv77cimBZ8ZhHU=",
      "infrakit.group": "cattle",
      "project": "infrakit",
      "tier": "web"
    },
    "Init": "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start",
    "LogicalID": null,
    "Attachments": null
  }
}
)";

v1::Description SeedInstance() {
  v1::Description d;
  d.set_id("instance-1475046008");
  // Inserted out of order on purpose: the file has them sorted.
  for (const auto& [k, v] : {std::pair<const char*, const char*>{"tier", "web"},
                             {"project", "infrakit"},
                             {"infrakit.group", "cattle"},
                             {"infrakit.config_sha", "KSh4RpuYaDYQsYv77cimBZ8ZhHU="}}) {
    (*d.mutable_tags())[k] = v;
    (*d.mutable_spec()->mutable_tags())[k] = v;
  }
  (*d.mutable_spec()->mutable_properties()->mutable_fields())["Note"].set_string_value(
      "Instance properties version 2.0 -- CHANGED");
  d.mutable_spec()->set_init(
      "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start");
  return d;
}

TEST(InstanceFileFormatTest, EncodesTheSeedsLayout) {
  absl::StatusOr<std::string> encoded = EncodeInstanceFile(SeedInstance());
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(*encoded, kEncoded);
}

TEST(InstanceFileFormatTest, DecodesTheSeedsFile) {
  absl::StatusOr<v1::Description> decoded = DecodeInstanceFile("instance-1475046008", kSeedFile);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const v1::Description want = SeedInstance();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*decoded, want))
      << decoded->DebugString() << "\nwant:\n"
      << want.DebugString();
}

TEST(InstanceFileFormatTest, RoundTripsEverything) {
  v1::Description d = SeedInstance();
  d.set_logical_id("10.0.0.1");
  d.mutable_spec()->set_logical_id("10.0.0.1");
  (*d.mutable_tags())["extra"] = "label";
  auto* a = d.mutable_spec()->add_attachments();
  a->set_id("vol-1");
  a->set_type("volume");
  d.mutable_spec()->set_idempotency_key("key-1");
  (*d.mutable_spec()->mutable_properties()->mutable_fields())["n"].set_number_value(0.1);

  absl::StatusOr<std::string> encoded = EncodeInstanceFile(d);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_THAT(*encoded, HasSubstr(R"("IdempotencyKey": "key-1")"));
  EXPECT_THAT(*encoded, HasSubstr(R"("LogicalID": "10.0.0.1")"));
  EXPECT_THAT(*encoded, HasSubstr(R"("ID": "vol-1")"));
  absl::StatusOr<v1::Description> decoded = DecodeInstanceFile(d.id(), *encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*decoded, d))
      << decoded->DebugString();
}

TEST(InstanceFileFormatTest, UnsetFieldsAreNull) {
  v1::Description d;
  d.set_id("instance-1");
  absl::StatusOr<std::string> encoded = EncodeInstanceFile(d);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(*encoded, R"({
  "ID": "instance-1",
  "LogicalID": null,
  "Tags": null,
  "Spec": {
    "Properties": null,
    "Tags": null,
    "Init": "",
    "LogicalID": null,
    "Attachments": null
  }
}
)");
}

TEST(InstanceFileFormatTest, FileNameIsTheId) {
  absl::StatusOr<v1::Description> decoded =
      DecodeInstanceFile("copy-of-it", R"({"ID": "instance-1", "Tags": {"a": "b"}})");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->id(), "copy-of-it");
  EXPECT_EQ(decoded->tags().at("a"), "b");
}

TEST(InstanceFileFormatTest, RejectsWhatIsNotAnInstanceFile) {
  struct Case {
    const char* contents;
    const char* message;
  };
  const Case cases[] = {
      {"", "empty"},
      {"  \n", "empty"},
      {"not json", "not an instance file"},
      {"[1, 2]", "not an instance file"},
      {R"({"Tags": {"a": 1}})", "Tags.a: want a string"},
      {R"({"Tags": "a"})", "Tags: want an object"},
      {R"({"LogicalID": 3})", "LogicalID: want a string"},
      {R"({"Spec": {"Properties": [1]}})", "Spec.Properties: want an object"},
      {R"({"Spec": {"Init": 1}})", "Spec.Init: want a string"},
      {R"({"Spec": {"Attachments": {}}})", "Spec.Attachments: want a list"},
      {R"({"Spec": {"Attachments": [{"Type": "volume"}]}})", "Spec.Attachments[0].ID: missing"},
      {R"({"Spec": {"Attachments": [{"ID": "v", "Size": "1"}]}})", "Spec.Attachments[0].Size"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::Description> decoded = DecodeInstanceFile("instance-1", c.contents);
    ASSERT_FALSE(decoded.ok()) << c.contents;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << c.contents;
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.message)) << c.contents;
  }
}

TEST(InstanceFileFormatTest, IgnoresKeysUsersAdd) {
  absl::StatusOr<v1::Description> decoded =
      DecodeInstanceFile("instance-1", R"({"Comment": "added by hand", "Tags": {"a": "b"}})");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->tags().at("a"), "b");
}

}  // namespace
}  // namespace infrakit::plugins::instance::file
