// docs/config.md against instance-vagrant's parser: every property key it accepts is in the page's
// instance-vagrant table and every key there is accepted.
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "plugins/instance/vagrant/properties.h"
#include "tests/testing/doc_keys.h"
#include "tests/testing/runfiles.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

TEST(VagrantDocTest, DocumentsEveryPropertyKeyAndNoOther) {
  const std::vector<std::string> problems =
      ::infrakit::testing::KeyProblemsIn(::infrakit::testing::RunfilePath("docs/config.md"),
                                         "instance-vagrant", {{"", VagrantPropertyKeys()}});
  EXPECT_TRUE(problems.empty())
      << "docs/config.md and VagrantPropertyKeys() differ (the table marked "
         "<!-- keys: instance-vagrant -->):\n"
      << absl::StrJoin(problems, "\n");
}

}  // namespace
}  // namespace infrakit::plugins::instance::vagrant
