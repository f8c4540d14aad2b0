// docs/config.md against flavor-zookeeper's parser: every property key it accepts is in the
// page's flavor-zookeeper table and every key there is accepted.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "plugins/flavor/zookeeper/zookeeper_properties.h"
#include "tests/testing/doc_keys.h"
#include "tests/testing/runfiles.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

using ::infrakit::testing::KeyTables;

TEST(ZookeeperDocTest, DocumentsEveryPropertyKeyAndNoOther) {
  const std::string path = ::infrakit::testing::RunfilePath("docs/config.md");
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<KeyTables> tables = ::infrakit::testing::DocumentedKeys(text.str());
  ASSERT_TRUE(tables.ok()) << tables.status();
  const KeyTables accepted = {{"", ZookeeperPropertyKeys()}};
  const std::vector<std::string> problems = ::infrakit::testing::CompareKeys(
      ::infrakit::testing::SectionsOf(*tables, "flavor-zookeeper"), accepted);
  EXPECT_TRUE(problems.empty())
      << "docs/config.md and ZookeeperPropertyKeys() differ (the table marked "
         "<!-- keys: flavor-zookeeper -->):\n"
      << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace infrakit::plugins::flavor::zookeeper
