#include "common/cow_sorted_map.h"

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace infrakit::common {
namespace {

using Map = CowSortedMap<int>;

std::string Key(int n) { return absl::StrFormat("k%06d", n); }

std::map<std::string, int> Contents(const Map::Snapshot& s) {
  std::map<std::string, int> out;
  std::string last;
  s.ForEach([&](const Map::Entry& e) {
    EXPECT_LT(last, e.key) << "out of order";
    last = e.key;
    out[e.key] = *e.value;
    return true;
  });
  return out;
}

TEST(CowSortedMapTest, SetFindEraseInOrder) {
  Map map;
  EXPECT_EQ(map.Find("a"), nullptr);
  EXPECT_FALSE(map.Erase("a"));
  map.Set("b", std::make_shared<int>(2));
  map.Set("a", std::make_shared<int>(1));
  map.Set("c", std::make_shared<int>(3));
  map.Set("b", std::make_shared<int>(20));
  EXPECT_EQ(map.size(), 3u);
  EXPECT_EQ(*map.Find("b"), 20);
  EXPECT_EQ(Contents(*map.snapshot()), (std::map<std::string, int>{{"a", 1}, {"b", 20}, {"c", 3}}));
  EXPECT_TRUE(map.Erase("a"));
  EXPECT_FALSE(map.Erase("a"));
  EXPECT_EQ(Contents(*map.snapshot()), (std::map<std::string, int>{{"b", 20}, {"c", 3}}));
}

// A snapshot keeps what the map held when it was taken, whatever is written afterwards
// (splits, merges, replacements and removals included), and the map matches a std::map.
TEST(CowSortedMapTest, SnapshotsNeverChangeAndTheMapMatchesAStdMap) {
  Map map;
  std::map<std::string, int> model;
  std::mt19937 random(3);
  std::vector<std::pair<std::shared_ptr<const Map::Snapshot>, std::map<std::string, int>>> kept;
  for (int step = 0; step < 20000; ++step) {
    const int n = static_cast<int>(random() % 3000);
    if (random() % 3 == 0) {
      EXPECT_EQ(map.Erase(Key(n)), model.erase(Key(n)) == 1);
    } else {
      map.Set(Key(n), std::make_shared<int>(step));
      model[Key(n)] = step;
    }
    if (step % 1000 == 0) kept.emplace_back(map.snapshot(), model);
  }
  EXPECT_EQ(map.size(), model.size());
  EXPECT_EQ(Contents(*map.snapshot()), model);
  for (const auto& [snapshot, then] : kept) {
    EXPECT_EQ(snapshot->size(), then.size());
    EXPECT_EQ(Contents(*snapshot), then);
  }
  // Everything removed: empty, and usable again.
  for (const auto& [key, value] : model) EXPECT_TRUE(map.Erase(key));
  EXPECT_EQ(map.size(), 0u);
  EXPECT_TRUE(map.snapshot()->empty());
  map.Set("x", std::make_shared<int>(1));
  EXPECT_EQ(map.size(), 1u);
}

TEST(CowSortedMapTest, ForEachAfterStartsAboveTheKeyAndStopsWhenAsked) {
  Map map;
  for (int i = 0; i < 1000; i += 2) map.Set(Key(i), std::make_shared<int>(i));
  auto snapshot = map.snapshot();
  std::vector<int> seen;
  snapshot->ForEachAfter(Key(500), [&](const Map::Entry& e) {
    seen.push_back(*e.value);
    return seen.size() < 3;
  });
  EXPECT_EQ(seen, (std::vector<int>{502, 504, 506}));
  seen.clear();
  snapshot->ForEachAfter(Key(501), [&](const Map::Entry& e) {  // absent key
    seen.push_back(*e.value);
    return seen.size() < 1;
  });
  EXPECT_EQ(seen, (std::vector<int>{502}));
  seen.clear();
  snapshot->ForEachAfter(Key(998), [&](const Map::Entry& e) {
    seen.push_back(*e.value);
    return true;
  });
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(*snapshot->Find(Key(998)), 998);
  EXPECT_EQ(snapshot->Find(Key(999)), nullptr);
}

}  // namespace
}  // namespace infrakit::common
