// docs/config.md against flavor-swarm's parser: every property key it accepts is in the page's
// flavor-swarm table and every key there is accepted.
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "plugins/flavor/swarm/swarm_properties.h"
#include "tests/testing/doc_keys.h"
#include "tests/testing/runfiles.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

TEST(SwarmDocTest, DocumentsEveryPropertyKeyAndNoOther) {
  const std::vector<std::string> problems =
      ::infrakit::testing::KeyProblemsIn(::infrakit::testing::RunfilePath("docs/config.md"),
                                         "flavor-swarm", {{"", SwarmPropertyKeys()}});
  EXPECT_TRUE(problems.empty())
      << "docs/config.md and SwarmPropertyKeys() differ (the table marked "
         "<!-- keys: flavor-swarm -->):\n"
      << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace infrakit::plugins::flavor::swarm
