// docs/config.md against flavor-vanilla's parser: every property key it accepts is in the
// page's flavor-vanilla tables and every key there is accepted; the page's example parses.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "plugins/flavor/vanilla/vanilla_properties.h"
#include "tests/testing/doc_keys.h"
#include "tests/testing/runfiles.h"

namespace infrakit::plugins::flavor::vanilla {
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

TEST(VanillaDocTest, DocumentsEveryPropertyKeyAndNoOther) {
  KeyTables accepted;
  for (const PropertySection& section : VanillaPropertyKeys()) {
    accepted[section.path] = section.keys;
  }
  const std::vector<std::string> problems = ::infrakit::testing::KeyProblemsIn(
      ::infrakit::testing::RunfilePath("docs/config.md"), "flavor-vanilla", accepted);
  EXPECT_TRUE(problems.empty())
      << "docs/config.md and VanillaPropertyKeys() differ (section \"\" is the properties "
         "themselves, marked <!-- keys: flavor-vanilla -->):\n"
      << absl::StrJoin(problems, "\n");
}

TEST(VanillaDocTest, TheExampleFlavorSectionParses) {
  // The properties of the page's example "Flavor" section.
  const std::string doc = ReadDoc();
  const std::string start = "\"Plugin\": \"flavor-vanilla\",\n  \"Properties\": ";
  const size_t at = doc.find(start);
  ASSERT_NE(at, std::string::npos) << "no flavor-vanilla example in docs/config.md";
  const size_t begin = at + start.size();
  const size_t end = doc.find("\n  }\n", begin);
  ASSERT_NE(end, std::string::npos);
  const std::string json = doc.substr(begin, end + 4 - begin);
  google::protobuf::Struct properties;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &properties).ok()) << json;
  absl::StatusOr<VanillaProperties> parsed = ParseVanillaProperties(properties);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << json;
  ASSERT_TRUE(parsed->health_check.has_value());
  EXPECT_EQ(parsed->health_check->kind, HealthCheck::Kind::kHttp);
  EXPECT_EQ(parsed->tags.at("tier"), "web");
}

}  // namespace
}  // namespace infrakit::plugins::flavor::vanilla
