// docs/config.md against flavor-zookeeper's parser: every property key it accepts is in the page's
// flavor-zookeeper table and every key there is accepted.
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "plugins/flavor/zookeeper/zookeeper_properties.h"
#include "tests/testing/doc_keys.h"
#include "tests/testing/runfiles.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

TEST(ZookeeperDocTest, DocumentsEveryPropertyKeyAndNoOther) {
  const std::vector<std::string> problems =
      ::infrakit::testing::KeyProblemsIn(::infrakit::testing::RunfilePath("docs/config.md"),
                                         "flavor-zookeeper", {{"", ZookeeperPropertyKeys()}});
  EXPECT_TRUE(problems.empty())
      << "docs/config.md and ZookeeperPropertyKeys() differ (the table marked "
         "<!-- keys: flavor-zookeeper -->):\n"
      << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace infrakit::plugins::flavor::zookeeper
