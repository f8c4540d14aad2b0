// docs/config.md against the parser: every key the parser accepts is in its tables and every
// key there is accepted, its example configs parse, and its example errors are the parser's.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/config/group_config.h"
#include "gtest/gtest.h"
#include "spec/group_spec.h"
#include "tests/testing/doc_keys.h"
#include "tests/testing/runfiles.h"

namespace infrakit::client::config {
namespace {

using ::infrakit::testing::KeyTables;

std::string ReadDoc() {
  const std::string path = ::infrakit::testing::RunfilePath("docs/config.md");
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The contents of the ```json blocks of `markdown` that are whole JSON objects.
std::vector<std::string> JsonObjects(const std::string& markdown) {
  std::vector<std::string> blocks;
  std::vector<std::string> parts = absl::StrSplit(markdown, "```");
  // Odd parts are inside fences; their first line is the language.
  for (size_t i = 1; i < parts.size(); i += 2) {
    if (!absl::StartsWith(parts[i], "json\n")) continue;
    const std::string body = parts[i].substr(5);
    if (absl::StartsWith(body, "{")) blocks.push_back(body);
  }
  return blocks;
}

// The contents of the ```yaml blocks of `markdown`.
std::vector<std::string> YamlBlocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  std::vector<std::string> parts = absl::StrSplit(markdown, "```");
  for (size_t i = 1; i < parts.size(); i += 2) {
    if (absl::StartsWith(parts[i], "yaml\n")) blocks.push_back(parts[i].substr(5));
  }
  return blocks;
}

TEST(ConfigDocTest, DocumentsEveryKeyTheParserAcceptsAndNoOther) {
  absl::StatusOr<KeyTables> tables = ::infrakit::testing::DocumentedKeys(ReadDoc());
  ASSERT_TRUE(tables.ok()) << tables.status();
  KeyTables accepted;
  for (const ConfigSection& section : ConfigKeys()) accepted[section.path] = section.keys;
  const std::vector<std::string> problems = ::infrakit::testing::CompareKeys(
      ::infrakit::testing::SectionsOf(*tables, "config"), accepted);
  EXPECT_TRUE(problems.empty()) << "docs/config.md and ConfigKeys() differ (section \"\" is the "
                                   "top level, marked <!-- keys: config -->):\n"
                                << absl::StrJoin(problems, "\n");
}

TEST(ConfigDocTest, ItsExampleConfigsParse) {
  const std::vector<std::string> configs = JsonObjects(ReadDoc());
  ASSERT_GE(configs.size(), 3u);
  std::vector<std::string> shas;
  for (const std::string& text : configs) {
    absl::StatusOr<ParsedConfig> config = ParseConfig(text);
    ASSERT_TRUE(config.ok()) << config.status() << "\n" << text;
    shas.push_back(spec::ConfigSha(config->spec));
  }
  // The nested and the flat form of one group: one config.
  EXPECT_EQ(shas[0], shas[1]);
}

TEST(ConfigDocTest, ItsYamlExampleIsItsFirstJsonExample) {
  const std::string doc = ReadDoc();
  const std::vector<std::string> yaml = YamlBlocks(doc);
  ASSERT_EQ(yaml.size(), 1u);
  absl::StatusOr<ParsedConfig> from_yaml = ParseConfig(yaml[0], common::ConfigFormat::kYaml);
  absl::StatusOr<ParsedConfig> from_json = ParseConfig(JsonObjects(doc)[0]);
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.status();
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ(ToJson(*from_yaml), ToJson(*from_json));
  EXPECT_EQ(spec::ConfigSha(from_yaml->spec), spec::ConfigSha(from_json->spec));
}

TEST(ConfigDocTest, ItsExampleErrorsAreTheParsers) {
  const std::string doc = ReadDoc();
  const std::string group = R"({"ID": "cattle", "Properties": {"Size": 1,
      "Instance": {"Plugin": "instance-file"}, "Flavor": {"Plugin": "flavor-vanilla"}, )";
  // Each `extra` makes `group` wrong.
  for (const std::string& extra :
       {std::string(R"("Remediation": {"UnhealthySeconds": 0})"),
        std::string(R"("Update": {"MaxSurge": "x%"})"), std::string(R"("Sise": 3)"),
        std::string(R"("Allocation": {"Size": 1})")}) {
    absl::StatusOr<ParsedConfig> config = ParseConfig(absl::StrCat(group, extra, "}}"));
    ASSERT_FALSE(config.ok()) << extra;
    const std::string line =
        absl::StrCat("\ninfrakitctl: cattle.json: ", config.status().message(), "\n");
    EXPECT_TRUE(absl::StrContains(doc, line)) << "docs/config.md should show" << line;
  }
  const std::string yaml = "ID: cattle\nProperties:\n  Size: 1\n    Instance: x\n";
  absl::StatusOr<ParsedConfig> config = ParseConfig(yaml);
  ASSERT_FALSE(config.ok());
  const std::string line =
      absl::StrCat("\ninfrakitctl: cattle.yaml: ", config.status().message(), "\n");
  EXPECT_TRUE(absl::StrContains(doc, line)) << "docs/config.md should show" << line;
}

}  // namespace
}  // namespace infrakit::client::config
