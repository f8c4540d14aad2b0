// docs/config.md against instance-vagrant's parser: every property key it accepts is in the page's
// instance-vagrant table and every key there is accepted.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "plugins/instance/vagrant/properties.h"
#include "tests/testing/doc_keys.h"
#include "tests/testing/runfiles.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

using ::infrakit::testing::KeyTables;

TEST(VagrantDocTest, DocumentsEveryPropertyKeyAndNoOther) {
  const std::string path = ::infrakit::testing::RunfilePath("docs/config.md");
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<KeyTables> tables = ::infrakit::testing::DocumentedKeys(text.str());
  ASSERT_TRUE(tables.ok()) << tables.status();
  const KeyTables accepted = {{"", VagrantPropertyKeys()}};
  const std::vector<std::string> problems = ::infrakit::testing::CompareKeys(
      ::infrakit::testing::SectionsOf(*tables, "instance-vagrant"), accepted);
  EXPECT_TRUE(problems.empty())
      << "docs/config.md and VagrantPropertyKeys() differ (the table marked "
         "<!-- keys: instance-vagrant -->):\n"
      << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace infrakit::plugins::instance::vagrant
