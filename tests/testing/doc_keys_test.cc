#include "tests/testing/doc_keys.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace infrakit::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kDoc[] = R"(# A reference

Text with `NotAKey` outside any table.

<!-- keys: top -->
| key | type | meaning |
|---|---|---|
| `ID` (`id`) | string | the ID |
| `Size` | integer, `>= 0` | the size |

<!-- keys: a.Instance a.Flavor -->

| key | meaning |
|:--|--:|
| `Plugin` or `plugin` | the plugin |

| other | table |
|---|---|
| `Ignored` | not after a marker |
)";

TEST(DocumentedKeysTest, ReadsTheTablesAfterMarkers) {
  absl::StatusOr<KeyTables> tables = DocumentedKeys(kDoc);
  ASSERT_TRUE(tables.ok()) << tables.status();
  EXPECT_EQ(tables->size(), 3u);
  // Only the first cell holds keys.
  EXPECT_THAT(tables->at("top"), ElementsAre("ID", "id", "Size"));
  EXPECT_THAT(tables->at("a.Instance"), ElementsAre("Plugin", "plugin"));
  EXPECT_THAT(tables->at("a.Flavor"), ElementsAre("Plugin", "plugin"));
}

TEST(DocumentedKeysTest, RefusesMarkersThatMarkNothing) {
  EXPECT_EQ(DocumentedKeys("<!-- keys: x -->\ntext\n").status(),
            absl::InvalidArgumentError("line 1: the keys marker is not followed by a table"));
  EXPECT_EQ(DocumentedKeys("\n<!-- keys: -->\n| k |\n|---|\n| `a` |\n").status(),
            absl::InvalidArgumentError("line 2: the keys marker names no section"));
  EXPECT_EQ(DocumentedKeys("<!-- keys: x -->\n| k |\n|---|\n| a |\n").status(),
            absl::InvalidArgumentError("line 4: a key table's row names no `key`"));
  EXPECT_EQ(
      DocumentedKeys("<!-- keys: x -->\n| k |\n|---|\n| `a` |\n\n<!-- keys: x -->\n| k |\n|---|\n"
                     "| `b` |\n")
          .status(),
      absl::InvalidArgumentError("line 6: section \"x\" has two tables"));
}

TEST(SectionsOfTest, RenamesOnesOwnAndLeavesOthersOut) {
  const KeyTables tables = {{"config", {"ID"}},
                            {"config.Properties", {"Size"}},
                            {"configs", {"X"}},
                            {"flavor-vanilla", {"Init"}}};
  EXPECT_EQ(SectionsOf(tables, "config"), (KeyTables{{"", {"ID"}}, {"Properties", {"Size"}}}));
  EXPECT_EQ(SectionsOf(tables, "flavor-vanilla"), (KeyTables{{"", {"Init"}}}));
  EXPECT_THAT(SectionsOf(tables, "instance-file"), IsEmpty());
}

TEST(CompareKeysTest, NamesEveryDifferenceCaseInsensitively) {
  const KeyTables accepted = {{"top", {"ID", "Size"}}, {"Update", {"MaxSurge"}}};
  EXPECT_THAT(CompareKeys({{"top", {"id", "SIZE"}}, {"Update", {"maxSurge"}}}, accepted),
              IsEmpty());
  EXPECT_THAT(CompareKeys({{"top", {"ID", "Sise"}}, {"Extra", {"X"}}}, accepted),
              ElementsAre("Update: accepted but has no key table",
                          "top: Size is accepted but not documented",
                          "Extra: has a key table but is no section of the parser",
                          "top: Sise is documented but not accepted"));
}

}  // namespace
}  // namespace infrakit::testing
