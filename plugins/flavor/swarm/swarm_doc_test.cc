// docs/config.md against flavor-swarm's parser: every property key it accepts is in the page's
// flavor-swarm table and every key there is accepted.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "plugins/flavor/swarm/swarm_properties.h"
#include "tests/testing/doc_keys.h"
#include "tests/testing/runfiles.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

using ::infrakit::testing::KeyTables;

TEST(SwarmDocTest, DocumentsEveryPropertyKeyAndNoOther) {
  const std::string path = ::infrakit::testing::RunfilePath("docs/config.md");
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<KeyTables> tables = ::infrakit::testing::DocumentedKeys(text.str());
  ASSERT_TRUE(tables.ok()) << tables.status();
  const KeyTables accepted = {{"", SwarmPropertyKeys()}};
  const std::vector<std::string> problems = ::infrakit::testing::CompareKeys(
      ::infrakit::testing::SectionsOf(*tables, "flavor-swarm"), accepted);
  EXPECT_TRUE(problems.empty())
      << "docs/config.md and SwarmPropertyKeys() differ (the table marked "
         "<!-- keys: flavor-swarm -->):\n"
      << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace infrakit::plugins::flavor::swarm
