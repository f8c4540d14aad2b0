// The rules of a group spec on specs straight from gRPC clients, which never went through the
// config parser (client/config's tests hold the parser to the same rules), and config_sha.
#include "spec/group_spec.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace infrakit::spec {
namespace {

using infrakit::flavor::v1::Allocation;
using infrakit::group::v1::GroupSpec;
using infrakit::group::v1::UpdatePolicy;

GroupSpec SpecFromText(const std::string& text_proto) {
  GroupSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text_proto, &spec)) << text_proto;
  return spec;
}

TEST(ValidateGroupSpecTest, RejectsBadSpecsNamingTheField) {
  const std::string base = R"pb(id: "g"
                                instance { plugin: "a" }
                                flavor { plugin: "b" })pb";
  struct Case {
    std::string name;
    std::string text_proto;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no id", R"pb(instance { plugin: "a" }
                     flavor { plugin: "b" }
                     allocation { size: 1 })pb",
       "id: must not be empty"},
      {"id with slash", R"pb(id: "a/b"
                             instance { plugin: "a" }
                             flavor { plugin: "b" }
                             allocation { size: 1 })pb",
       "id: may only contain letters, digits, '.', '_' and '-', got \"a/b\""},
      {"id dot-dot", R"pb(id: ".."
                          instance { plugin: "a" }
                          flavor { plugin: "b" }
                          allocation { size: 1 })pb",
       "id: must not start with '.', got \"..\""},
      {"no instance", R"pb(id: "g"
                           flavor { plugin: "b" }
                           allocation { size: 1 })pb",
       "instance.plugin: must not be empty"},
      {"no flavor plugin", R"pb(id: "g"
                                instance { plugin: "a" }
                                flavor {}
                                allocation { size: 1 })pb",
       "flavor.plugin: must not be empty"},
      {"bad flavor plugin", R"pb(id: "g"
                                 instance { plugin: "a" }
                                 flavor { plugin: "x y" }
                                 allocation { size: 1 })pb",
       "flavor.plugin: may only contain"},
      {"no allocation", base, "allocation: required"},
      {"negative size", base + "allocation { size: -3 }", "allocation.size: must be >= 0, got -3"},
      {"duplicate logical ids",
       base + R"pb(allocation { logical_ids { ids: "a" ids: "b" ids: "a" } })pb",
       "allocation.logical_ids.ids[2]: duplicate logical ID \"a\" (also at [0])"},
      {"empty logical id", base + R"pb(allocation { logical_ids { ids: "" } })pb",
       "allocation.logical_ids.ids[0]: a logical ID must not be empty"},
      {"size in flavor properties",
       R"pb(id: "g"
            instance { plugin: "a" }
            flavor {
              plugin: "b"
              properties {
                fields {
                  key: "Size"
                  value { number_value: 3 }
                }
              }
            }
            allocation { size: 3 })pb",
       "flavor.properties.Size: the allocation belongs in allocation"},
      {"negative surge", base + "allocation { size: 1 } update_policy { max_surge { count: -1 } }",
       "update_policy.max_surge.count: must be >= 0, got -1"},
      {"surge percent over 100",
       base + "allocation { size: 1 } update_policy { max_surge { percent: 101 } }",
       "update_policy.max_surge.percent: must be between 0 and 100, got 101"},
      {"empty unavailable", base + "allocation { size: 1 } update_policy { max_unavailable {} }",
       "update_policy.max_unavailable: set count or percent"},
      {"both zero",
       base + "allocation { size: 1 } update_policy { max_surge { count: 0 } "
              "max_unavailable { percent: 0 } }",
       "update_policy: max_surge and max_unavailable cannot both be 0"},
      {"negative min ready",
       base + "allocation { size: 1 } update_policy { min_ready_seconds: -1 }",
       "update_policy.min_ready_seconds: must be >= 0, got -1"},
      {"negative deadline",
       base + "allocation { size: 1 } update_policy { health_deadline_seconds: -2 }",
       "update_policy.health_deadline_seconds: must be >= 0"},
      {"infinite deadline",
       base + "allocation { size: 1 } update_policy { health_deadline_seconds: inf }",
       "update_policy.health_deadline_seconds: must be >= 0"},
      {"unknown on_failure", base + "allocation { size: 1 } update_policy { on_failure: 7 }",
       "update_policy.on_failure: unknown action 7"},
      {"negative unhealthy seconds",
       base + "allocation { size: 1 } remediation { unhealthy_seconds: -1 }",
       "remediation.unhealthy_seconds: must be >= 0"},
      {"infinite unhealthy seconds",
       base + "allocation { size: 1 } remediation { unhealthy_seconds: inf }",
       "remediation.unhealthy_seconds: must be >= 0 (0: the default), got"},
      {"negative initial delay",
       base + "allocation { size: 1 } remediation { initial_delay_seconds: -1 }",
       "remediation.initial_delay_seconds: must be >= 0 (0: the default), got -1"},
      {"NaN initial delay",
       base + "allocation { size: 1 } remediation { initial_delay_seconds: nan }",
       "remediation.initial_delay_seconds: must be >= 0"},
      {"negative probe interval",
       base + "allocation { size: 1 } remediation { probe_interval_seconds: -0.5 }",
       "remediation.probe_interval_seconds: must be >= 0 (0: the default), got -0.5"},
      {"infinite probe interval",
       base + "allocation { size: 1 } remediation { probe_interval_seconds: inf }",
       "remediation.probe_interval_seconds: must be >= 0"},
      {"negative concurrency", base + "allocation { size: 1 } remediation { max_concurrent: -1 }",
       "remediation.max_concurrent: must be >= 0"},
      {"percent over 100",
       base + "allocation { size: 1 } remediation { max_unhealthy_percent: 101 }",
       "remediation.max_unhealthy_percent: must be between 0 (the default) and 100, got 101"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Status status = ValidateGroupSpec(SpecFromText(c.text_proto));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_NE(status.message().find(c.message), absl::string_view::npos)
        << "message: " << status.message() << "\nexpected to contain: " << c.message;
  }
}

TEST(ValidateGroupSpecTest, RemediationDurationsOfZeroAreTheDefaults) {
  // A spec from a gRPC client leaves fields out by leaving them 0.
  EXPECT_TRUE(ValidateGroupSpec(SpecFromText(R"pb(
                id: "g"
                instance { plugin: "a" }
                flavor { plugin: "b" }
                allocation { size: 1 }
                remediation {
                  enabled: true
                  unhealthy_seconds: 0
                  initial_delay_seconds: 0
                  probe_interval_seconds: 0
                }
              )pb"))
                  .ok());
  EXPECT_TRUE(ValidateGroupSpec(SpecFromText(R"pb(
                id: "g"
                instance { plugin: "a" }
                flavor { plugin: "b" }
                allocation { size: 1 }
                remediation { initial_delay_seconds: 120 probe_interval_seconds: 0.25 }
              )pb"))
                  .ok());
}

TEST(ValidateGroupSpecTest, BothZeroIsFineForPets) {
  // Pets are replaced in place, one at a time: neither surge nor unavailability is needed.
  EXPECT_TRUE(ValidateGroupSpec(SpecFromText(R"pb(
                id: "zk"
                instance { plugin: "a" }
                flavor { plugin: "b" }
                allocation { logical_ids { ids: "x" } }
                update_policy {
                  max_surge { count: 0 }
                  max_unavailable { count: 0 }
                }
              )pb"))
                  .ok());
}

TEST(ValidateNameTest, Names) {
  for (const char* good : {"group", "instance-file", "a.b_c-1", "Z9", "a..b"}) {
    EXPECT_TRUE(ValidateName("name", good).ok()) << good;
  }
  for (const char* bad : {"", ".", "..", ".hidden", "a/b", "a b", "a\\b", "ü", "a:b"}) {
    const absl::Status status = ValidateName("name", bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(status.message().rfind("name: ", 0), 0u) << status;
  }
}

TEST(ValidateLogicalIdsTest, NamesTheElementThroughTheCallersPath) {
  auto field_of = [](size_t i) { return absl::StrCat("ips[", i, "]"); };
  EXPECT_TRUE(ValidateLogicalIds({"a", "b"}, field_of).ok());
  EXPECT_TRUE(ValidateLogicalIds({}, field_of).ok());
  EXPECT_EQ(ValidateLogicalIds({"a", "", "b"}, field_of),
            absl::InvalidArgumentError("ips[1]: a logical ID must not be empty"));
  EXPECT_EQ(ValidateLogicalIds({"a", "b", "a"}, field_of),
            absl::InvalidArgumentError("ips[2]: duplicate logical ID \"a\" (also at [0])"));
}

TEST(IsAllocationKeyTest, SizeLogicalIdsAndIpsInAnyCase) {
  for (const char* key : {"Size", "size", "SIZE", "LogicalIDs", "logicalids", "IPs", "ips"}) {
    EXPECT_TRUE(IsAllocationKey(key)) << key;
  }
  for (const char* key : {"", "Sizes", "logical_ids", "IP", "UserData"}) {
    EXPECT_FALSE(IsAllocationKey(key)) << key;
  }
}

TEST(UpdateCannotReplaceTest, OnlyCattleWithBothBoundsSetToZero) {
  Allocation cattle;
  cattle.set_size(3);
  Allocation pets;
  pets.mutable_logical_ids()->add_ids("a");
  UpdatePolicy policy;
  policy.mutable_max_surge()->set_count(0);
  EXPECT_FALSE(UpdateCannotReplace(policy, cattle));  // max_unavailable is the default.
  policy.mutable_max_unavailable()->set_percent(0);
  EXPECT_TRUE(UpdateCannotReplace(policy, cattle));
  EXPECT_FALSE(UpdateCannotReplace(policy, pets));
  policy.mutable_max_unavailable()->set_count(1);
  EXPECT_FALSE(UpdateCannotReplace(policy, cattle));
}

// The original InfraKit tutorial's group as a spec: the properties as a config writes them,
// without the Size, which lives in the allocation.
GroupSpec TutorialSpec() {
  GroupSpec spec;
  const auto status = google::protobuf::util::JsonStringToMessage(R"({
      "id": "cattle",
      "instance": {"plugin": "instance-file",
                   "properties": {"Note": "Instance properties version 1.0"}},
      "flavor": {"plugin": "flavor-vanilla",
                 "properties": {"UserData": ["sudo apt-get update -y",
                                             "sudo apt-get install -y nginx",
                                             "sudo service nginx start"],
                                "Labels": {"tier": "web", "project": "infrakit"}}},
      "allocation": {"size": 5}})",
                                                                  &spec);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return spec;
}

TEST(ConfigShaTest, KnownAnswer) {
  // SHA-1 of {"Flavor":{"Plugin":"flavor-vanilla","Properties":{"Labels":{"project":"infrakit",
  // "tier":"web"},"UserData":[...]}},"Instance":{"Plugin":"instance-file","Properties":{"Note":
  // "Instance properties version 1.0"}}}, computed independently (Python's json.dumps with
  // sort_keys and compact separators, hashlib, base64.urlsafe_b64encode).
  EXPECT_EQ(ConfigSha(TutorialSpec()), "T6cmOAwpx-Juv4jorENVy93KutA=");
}

TEST(ConfigShaTest, IsPaddedBase64Url) {
  const std::string sha = ConfigSha(TutorialSpec());
  ASSERT_EQ(sha.size(), 28u) << sha;  // 20 bytes -> 27 characters + one '='.
  EXPECT_EQ(sha.back(), '=');
  for (char c : sha.substr(0, 27)) {
    EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << sha;
  }
}

TEST(ConfigShaTest, OnlyThePluginsAndTheirPropertiesCount) {
  const std::string sha = ConfigSha(TutorialSpec());
  GroupSpec other = TutorialSpec();
  other.set_id("other");
  other.mutable_allocation()->mutable_logical_ids()->add_ids("10.0.0.1");
  other.mutable_update_policy()->mutable_max_surge()->set_count(2);
  other.mutable_remediation()->set_enabled(true);
  EXPECT_EQ(ConfigSha(other), sha);

  other = TutorialSpec();
  other.mutable_instance()->set_plugin("instance-process");
  EXPECT_NE(ConfigSha(other), sha);
  other = TutorialSpec();
  (*other.mutable_flavor()->mutable_properties()->mutable_fields())["Labels"]
      .mutable_struct_value()
      ->mutable_fields()
      ->erase("tier");
  EXPECT_NE(ConfigSha(other), sha);
}

TEST(ConfigShaTest, AbsentPropertiesHashAsEmptyObjects) {
  GroupSpec absent = TutorialSpec();
  absent.mutable_instance()->clear_properties();
  GroupSpec empty = TutorialSpec();
  empty.mutable_instance()->mutable_properties()->clear_fields();
  EXPECT_EQ(ConfigSha(absent), ConfigSha(empty));
}

}  // namespace
}  // namespace infrakit::spec
