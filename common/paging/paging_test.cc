#include "common/paging/paging.h"

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::common {
namespace {

using ::infrakit::instance::v1::Description;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Items = google::protobuf::RepeatedPtrField<Description>;

const std::string kFingerprint = PageFingerprint("Test.List", {"tag=a"});

auto Key = [](const Description& d) -> const std::string& { return d.id(); };

std::string Id(int n) { return absl::StrFormat("instance-%05d", n); }

// The items with these IDs, in the given order.
Items Make(const std::vector<std::string>& ids) {
  Items items;
  for (const std::string& id : ids) items.Add()->set_id(id);
  return items;
}

std::vector<std::string> Ids(const Items& items) {
  std::vector<std::string> ids;
  for (const Description& d : items) ids.push_back(d.id());
  return ids;
}

// One page of `ids` (in any order) after `token`; fails the test on an error.
Items Page(const std::vector<std::string>& ids, int32_t size, const std::string& token,
           std::string* next, const PageLimits& limits = kDefaultPageLimits) {
  absl::StatusOr<PageCursor> cursor = StartPage(size, token, kFingerprint, limits);
  EXPECT_TRUE(cursor.ok()) << cursor.status();
  Items items = Make(ids);
  *next = TakePage(&items, Key, cursor.value_or(PageCursor()), kFingerprint, limits);
  return items;
}

TEST(PagingTest, PagesInKeyOrderWhateverTheInputOrderAndEndWithAnEmptyToken) {
  std::vector<std::string> ids = {Id(3), Id(1), Id(5), Id(2), Id(4)};
  std::string next;
  Items first = Page(ids, 2, "", &next);
  EXPECT_THAT(Ids(first), ElementsAre(Id(1), Id(2)));
  ASSERT_FALSE(next.empty());
  Items second = Page(ids, 2, next, &next);
  EXPECT_THAT(Ids(second), ElementsAre(Id(3), Id(4)));
  Items last = Page(ids, 2, next, &next);
  EXPECT_THAT(Ids(last), ElementsAre(Id(5)));
  EXPECT_EQ(next, "");
}

// FindPage over a sorted vector (what a snapshot pages with) walks the same pages as TakePage
// over the same items, with tokens either accepts, and a page stops at the byte limit the same.
TEST(PagingTest, FindPageOverASortedListWalksTheSamePagesAsTakePage) {
  std::vector<std::string> sorted;
  for (int i = 1; i <= 23; ++i) sorted.push_back(Id(i));
  PageLimits limits;
  limits.max_bytes = 5 * (Make({Id(1)}).Get(0).ByteSizeLong() + 6);
  for (int32_t size : {1, 4, 10}) {
    std::string find_token, take_token;
    std::vector<std::string> walked;
    for (int pages = 0; pages < 30; ++pages) {
      absl::StatusOr<PageCursor> cursor = StartPage(size, find_token, kFingerprint, limits);
      ASSERT_TRUE(cursor.ok()) << cursor.status();
      const PageSpan span = FindPage(
          static_cast<int>(sorted.size()), [&](int i) -> const std::string& { return sorted[i]; },
          [&](int i) { return Make({sorted[i]}).Get(0).ByteSizeLong(); }, *cursor, kFingerprint,
          limits);
      std::string next;
      Items taken = Page(sorted, size, take_token, &next, limits);
      ASSERT_EQ(Ids(taken),
                std::vector<std::string>(sorted.begin() + span.begin, sorted.begin() + span.end));
      EXPECT_LE(span.end - span.begin, std::min(size, 5));
      walked.insert(walked.end(), sorted.begin() + span.begin, sorted.begin() + span.end);
      EXPECT_EQ(span.next_page_token, next);
      find_token = span.next_page_token;
      take_token = next;
      if (find_token.empty()) break;
    }
    EXPECT_EQ(walked, sorted) << "page size " << size;
  }
}

// PageBuilder, offered the items after the cursor, takes the same pages as TakePage.
TEST(PagingTest, PageBuilderTakesTheSamePagesAsTakePage) {
  std::vector<std::string> sorted;
  for (int i = 1; i <= 23; ++i) sorted.push_back(Id(i));
  PageLimits limits;
  limits.max_bytes = 5 * (Make({Id(1)}).Get(0).ByteSizeLong() + 6);
  for (int32_t size : {1, 4, 10}) {
    std::string token;
    std::vector<std::string> walked;
    for (int pages = 0; pages < 30; ++pages) {
      absl::StatusOr<PageCursor> cursor = StartPage(size, token, kFingerprint, limits);
      ASSERT_TRUE(cursor.ok()) << cursor.status();
      PageBuilder builder(*cursor, kFingerprint, limits);
      std::vector<std::string> page;
      for (const std::string& id : sorted) {
        if (!cursor->after_key.empty() && id <= cursor->after_key) continue;
        if (!builder.Offer(id, Make({id}).Get(0).ByteSizeLong())) break;
        page.push_back(id);
      }
      std::string next;
      Items taken = Page(sorted, size, token, &next, limits);
      ASSERT_EQ(Ids(taken), page);
      EXPECT_EQ(builder.next_page_token(), next);
      walked.insert(walked.end(), page.begin(), page.end());
      token = next;
      if (token.empty()) break;
    }
    EXPECT_EQ(walked, sorted) << "page size " << size;
  }
}

TEST(PagingTest, AnExactMultipleEndsOnTheLastItemWithoutAnEmptyPage) {
  std::string next;
  Items page = Page({Id(1), Id(2)}, 2, "", &next);
  EXPECT_THAT(Ids(page), ElementsAre(Id(1), Id(2)));
  EXPECT_EQ(next, "");
  Items none = Page({}, 0, "", &next);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(next, "");
}

TEST(PagingTest, PageSizeZeroIsTheDefaultAboveTheMaximumIsTheMaximumNegativeIsRefused) {
  PageLimits limits;
  limits.default_size = 3;
  limits.max_size = 5;
  EXPECT_EQ(StartPage(0, "", kFingerprint, limits)->size, 3);
  EXPECT_EQ(StartPage(4, "", kFingerprint, limits)->size, 4);
  EXPECT_EQ(StartPage(1000, "", kFingerprint, limits)->size, 5);
  absl::StatusOr<PageCursor> negative = StartPage(-1, "", kFingerprint, limits);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.status().message(), HasSubstr("page_size: must be >= 0, got -1"));
}

TEST(PagingTest, APageStopsBeforeTheByteLimitButAlwaysHoldsOneItem) {
  PageLimits limits;
  limits.max_bytes = 2500;
  Items items;
  for (int i = 0; i < 5; ++i) {
    Description* d = items.Add();
    d->set_id(Id(i));
    d->mutable_spec()->set_init(std::string(1000, 'x'));
  }
  absl::StatusOr<PageCursor> cursor = StartPage(0, "", kFingerprint, limits);
  ASSERT_TRUE(cursor.ok());
  std::string next = TakePage(&items, Key, *cursor, kFingerprint, limits);
  EXPECT_THAT(Ids(items), ElementsAre(Id(0), Id(1)));
  EXPECT_FALSE(next.empty());

  limits.max_bytes = 10;  // Smaller than any item: one per page, never an empty page.
  Items big = Make({Id(1), Id(2)});
  big.Mutable(0)->mutable_spec()->set_init(std::string(100, 'x'));
  next = TakePage(&big, Key, *cursor, kFingerprint, limits);
  EXPECT_THAT(Ids(big), ElementsAre(Id(1)));
  EXPECT_FALSE(next.empty());
}

TEST(PagingTest, ATokenFromOtherFiltersOrAnotherMethodIsRefused) {
  std::string next;
  Page({Id(1), Id(2)}, 1, "", &next);
  for (const std::string& other :
       {PageFingerprint("Test.List", {"tag=b"}), PageFingerprint("Test.Other", {"tag=a"}),
        PageFingerprint("Test.List", {"tag=", "a"}), PageFingerprint("Test.List", {})}) {
    absl::StatusOr<PageCursor> cursor = StartPage(1, next, other);
    EXPECT_EQ(cursor.status().code(), absl::StatusCode::kInvalidArgument) << other;
    EXPECT_THAT(cursor.status().message(), HasSubstr("other filters"));
  }
}

TEST(PagingTest, AnAlteredOrForeignTokenIsRefused) {
  std::string next;
  Page({Id(1), Id(2)}, 1, "", &next);
  std::string decoded;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(next, &decoded));
  std::string moved = decoded;
  moved.back() = '2';  // Another last key, checksum unchanged.
  std::vector<std::string> bad = {
      "not base64!", absl::WebSafeBase64Escape("v1:abc"), absl::WebSafeBase64Escape(moved),
      absl::WebSafeBase64Escape(absl::StrCat("v2", decoded.substr(2))), "x" + next};
  for (int i = 0; i < static_cast<int>(next.size()); i += 7) {
    std::string flipped = next;
    flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
    bad.push_back(flipped);
  }
  for (const std::string& token : bad) {
    absl::StatusOr<PageCursor> cursor = StartPage(1, token, kFingerprint);
    EXPECT_EQ(cursor.status().code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_THAT(cursor.status().message(), HasSubstr("page_token: "));
  }
}

TEST(PagingTest, KeysWithColonsAndAnyBytesRoundTrip) {
  const std::string key = std::string("a:b:\0c\xff", 7);
  absl::StatusOr<PageCursor> cursor =
      StartPage(1, EncodePageToken(kFingerprint, key), kFingerprint);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ(cursor->after_key, key);
}

// Between pages, random items are inserted and removed (some behind the cursor, some ahead).
// Every item that exists from the first page to the last is returned exactly once, and no item
// is ever returned twice.
TEST(PagingTest, ConcurrentInsertsAndRemovalsNeverDuplicateNorSkipAnItemThatStayed) {
  std::mt19937 random(1234);
  for (int round = 0; round < 50; ++round) {
    std::set<std::string> live;
    for (int i = 0; i < 200; ++i) live.insert(Id(static_cast<int>(random() % 1000)));
    std::set<std::string> stayed = live;  // Those never removed.
    std::vector<std::string> seen;
    std::string token;
    bool first = true;
    while (first || !token.empty()) {
      first = false;
      std::vector<std::string> ids(live.begin(), live.end());
      std::shuffle(ids.begin(), ids.end(), random);
      Items page = Page(ids, 1 + static_cast<int32_t>(random() % 20), token, &token);
      for (const Description& d : page) seen.push_back(d.id());
      for (int change = 0; change < 5; ++change) {
        const std::string id = Id(static_cast<int>(random() % 1000));
        if (random() % 2 == 0) {
          live.insert(id);
        } else if (live.erase(id) > 0) {
          stayed.erase(id);
        }
      }
    }
    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size()) << "an item was returned twice";
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    for (const std::string& id : stayed) EXPECT_EQ(unique.count(id), 1u) << id << " skipped";
  }
}

}  // namespace
}  // namespace infrakit::common
