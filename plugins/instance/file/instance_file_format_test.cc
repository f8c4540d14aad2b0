#include "plugins/instance/file/instance_file_format.h"

#include <limits>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "spec/tags.h"

namespace infrakit::plugins::instance::file {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::testing::HasSubstr;

// `cat tutorial/instance-1475046008` in the original InfraKit's README, verbatim.
constexpr char kOriginalFile[] = R"({
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

// The same instance as this plugin writes it: the original layout with a regular 2-space indent.
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
  },
  "FormatVersion": 1
}
)";

v1::Description TutorialInstance() {
  v1::Description d;
  d.set_id("instance-1475046008");
  // Inserted out of order on purpose: the file has them sorted.
  for (const auto& [k, v] : {std::pair<const char*, const char*>{"tier", "web"},
                             {"project", "infrakit"},
                             {spec::kGroupTag, "cattle"},
                             {spec::kShaTag, "KSh4RpuYaDYQsYv77cimBZ8ZhHU="}}) {
    (*d.mutable_tags())[k] = v;
    (*d.mutable_spec()->mutable_tags())[k] = v;
  }
  (*d.mutable_spec()->mutable_properties()->mutable_fields())["Note"].set_string_value(
      "Instance properties version 2.0 -- CHANGED");
  d.mutable_spec()->set_init(
      "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start");
  return d;
}

TEST(InstanceFileFormatTest, EncodesTheOriginalLayout) {
  absl::StatusOr<std::string> encoded = EncodeInstanceFile(TutorialInstance());
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(*encoded, kEncoded);
}

TEST(InstanceFileFormatTest, DecodesTheOriginalFile) {
  absl::StatusOr<v1::Description> decoded =
      DecodeInstanceFile("instance-1475046008", kOriginalFile);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const v1::Description want = TutorialInstance();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*decoded, want))
      << decoded->DebugString() << "\nwant:\n"
      << want.DebugString();
}

TEST(InstanceFileFormatTest, RoundTripsEverything) {
  v1::Description d = TutorialInstance();
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
  },
  "FormatVersion": 1
}
)");
}

TEST(InstanceFileFormatTest, NewerFormatIsRefusedAndOlderFilesRead) {
  absl::StatusOr<v1::Description> newer =
      DecodeInstanceFile("instance-1", R"({"ID": "instance-1", "FormatVersion": 2})");
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition) << newer.status();
  EXPECT_THAT(newer.status().message(), HasSubstr("FormatVersion 2"));
  EXPECT_TRUE(DecodeInstanceFile("instance-1", R"({"ID": "instance-1", "FormatVersion": 1})").ok());
  EXPECT_TRUE(DecodeInstanceFile("instance-1", R"({"ID": "instance-1"})").ok());
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

// What StoredForm promises: the description a reader of the encoded file decodes.
void ExpectStoredFormIsTheRoundTrip(const v1::Description& d) {
  absl::StatusOr<std::string> encoded = EncodeInstanceFile(d);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  absl::StatusOr<v1::Description> decoded = DecodeInstanceFile(d.id(), *encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  std::optional<v1::Description> stored = StoredForm(d);
  ASSERT_TRUE(stored.has_value()) << d.DebugString();
  std::string differences;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(*decoded, *stored)) << differences << "\nfile:\n" << *encoded;
}

// An instance as Provision describes it: tags = the spec's tags.
v1::Description Provisioned(const v1::Spec& spec) {
  v1::Description d;
  d.set_id("instance-1");
  d.set_logical_id(spec.logical_id());
  *d.mutable_tags() = spec.tags();
  *d.mutable_spec() = spec;
  return d;
}

TEST(StoredFormTest, IsTheRoundTripOfRepresentativeSpecs) {
  v1::Spec empty;
  ExpectStoredFormIsTheRoundTrip(Provisioned(empty));

  v1::Spec tutorial;
  (*tutorial.mutable_properties()->mutable_fields())["Note"].set_string_value(
      "Instance properties version 1.0");
  (*tutorial.mutable_tags())[spec::kShaTag] = "Y23cKqyRpkQ_M60vIq7CufFmQWk=";
  (*tutorial.mutable_tags())[spec::kGroupTag] = "cattle";
  tutorial.set_init("\nsudo apt-get update -y\nsudo apt-get install -y nginx");
  ExpectStoredFormIsTheRoundTrip(Provisioned(tutorial));

  v1::Spec full = tutorial;
  full.set_logical_id("db-1");
  full.set_idempotency_key("group/cattle/3");
  v1::Attachment* volume = full.add_attachments();
  volume->set_id("vol-1");
  volume->set_type("volume");
  full.add_attachments()->set_id("eni-1");  // no type
  (*full.mutable_tags())["with \"quotes\" and \\ and \n"] = "caf\xc3\xa9 \xe2\x9c\x93 \x01";
  auto* fields = full.mutable_properties()->mutable_fields();
  (*fields)["int"].set_number_value(42);
  (*fields)["fraction"].set_number_value(0.1);
  (*fields)["third"].set_number_value(1.0 / 3);
  (*fields)["big"].set_number_value(1e300);
  (*fields)["tiny"].set_number_value(4.9e-324);
  (*fields)["beyond 2^53"].set_number_value(123456789012345678.0);
  (*fields)["negative zero"].set_number_value(-0.0);
  (*fields)["negative"].set_number_value(-17.25);
  (*fields)["yes"].set_bool_value(true);
  (*fields)["no"].set_bool_value(false);
  (*fields)["nothing"].set_null_value(google::protobuf::NULL_VALUE);
  (*fields)["empty string"].set_string_value("");
  (*fields)[""].set_string_value("an empty key");
  (*fields)["empty object"].mutable_struct_value();
  (*fields)["empty list"].mutable_list_value();
  auto* list = (*fields)["list"].mutable_list_value();
  list->add_values()->set_number_value(1);
  list->add_values()->set_string_value("two");
  list->add_values()->set_null_value(google::protobuf::NULL_VALUE);
  (*list->add_values()->mutable_struct_value()->mutable_fields())["deep"].set_bool_value(true);
  (*(*fields)["nested"].mutable_struct_value()->mutable_fields())["a"].set_string_value("b");
  ExpectStoredFormIsTheRoundTrip(Provisioned(full));

  v1::Spec empty_properties;
  empty_properties.mutable_properties();  // present but empty: an empty object, kept
  ExpectStoredFormIsTheRoundTrip(Provisioned(empty_properties));

  // Top-level tags and logical ID other than the spec's (as after a Label).
  v1::Description labelled = Provisioned(full);
  (*labelled.mutable_tags())["color"] = "blue";
  labelled.set_logical_id("other");
  ExpectStoredFormIsTheRoundTrip(labelled);
}

TEST(StoredFormTest, LeavesUncertainCasesToTheDecoder) {
  v1::Spec spec;
  (*spec.mutable_properties()->mutable_fields())["unset"];  // a Value without a kind
  EXPECT_FALSE(StoredForm(Provisioned(spec)).has_value());
  spec.Clear();
  auto* list = (*spec.mutable_properties()->mutable_fields())["list"].mutable_list_value();
  list->add_values()->set_number_value(std::numeric_limits<double>::quiet_NaN());
  EXPECT_FALSE(StoredForm(Provisioned(spec)).has_value());
  spec.Clear();
  (*spec.mutable_properties()->mutable_fields())["inf"].set_number_value(
      std::numeric_limits<double>::infinity());
  EXPECT_FALSE(StoredForm(Provisioned(spec)).has_value());
  spec.Clear();
  (*spec.mutable_tags())[""] = "x";
  EXPECT_FALSE(StoredForm(Provisioned(spec)).has_value());
  spec.Clear();
  spec.add_attachments()->set_type("volume");
  EXPECT_FALSE(StoredForm(Provisioned(spec)).has_value());
}

}  // namespace
}  // namespace infrakit::plugins::instance::file
