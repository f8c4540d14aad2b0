#include "client/config/group_config.h"

#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "spec/group_spec.h"

namespace infrakit::client::config {
namespace {

using google::protobuf::util::MessageDifferencer;
using infrakit::group::v1::GroupSpec;
using infrakit::spec::ConfigSha;
using infrakit::spec::ValidateGroupSpec;

// ---------------------------------------------------------------------------------------------
// The original InfraKit README's configs, verbatim (the heredoc's shell prompts "> " removed).

// "A Quick Tutorial": the nested form.
constexpr char kTutorialNested[] = R"({
    "ID": "cattle",
    "Properties": {
        "Instance" : {
            "Plugin": "instance-file",
            "Properties": {
                "Note": "Instance properties version 1.0"
            }
        },
        "Flavor": {
            "Plugin" : "flavor-vanilla",
            "Properties": {
                "Size" : 5,

                "UserData" : [
                    "sudo apt-get update -y",
                    "sudo apt-get install -y nginx",
                    "sudo service nginx start"
                ],

                "Labels" : {
                    "tier" : "web",
                    "project" : "infrakit"
                }
            }
        }
    }
})";

// "A Quick Tutorial": the flat form given to `group watch`.
constexpr char kTutorialFlat[] = R"({
    "ID": "cattle",
    "Properties": {
        "InstancePlugin": "instance-file",
        "InstancePluginProperties": {
            "Note": "Instance properties version 1.0"
        },
        "FlavorPlugin": "flavor-vanilla",
        "FlavorPluginProperties": {
            "Size" : 5,

            "UserData" : [
                "sudo apt-get update -y",
                "sudo apt-get install -y nginx",
                "sudo service nginx start"
            ],

            "Labels" : {
                "tier" : "web",
                "project" : "infrakit"
            }
        }
    }
})";

// "A Quick Tutorial": the update (size 3 and a changed Note).
constexpr char kTutorialUpdate[] = R"({
    "ID": "cattle",
    "Properties": {
        "Instance" : {
            "Plugin": "instance-file",
            "Properties": {
                "Note": "Instance properties version 2.0 -- CHANGED"
            }
        },
        "Flavor": {
            "Plugin" : "flavor-vanilla",
            "Properties": {
                "Size" : 3,

                "UserData" : [
                    "sudo apt-get update -y",
                    "sudo apt-get install -y nginx",
                    "sudo service nginx start"
                ],

                "Labels" : {
                    "tier" : "web",
                    "project" : "infrakit"
                }
            }
        }
    }
})";

// "Configuration": the default group plugin with a size.
constexpr char kNginx[] = R"({
  "id": "nginx",
  "plugin": "group",
  "properties": {
    "size": 10,
    "instance": {
      "plugin": "aws",
      "properties": {
        "region": "us-west-2",
        "ami": "ami-123456"
      }
    },
    "flavor": {
      "plugin": "nginx",
      "properties": {
        "port": 8080
      }
    }
  }
})";

// "Create, update, and destroy a Group": zk.conf.
constexpr char kZk[] = R"({
  "id": "zk",
  "plugin": "group",
  "properties": {
    "ips": ["192.168.0.4", "192.168.0.5", "192.168.0.6"],
    "instance": {
      "plugin": "vagrant"
    },
    "flavor": {
      "plugin": "zookeeper"
    }
  }
})";

// zk.conf after the edit.
constexpr char kZkEdited[] = R"({
  "id": "zk",
  "plugin": "group",
  "properties": {
    "ips": ["192.168.0.4", "192.168.0.5", "192.168.0.6"],
    "instance": {
      "plugin": "vagrant",
      "properties": {
        "cpu": 2
      }
    },
    "flavor": {
      "plugin": "zookeeper"
    }
  }
})";

// zk-observer.conf.
constexpr char kZkObserver[] = R"({
  "id": "zk-observers",
  "plugin": "group",
  "properties": {
    "size": 3,
    "instance": {
      "plugin": "vagrant"
    },
    "flavor": {
      "plugin": "zookeeper",
      "properties": {
        "mode": "observer"
      }
    }
  }
})";

// The same groups written in the forms the original did not use for them.

// The tutorial's group in the lower-case form, the size among the group's properties.
constexpr char kTutorialLower[] = R"({
  "id": "cattle",
  "properties": {
    "size": 5,
    "instance": {"plugin": "instance-file",
                 "properties": {"Note": "Instance properties version 1.0"}},
    "flavor": {"plugin": "flavor-vanilla",
               "properties": {"UserData": ["sudo apt-get update -y",
                                           "sudo apt-get install -y nginx",
                                           "sudo service nginx start"],
                              "Labels": {"tier": "web", "project": "infrakit"}}}
  }
})";

// zk.conf in the nested form, the logical IDs in the flavor's properties.
constexpr char kZkNested[] = R"({
  "ID": "zk",
  "Plugin": "group",
  "Properties": {
    "Instance": {"Plugin": "vagrant"},
    "Flavor": {"Plugin": "zookeeper",
               "Properties": {"LogicalIDs": ["192.168.0.4", "192.168.0.5", "192.168.0.6"]}}
  }
})";

// zk.conf in the flat form.
constexpr char kZkFlat[] = R"({
  "ID": "zk",
  "Plugin": "group",
  "Properties": {
    "LogicalIDs": ["192.168.0.4", "192.168.0.5", "192.168.0.6"],
    "InstancePlugin": "vagrant",
    "InstancePluginProperties": {},
    "FlavorPlugin": "zookeeper",
    "FlavorPluginProperties": null
  }
})";

// ---------------------------------------------------------------------------------------------

ParsedConfig MustParse(const std::string& text) {
  absl::StatusOr<ParsedConfig> config = ParseConfig(text);
  EXPECT_TRUE(config.ok()) << config.status() << "\n" << text;
  return config.ok() ? *std::move(config) : ParsedConfig{};
}

std::string Diff(const GroupSpec& a, const GroupSpec& b) {
  MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  differencer.Compare(a, b);
  return report;
}

GroupSpec SpecFromText(const std::string& text_proto) {
  GroupSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text_proto, &spec)) << text_proto;
  return spec;
}

TEST(GroupConfigTest, TutorialParsesToTheCanonicalSpec) {
  const ParsedConfig config = MustParse(kTutorialNested);
  const GroupSpec expected = SpecFromText(R"pb(
    id: "cattle"
    instance {
      plugin: "instance-file"
      properties {
        fields {
          key: "Note"
          value { string_value: "Instance properties version 1.0" }
        }
      }
    }
    flavor {
      plugin: "flavor-vanilla"
      properties {
        fields {
          key: "UserData"
          value {
            list_value {
              values { string_value: "sudo apt-get update -y" }
              values { string_value: "sudo apt-get install -y nginx" }
              values { string_value: "sudo service nginx start" }
            }
          }
        }
        fields {
          key: "Labels"
          value {
            struct_value {
              fields {
                key: "tier"
                value { string_value: "web" }
              }
              fields {
                key: "project"
                value { string_value: "infrakit" }
              }
            }
          }
        }
      }
    }
    allocation { size: 5 }
  )pb");
  EXPECT_TRUE(MessageDifferencer::Equals(config.spec, expected)) << Diff(config.spec, expected);
  EXPECT_EQ(config.group_plugin, "");
}

TEST(GroupConfigTest, ThreeFormsOfTheTutorialGiveOneSpecAndOneSha) {
  const GroupSpec nested = MustParse(kTutorialNested).spec;
  for (const char* text : {kTutorialFlat, kTutorialLower}) {
    const GroupSpec other = MustParse(text).spec;
    EXPECT_TRUE(MessageDifferencer::Equals(nested, other)) << Diff(nested, other) << text;
    EXPECT_EQ(ConfigSha(other), ConfigSha(nested)) << text;
  }
}

TEST(GroupConfigTest, ThreeFormsOfZkGiveOneSpecAndOneSha) {
  const ParsedConfig lower = MustParse(kZk);
  EXPECT_EQ(lower.group_plugin, "group");
  EXPECT_EQ(lower.spec.id(), "zk");
  EXPECT_EQ(lower.spec.instance().plugin(), "vagrant");
  EXPECT_EQ(lower.spec.flavor().plugin(), "zookeeper");
  EXPECT_TRUE(lower.spec.instance().properties().fields().empty());
  EXPECT_TRUE(lower.spec.flavor().properties().fields().empty());
  ASSERT_TRUE(lower.spec.allocation().has_logical_ids());
  EXPECT_EQ(std::vector<std::string>(lower.spec.allocation().logical_ids().ids().begin(),
                                     lower.spec.allocation().logical_ids().ids().end()),
            (std::vector<std::string>{"192.168.0.4", "192.168.0.5", "192.168.0.6"}));
  for (const char* text : {kZkNested, kZkFlat}) {
    const ParsedConfig other = MustParse(text);
    EXPECT_TRUE(MessageDifferencer::Equals(lower.spec, other.spec))
        << Diff(lower.spec, other.spec) << text;
    EXPECT_EQ(other.group_plugin, "group");
    EXPECT_EQ(ConfigSha(other.spec), ConfigSha(lower.spec));
  }
}

TEST(GroupConfigTest, OriginalConfigurationExamples) {
  const ParsedConfig nginx = MustParse(kNginx);
  EXPECT_EQ(nginx.group_plugin, "group");
  EXPECT_EQ(nginx.spec.allocation().size(), 10);
  EXPECT_EQ(nginx.spec.instance().plugin(), "aws");
  EXPECT_EQ(nginx.spec.instance().properties().fields().at("ami").string_value(), "ami-123456");
  EXPECT_EQ(nginx.spec.flavor().properties().fields().at("port").number_value(), 8080);

  const ParsedConfig observers = MustParse(kZkObserver);
  EXPECT_EQ(observers.spec.id(), "zk-observers");
  EXPECT_EQ(observers.spec.allocation().size(), 3);
  EXPECT_EQ(observers.spec.flavor().properties().fields().at("mode").string_value(), "observer");
}

TEST(GroupConfigTest, SizeInFlavorPropertiesIsLiftedIntoTheAllocation) {
  const GroupSpec spec = MustParse(kTutorialNested).spec;
  EXPECT_EQ(spec.allocation().kind_case(), infrakit::flavor::v1::Allocation::kSize);
  EXPECT_EQ(spec.allocation().size(), 5);
  EXPECT_EQ(spec.flavor().properties().fields().count("Size"), 0);
  EXPECT_EQ(spec.flavor().properties().fields().size(), 2);  // UserData, Labels.
}

TEST(GroupConfigTest, ConfigShaKnownAnswer) {
  // The tutorial's config gives the spec whose config_sha spec/group_spec_test.cc checks
  // against an independently computed SHA-1.
  EXPECT_EQ(ConfigSha(MustParse(kTutorialNested).spec), "T6cmOAwpx-Juv4jorENVy93KutA=");
}

TEST(GroupConfigTest, ShaIgnoresKeyOrderWhitespaceAndKeyCase) {
  const std::string sha = ConfigSha(MustParse(kTutorialNested).spec);
  // Keys reordered at every level, keys of the config itself in other cases, on one line.
  const std::string reordered =
      R"({"PROPERTIES":{"flavor":{"properties":{"Labels":{"project":"infrakit","tier":"web"},)"
      R"("UserData":["sudo apt-get update -y","sudo apt-get install -y nginx",)"
      R"("sudo service nginx start"],"Size":5},"PLUGIN":"flavor-vanilla"},)"
      R"("iNsTaNcE":{"properties":{"Note":"Instance properties version 1.0"},)"
      R"("plugin":"instance-file"}},"id":"cattle"})";
  const GroupSpec spec = MustParse(reordered).spec;
  EXPECT_EQ(ConfigSha(spec), sha);
  EXPECT_TRUE(MessageDifferencer::Equals(spec, MustParse(kTutorialNested).spec));
  // A byte order mark.
  EXPECT_EQ(ConfigSha(MustParse(absl::StrCat("\xEF\xBB\xBF", kTutorialNested)).spec), sha);
  // Extra whitespace and a trailing newline, in the flat form.
  EXPECT_EQ(ConfigSha(MustParse(absl::StrCat("\n\n", kTutorialFlat, "\n\t \n")).spec), sha);
}

TEST(GroupConfigTest, KeysInsidePluginPropertiesAreOpaqueAndCaseSensitive) {
  // The plugin owns its properties: "note" is not "Note" to it, so the hash must differ.
  const std::string renamed = absl::StrReplaceAll(kTutorialNested, {{"\"Note\"", "\"note\""}});
  EXPECT_NE(ConfigSha(MustParse(renamed).spec), ConfigSha(MustParse(kTutorialNested).spec));
  // And unknown keys there are passed on untouched.
  const std::string extra = absl::StrReplaceAll(
      kTutorialNested, {{"\"Note\":", "\"Whatever\": {\"deep\": [1, null, true]}, \"Note\":"}});
  const GroupSpec spec = MustParse(extra).spec;
  EXPECT_TRUE(spec.instance().properties().fields().contains("Whatever"));
}

TEST(GroupConfigTest, SizeChangeKeepsTheSha) {
  const std::string resized =
      absl::StrReplaceAll(kTutorialNested, {{"\"Size\" : 5", "\"Size\" : 7"}});
  const GroupSpec a = MustParse(kTutorialNested).spec;
  const GroupSpec b = MustParse(resized).spec;
  EXPECT_EQ(b.allocation().size(), 7);
  EXPECT_EQ(ConfigSha(a), ConfigSha(b));
  // Zero is a legal size too.
  const std::string zero = absl::StrReplaceAll(kTutorialNested, {{"\"Size\" : 5", "\"Size\" : 0"}});
  const GroupSpec c = MustParse(zero).spec;
  EXPECT_TRUE(c.allocation().has_size() ||
              c.allocation().kind_case() == infrakit::flavor::v1::Allocation::kSize);
  EXPECT_EQ(c.allocation().size(), 0);
  EXPECT_EQ(ConfigSha(c), ConfigSha(a));
}

TEST(GroupConfigTest, LogicalIdChangeKeepsTheSha) {
  const std::string changed = absl::StrReplaceAll(kZk, {{"192.168.0.6", "192.168.0.7"}});
  EXPECT_EQ(ConfigSha(MustParse(changed).spec), ConfigSha(MustParse(kZk).spec));
}

TEST(GroupConfigTest, PropertyChangeChangesTheSha) {
  const GroupSpec v1 = MustParse(kTutorialNested).spec;
  const GroupSpec v2 = MustParse(kTutorialUpdate).spec;
  EXPECT_EQ(v2.allocation().size(), 3);
  EXPECT_NE(ConfigSha(v1), ConfigSha(v2));
  // The Note alone, without the size change, is enough.
  const std::string note_only =
      absl::StrReplaceAll(kTutorialNested, {{"version 1.0", "version 2.0 -- CHANGED"}});
  EXPECT_NE(ConfigSha(MustParse(note_only).spec), ConfigSha(v1));
  EXPECT_EQ(ConfigSha(MustParse(note_only).spec), ConfigSha(v2));
  // So is a flavor property or a plugin name.
  const std::string label = absl::StrReplaceAll(kTutorialNested, {{"\"web\"", "\"db\""}});
  EXPECT_NE(ConfigSha(MustParse(label).spec), ConfigSha(v1));
  const std::string plugin =
      absl::StrReplaceAll(kTutorialNested, {{"\"instance-file\"", "\"another-file\""}});
  EXPECT_NE(ConfigSha(MustParse(plugin).spec), ConfigSha(v1));
}

TEST(GroupConfigTest, ZkCpuEditChangesTheSha) {
  const GroupSpec before = MustParse(kZk).spec;
  const GroupSpec after = MustParse(kZkEdited).spec;
  EXPECT_NE(ConfigSha(before), ConfigSha(after));
  EXPECT_TRUE(MessageDifferencer::Equals(before.allocation(), after.allocation()));
}

TEST(GroupConfigTest, ShaDoesNotDependOnUpdateOrRemediationSettings) {
  const std::string with_settings = absl::StrReplaceAll(
      kTutorialNested,
      {{"\"Properties\": {\n        \"Instance\"",
        "\"Properties\": {\n        \"Update\": {\"MaxSurge\": 2}, \"Remediation\": "
        "{\"Enabled\": true, \"InitialDelaySeconds\": 30, \"ProbeIntervalSeconds\": 2},\n"
        "        \"Instance\""}});
  const GroupSpec spec = MustParse(with_settings).spec;
  ASSERT_TRUE(spec.has_update_policy());
  ASSERT_EQ(spec.remediation().initial_delay_seconds(), 30);
  EXPECT_EQ(ConfigSha(spec), ConfigSha(MustParse(kTutorialNested).spec));
}

// A tutorial-like config in the nested form with `extra` added to the group's properties.
std::string WithGroupProperties(const std::string& extra) {
  return absl::StrCat(R"({"ID": "g", "Properties": {"Size": 2,
    "Instance": {"Plugin": "instance-file", "Properties": {"Note": "n"}},
    "Flavor": {"Plugin": "flavor-vanilla"})",
                      extra.empty() ? "" : ", ", extra, "}}");
}

TEST(GroupConfigTest, UpdateAndRemediationSettings) {
  const GroupSpec spec = MustParse(WithGroupProperties(R"(
      "update": {"maxSurge": "25%", "MAXUNAVAILABLE": 1, "MinReadySeconds": 2.5,
                 "HealthDeadlineSeconds": 120, "OnFailure": "Rollback"},
      "Remediation": {"enabled": true, "UnhealthySeconds": 30, "MaxConcurrent": 2,
                      "MaxUnhealthyPercent": 40, "initialDelaySeconds": 45.5,
                      "PROBEINTERVALSECONDS": 0.5})"))
                             .spec;
  const GroupSpec expected = SpecFromText(R"pb(
    id: "g"
    instance {
      plugin: "instance-file"
      properties {
        fields {
          key: "Note"
          value { string_value: "n" }
        }
      }
    }
    flavor {
      plugin: "flavor-vanilla"
      properties {}
    }
    allocation { size: 2 }
    update_policy {
      max_surge { percent: 25 }
      max_unavailable { count: 1 }
      min_ready_seconds: 2.5
      health_deadline_seconds: 120
      on_failure: FAILURE_ACTION_ROLLBACK
    }
    remediation {
      enabled: true
      unhealthy_seconds: 30
      max_concurrent: 2
      max_unhealthy_percent: 40
      initial_delay_seconds: 45.5
      probe_interval_seconds: 0.5
    }
  )pb");
  EXPECT_TRUE(MessageDifferencer::Equals(spec, expected)) << Diff(spec, expected);

  const GroupSpec pause = MustParse(WithGroupProperties(R"("Update": {"OnFailure": "pause",
      "MaxSurge": 0, "MaxUnavailable": "10%"}, "Remediation": {})"))
                              .spec;
  EXPECT_EQ(pause.update_policy().on_failure(), infrakit::group::v1::FAILURE_ACTION_PAUSE);
  EXPECT_EQ(pause.update_policy().max_surge().count(), 0);
  EXPECT_EQ(pause.update_policy().max_unavailable().value_case(),
            infrakit::group::v1::IntOrPercent::kPercent);
  EXPECT_TRUE(pause.has_remediation());
  EXPECT_FALSE(pause.remediation().enabled());
  // Left out: 0 in the spec, which the group service reads as the defaults (10 s and 1 s).
  EXPECT_EQ(pause.remediation().initial_delay_seconds(), 0);
  EXPECT_EQ(pause.remediation().probe_interval_seconds(), 0);

  const GroupSpec none = MustParse(WithGroupProperties("")).spec;
  EXPECT_FALSE(none.has_update_policy());
  EXPECT_FALSE(none.has_remediation());
}

TEST(GroupConfigTest, NegativeSizeInFlavorPropertiesMessage) {
  const std::string text =
      absl::StrReplaceAll(kTutorialNested, {{"\"Size\" : 5", "\"Size\" : -1"}});
  absl::StatusOr<GroupSpec> spec = ParseGroupConfig(text);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status(),
            absl::InvalidArgumentError("Properties.Flavor.Properties.Size: must be >= 0, got -1"));
}

TEST(GroupConfigTest, FlatFormErrorsUseTheFlatNames) {
  const std::string text = absl::StrReplaceAll(kTutorialFlat, {{"\"Size\" : 5", "\"Size\" : 2.5"}});
  absl::StatusOr<GroupSpec> spec = ParseGroupConfig(text);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            "Properties.FlavorPluginProperties.Size: must be an integer, got 2.5");
}

TEST(GroupConfigTest, NotJsonSaysWhere) {
  // The third line lacks a comma after the value: the parser stops at "Properties".
  const std::string text = "{\n  \"ID\": \"cattle\"\n  \"Properties\": {}\n}\n";
  absl::StatusOr<GroupSpec> spec = ParseGroupConfig(text);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(spec.status().message().find("config: not valid JSON"), absl::string_view::npos)
      << spec.status();
  EXPECT_NE(spec.status().message().find("line 3, column 3"), absl::string_view::npos)
      << spec.status();
}

// ---------------------------------------------------------------------------------------------
// ToJson.

TEST(GroupConfigTest, ToJsonRoundTripsEveryGoodConfig) {
  const std::vector<std::string> good = {
      kTutorialNested,
      kTutorialFlat,
      kTutorialUpdate,
      kTutorialLower,
      kNginx,
      kZk,
      kZkEdited,
      kZkObserver,
      kZkNested,
      kZkFlat,
      WithGroupProperties(R"("Update": {"MaxSurge": "25%", "MaxUnavailable": 1,
          "MinReadySeconds": 0.1, "HealthDeadlineSeconds": 120, "OnFailure": "rollback"},
          "Remediation": {"Enabled": true, "UnhealthySeconds": 30.5, "MaxConcurrent": 2,
          "MaxUnhealthyPercent": 40, "InitialDelaySeconds": 90, "ProbeIntervalSeconds": 0.25})"),
      WithGroupProperties(R"("Remediation": {"Enabled": true, "ProbeIntervalSeconds": 3})"),
      WithGroupProperties(R"("Update": {}, "Remediation": {"Enabled": false})"),
      R"({"id": "pets", "properties": {"logicalIDs": [], "instance": {"plugin": "a"},
          "flavor": {"plugin": "b", "properties": {"s": "q\"\\\n\u0001é", "n": [1e21, -0.5, null]}}}})",
  };
  for (const std::string& text : good) {
    const ParsedConfig config = MustParse(text);
    const std::string json = ToJson(config);
    const ParsedConfig again = MustParse(json);
    EXPECT_TRUE(MessageDifferencer::Equals(config.spec, again.spec))
        << Diff(config.spec, again.spec) << json;
    EXPECT_EQ(again.group_plugin, config.group_plugin);
    EXPECT_EQ(ConfigSha(again.spec), ConfigSha(config.spec));
    // The spec-only form drops the group plugin and nothing else.
    const ParsedConfig spec_only = MustParse(ToJson(config.spec));
    EXPECT_TRUE(MessageDifferencer::Equals(config.spec, spec_only.spec)) << ToJson(config.spec);
    EXPECT_EQ(spec_only.group_plugin, "");
  }
}

TEST(GroupConfigTest, ToJsonIsTheNestedOriginalForm) {
  const ParsedConfig config = MustParse(kZkEdited);
  EXPECT_EQ(ToJson(config), R"({
  "ID": "zk",
  "Plugin": "group",
  "Properties": {
    "Instance": {
      "Plugin": "vagrant",
      "Properties": {
        "cpu": 2
      }
    },
    "Flavor": {
      "Plugin": "zookeeper",
      "Properties": {}
    },
    "LogicalIDs": [
      "192.168.0.4",
      "192.168.0.5",
      "192.168.0.6"
    ]
  }
}
)");
  const GroupSpec observers =
      MustParse(WithGroupProperties(R"("Update": {"MaxSurge": "10%", "OnFailure": "pause"})")).spec;
  EXPECT_EQ(ToJson(observers), R"({
  "ID": "g",
  "Properties": {
    "Instance": {
      "Plugin": "instance-file",
      "Properties": {
        "Note": "n"
      }
    },
    "Flavor": {
      "Plugin": "flavor-vanilla",
      "Properties": {}
    },
    "Size": 2,
    "Update": {
      "MaxSurge": "10%",
      "OnFailure": "pause"
    }
  }
}
)");
}

TEST(GroupConfigTest, ToJsonWritesTheRemediationKeysThatAreSet) {
  const GroupSpec spec = MustParse(WithGroupProperties(R"("remediation": {"enabled": true,
      "probeIntervalSeconds": 0.5, "initialDelaySeconds": 120, "maxConcurrent": 2})"))
                             .spec;
  const std::string json = ToJson(spec);
  EXPECT_NE(json.find(R"("Remediation": {
      "Enabled": true,
      "MaxConcurrent": 2,
      "InitialDelaySeconds": 120,
      "ProbeIntervalSeconds": 0.5
    })"),
            std::string::npos)
      << json;
}

// ---------------------------------------------------------------------------------------------
// ValidateGroupSpec of parsed specs (the other cases: spec/group_spec_test.cc).

TEST(ValidateGroupSpecTest, AcceptsParsedSpecs) {
  for (const char* text : {kTutorialNested, kZk, kZkObserver, kNginx}) {
    EXPECT_TRUE(ValidateGroupSpec(MustParse(text).spec).ok()) << text;
  }
  // Plugin properties may be absent in a spec from gRPC.
  EXPECT_TRUE(ValidateGroupSpec(SpecFromText(R"pb(
                id: "g"
                instance { plugin: "a" }
                flavor { plugin: "b" }
                allocation { size: 0 }
              )pb"))
                  .ok());
}

// ---------------------------------------------------------------------------------------------
// ParseConfigFile.

std::string TempDir() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

TEST(ParseConfigFileTest, ReadsAFile) {
  const std::string path = TempDir() + "/zk.conf";
  std::ofstream(path) << kZk;
  absl::StatusOr<ParsedConfig> config = ParseConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->spec.id(), "zk");
  EXPECT_EQ(config->group_plugin, "group");
}

TEST(ParseConfigFileTest, ErrorsNameTheFile) {
  const std::string missing = TempDir() + "/missing.conf";
  absl::StatusOr<ParsedConfig> config = ParseConfigFile(missing);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound) << config.status();
  EXPECT_EQ(config.status().message().rfind(missing + ": ", 0), 0u) << config.status();

  config = ParseConfigFile(TempDir());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition) << config.status();
  EXPECT_NE(config.status().message().find("is a directory"), absl::string_view::npos);

  const std::string bad = TempDir() + "/bad.conf";
  std::ofstream(bad) << R"({"ID": "a/b", "Properties": {}})";
  config = ParseConfigFile(bad);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  EXPECT_EQ(config.status().message().rfind(bad + ": ID: may only contain", 0), 0u)
      << config.status();

  const std::string empty = TempDir() + "/empty.conf";
  std::ofstream(empty) << "";
  config = ParseConfigFile(empty);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  EXPECT_NE(config.status().message().find("not valid JSON"), absl::string_view::npos);
}

}  // namespace
}  // namespace infrakit::client::config
