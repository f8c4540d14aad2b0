#include "common/config_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/canonical_json.h"

namespace infrakit::common {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ConfigTextTest, TheExtensionChoosesTheFormat) {
  EXPECT_EQ(FormatForPath("cattle.json"), ConfigFormat::kJson);
  EXPECT_EQ(FormatForPath("/etc/infrakit/Cattle.JSON"), ConfigFormat::kJson);
  EXPECT_EQ(FormatForPath("cattle.yaml"), ConfigFormat::kYaml);
  EXPECT_EQ(FormatForPath("dir.json/cattle.YML"), ConfigFormat::kYaml);
  EXPECT_EQ(FormatForPath("cattle.conf"), ConfigFormat::kDetect);
  EXPECT_EQ(FormatForPath("yaml"), ConfigFormat::kDetect);
  EXPECT_EQ(FormatForPath("-"), ConfigFormat::kDetect);
  EXPECT_EQ(FormatForPath(""), ConfigFormat::kDetect);
}

TEST(ConfigTextTest, TheContentChoosesTheFormatOtherwise) {
  EXPECT_EQ(DetectFormat("{\"ID\": 1}"), ConfigFormat::kJson);
  EXPECT_EQ(DetectFormat("\xEF\xBB\xBF\n  [1]"), ConfigFormat::kJson);
  EXPECT_EQ(DetectFormat("  \n"), ConfigFormat::kJson);
  EXPECT_EQ(DetectFormat("ID: cattle\n"), ConfigFormat::kYaml);
  EXPECT_EQ(DetectFormat("# a comment\n{}"), ConfigFormat::kYaml);
  EXPECT_EQ(DetectFormat("---\nID: x"), ConfigFormat::kYaml);
}

TEST(ConfigTextTest, ParsesEitherToTheSameValue) {
  auto json = ParseConfigValue("{\"a\": [1, \"b\"]}", ConfigFormat::kDetect);
  auto yaml = ParseConfigValue("a:\n  - 1\n  - b\n", ConfigFormat::kDetect);
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_EQ(spec::CanonicalJson(*json), spec::CanonicalJson(*yaml));
  auto bom = ParseConfigValue(
      "\xEF\xBB\xBF"
      "a: 1",
      ConfigFormat::kYaml);
  ASSERT_TRUE(bom.ok()) << bom.status();
  EXPECT_EQ(spec::CanonicalJson(*bom), R"({"a":1})");
}

TEST(ConfigTextTest, TheFormatGivenWins) {
  // YAML named .json is refused as JSON, with JSON's message.
  auto status = ParseConfigValue("a: 1", ConfigFormat::kJson).status();
  EXPECT_THAT(std::string(status.message()), StartsWith("not valid JSON"));
  // A flow list of plain words is YAML, not JSON: as text it reads as JSON, and fails.
  auto yaml = ParseConfigValue("[a, b]", ConfigFormat::kYaml);
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_EQ(spec::CanonicalJson(*yaml), R"(["a","b"])");
  EXPECT_THAT(ParseConfigValue("[a, b]", ConfigFormat::kDetect).status().ToString(),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseConfigValue("a: [", ConfigFormat::kDetect).status().ToString(),
              HasSubstr("not valid YAML"));
}

}  // namespace
}  // namespace infrakit::common
