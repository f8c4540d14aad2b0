#include "plugins/instance/file/instance_index.h"

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::instance::file {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::testing::TempDir;

v1::Description Instance(const std::string& id, const std::string& key = "",
                         std::vector<std::pair<std::string, std::string>> tags = {}) {
  v1::Description d;
  d.set_id(id);
  d.set_state(v1::LIFECYCLE_STATE_RUNNING);
  d.mutable_spec()->set_idempotency_key(key);
  for (const auto& [k, v] : tags) (*d.mutable_tags())[k] = v;
  (*d.mutable_properties()->mutable_fields())["Path"].set_string_value("/x/" + id);
  return d;
}

TEST(InstanceIndexTest, ApplyReportsOnlyRealChanges) {
  InstanceIndex index;
  std::optional<InstanceIndex::Change> added = index.Apply("a", Instance("a"));
  ASSERT_TRUE(added.has_value());
  EXPECT_FALSE(added->before.has_value());
  ASSERT_NE(added->after, nullptr);
  EXPECT_EQ(added->after->id(), "a");

  EXPECT_FALSE(index.Apply("a", Instance("a")).has_value());  // The same: no change.
  EXPECT_FALSE(index.Apply("b", std::nullopt).has_value());   // Unknown, removed: none.

  std::optional<InstanceIndex::Change> changed =
      index.Apply("a", Instance("a", "", {{"color", "blue"}}));
  ASSERT_TRUE(changed.has_value());
  ASSERT_TRUE(changed->before.has_value());
  EXPECT_TRUE(changed->before->tags().empty());
  EXPECT_EQ(changed->after->tags().at("color"), "blue");
  EXPECT_EQ(changed->after, index.All().front());  // Points into the index.

  std::optional<InstanceIndex::Change> removed = index.Apply("a", std::nullopt);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->before->tags().at("color"), "blue");
  EXPECT_EQ(removed->after, nullptr);
  EXPECT_FALSE(index.Contains("a"));
  EXPECT_EQ(index.size(), 0u);
}

TEST(InstanceIndexTest, ReadsAreOrderedByIdAndFiltered) {
  InstanceIndex index;
  index.Apply("c", Instance("c", "", {{"g", "web"}}));
  index.Apply("a", Instance("a", "", {{"g", "web"}, {"x", "y"}}));
  index.Apply("b", Instance("b", "", {{"g", "db"}}));
  EXPECT_EQ(index.Ids(), (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(index.All().size(), 3u);
  EXPECT_EQ(index.All()[1]->id(), "b");
  EXPECT_EQ(index.Find("b")->tags().at("g"), "db");
  EXPECT_FALSE(index.Find("z").has_value());

  TagMap web;
  web["g"] = "web";
  std::vector<v1::Description> plain = index.Matching(web, /*include_properties=*/false);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].id(), "a");
  EXPECT_EQ(plain[1].id(), "c");
  EXPECT_FALSE(plain[0].has_properties());
  EXPECT_FALSE(plain[0].has_spec());
  std::vector<v1::Description> full = index.Matching(TagMap(), /*include_properties=*/true);
  ASSERT_EQ(full.size(), 3u);
  EXPECT_EQ(full[0].properties().fields().at("Path").string_value(), "/x/a");
}

// Pages of the matching instances, in ID order, each holding at most the page size, walk every
// match once, skip the others, and a write between two pages changes only what comes after
// the cursor.
TEST(InstanceIndexTest, MatchingPagesWalkTheMatchesInOrder) {
  InstanceIndex index;
  std::vector<std::string> web;
  for (int i = 0; i < 300; ++i) {
    const std::string id = absl::StrFormat("i-%03d", i);
    const bool is_web = i % 3 != 0;
    index.Apply(id, Instance(id, "", {{"g", is_web ? "web" : "db"}}));
    if (is_web) web.push_back(id);
  }
  TagMap filter;
  filter["g"] = "web";
  const std::string fingerprint = common::PageFingerprint("Test.Describe", {"g", "web"});
  std::vector<std::string> walked;
  std::string token;
  for (int pages = 0; pages < 100; ++pages) {
    absl::StatusOr<common::PageCursor> cursor = common::StartPage(30, token, fingerprint);
    ASSERT_TRUE(cursor.ok()) << cursor.status();
    v1::DescribeResponse page;
    index.MatchingPage(filter, false, *cursor, fingerprint, &page);
    EXPECT_LE(page.instances_size(), 30);
    for (const v1::Description& d : page.instances()) {
      walked.push_back(d.id());
      EXPECT_FALSE(d.has_properties());
    }
    if (pages == 0) {
      // Behind the cursor: not seen; ahead of it: seen.
      index.Apply("i-000a", Instance("i-000a", "", {{"g", "web"}}));
      index.Apply("i-299a", Instance("i-299a", "", {{"g", "web"}}));
      web.push_back("i-299a");
    }
    token = page.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_EQ(walked, web);
}

TEST(InstanceIndexTest, IdempotencyKeysFollowTheEntries) {
  InstanceIndex index;
  EXPECT_FALSE(index.InstanceWithKey("").has_value());
  index.Apply("b", Instance("b", "k1"));
  index.Apply("a", Instance("a", "k1"));  // A copied file: the first by ID answers.
  EXPECT_EQ(index.InstanceWithKey("k1"), "a");
  index.Apply("a", Instance("a", "k2"));  // Its key changed.
  EXPECT_EQ(index.InstanceWithKey("k1"), "b");
  EXPECT_EQ(index.InstanceWithKey("k2"), "a");
  index.Apply("b", std::nullopt);
  EXPECT_FALSE(index.InstanceWithKey("k1").has_value());
  EXPECT_FALSE(index.InstanceWithKey("").has_value());
}

TEST(InstanceIndexTest, AStampTellsWhetherTheFileIsStillTheOneIndexed) {
  TempDir temp;
  const std::string path = temp.Join("stamped");
  std::ofstream(path) << "one";
  InstanceIndex index;
  EXPECT_FALSE(index.Unchanged("a", path));  // No stamp known.
  std::optional<FileStamp> stamp = FileStamp::Of(path);
  ASSERT_TRUE(stamp.has_value());
  index.SetStamp("a", *stamp);
  EXPECT_TRUE(index.Unchanged("a", path));

  std::ofstream(path, std::ios::app) << " and two";  // Rewritten: size and times differ.
  EXPECT_FALSE(index.Unchanged("a", path));
  index.SetStamp("a", *FileStamp::Of(path));
  EXPECT_TRUE(index.Unchanged("a", path));
  index.ForgetStamp("a");
  EXPECT_FALSE(index.Unchanged("a", path));
  index.SetStamp("a", *FileStamp::Of(path));
  index.ForgetStamps();
  EXPECT_FALSE(index.Unchanged("a", path));

  index.SetStamp("a", *FileStamp::Of(path));
  unlink(path.c_str());
  EXPECT_FALSE(index.Unchanged("a", path));  // Gone.
  EXPECT_FALSE(FileStamp::Of(path).has_value());
}

}  // namespace
}  // namespace infrakit::plugins::instance::file
