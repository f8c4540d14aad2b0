// AIP-158 pagination of a list that is sorted by a unique string key (an instance ID, a group
// ID): the page size rules, the opaque page token, and cutting one page out of the full list.
//
// A page token encodes the key of the last item the previous page returned, so the next page
// starts at the first key above it. Items that exist from the first page to the last are thus
// returned exactly once whatever is inserted or removed in between; an item inserted behind the
// cursor is not returned, one inserted ahead of it is. The token also carries a fingerprint of
// the request's other fields (its filters), so a token used with other filters is refused, and
// a checksum, so a token that was edited by hand is refused too. Tokens do not expire and
// survive a server restart.
//
// Plain C++: callers are the gRPC adapters (plugins/instance/instance_service,
// services/group/server/group_service), which page the full answers of their cores.
#ifndef INFRAKIT_COMMON_PAGING_PAGING_H_
#define INFRAKIT_COMMON_PAGING_PAGING_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace infrakit::common {

// How big the pages of one list may be.
struct PageLimits {
  // Items in a page when the request's page_size is 0.
  int default_size = 500;
  // The most items in a page; a larger page_size is lowered to it.
  int max_size = 2000;
  // The most bytes (the items' encoded sizes) in a page: a page stops before the item that
  // would take it past this, so that it fits a client's default 4 MiB receive limit whatever
  // the items' properties weigh. A page always holds at least one item, even a bigger one.
  size_t max_bytes = 3584 * 1024;
};

// The limits of every paged list of InfraKit's services (Describe, ListGroups, InspectGroup):
// 500 items by default, at most 2,000, at most 3.5 MiB.
inline constexpr PageLimits kDefaultPageLimits{};

// Where one page starts, from a request's page_size and page_token.
struct PageCursor {
  // How many items the page may hold (page_size, its default or its maximum).
  int size = 0;
  // The key of the last item of the previous page; empty for the first page.
  std::string after_key;
};

// A fingerprint of a request's filters (every field but page_size and page_token), naming the
// method, so that a token is only accepted by the same method with the same filters. `parts` are
// length-prefixed, so {"ab", "c"} and {"a", "bc"} differ. Sort map entries before passing them.
std::string PageFingerprint(absl::string_view method, const std::vector<std::string>& parts);

// The opaque token of the page after the item whose key is `last_key`.
std::string EncodePageToken(absl::string_view fingerprint, absl::string_view last_key);

// Checks a request's page_size and page_token and says where its page starts. Errors
// (INVALID_ARGUMENT): "page_size: must be >= 0, got -1"; "page_token: ..." for a token this
// server did not issue, one that was altered, or one issued for a request with other filters.
absl::StatusOr<PageCursor> StartPage(int32_t page_size, absl::string_view page_token,
                                     absl::string_view fingerprint,
                                     const PageLimits& limits = kDefaultPageLimits);

// Where the page `cursor` designates lies in a list of `count` items sorted by unique key, read
// through `key_at(i)` (a string_view or a string) and `bytes_at(i)` (the item's encoded size):
// items [begin, end), and the next page's token, empty when the page holds the last item.
// O(log count + page): what a server holding its list sorted (an immutable snapshot) pages
// with, copying nothing but the page.
struct PageSpan {
  int begin = 0;
  int end = 0;
  std::string next_page_token;
};
template <typename KeyAt, typename BytesAt>
PageSpan FindPage(int count, KeyAt key_at, BytesAt bytes_at, const PageCursor& cursor,
                  absl::string_view fingerprint, const PageLimits& limits = kDefaultPageLimits) {
  PageSpan span;
  if (!cursor.after_key.empty()) {
    // The first item whose key is above after_key.
    int low = 0, high = count;
    while (low < high) {
      const int mid = low + (high - low) / 2;
      if (absl::string_view(key_at(mid)) <= absl::string_view(cursor.after_key)) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    span.begin = low;
  }
  span.end = span.begin;
  size_t bytes = 0;
  while (span.end < count && span.end - span.begin < cursor.size) {
    // The item's bytes plus its field tag and length prefix in the response.
    const size_t item_bytes = static_cast<size_t>(bytes_at(span.end)) + 6;
    if (span.end > span.begin && bytes + item_bytes > limits.max_bytes) break;
    bytes += item_bytes;
    ++span.end;
  }
  if (span.end < count) span.next_page_token = EncodePageToken(fingerprint, key_at(span.end - 1));
  return span;
}

// Builds the page `cursor` designates from items offered in key order, starting with the first
// key above cursor.after_key (e.g. a CowSortedMap snapshot's ForEachAfter): what a server
// paging a sorted structure uses, so that a page costs O(page), not O(list).
class PageBuilder {
 public:
  PageBuilder(const PageCursor& cursor, absl::string_view fingerprint,
              const PageLimits& limits = kDefaultPageLimits)
      : size_(cursor.size), fingerprint_(fingerprint), max_bytes_(limits.max_bytes) {}

  // Offers the next item (its key and encoded size): true when it belongs to the page (the
  // caller adds it), false when the page is full (the caller stops: the page has a next one).
  bool Offer(absl::string_view key, size_t bytes) {
    const size_t item_bytes = bytes + 6;  // plus its field tag and length prefix
    if (taken_ >= size_ || (taken_ > 0 && bytes_ + item_bytes > max_bytes_)) {
      full_ = true;
      return false;
    }
    ++taken_;
    bytes_ += item_bytes;
    last_key_.assign(key.data(), key.size());
    return true;
  }

  // The next page's token: empty unless an item was refused.
  std::string next_page_token() const {
    return full_ ? EncodePageToken(fingerprint_, last_key_) : std::string();
  }

 private:
  const int size_;
  const std::string fingerprint_;
  const size_t max_bytes_;
  int taken_ = 0;
  size_t bytes_ = 0;
  bool full_ = false;
  std::string last_key_;
};

// Cuts the page `cursor` designates out of `items`, a full list with unique keys (`key(item)`
// returns a key as a string_view or a string): sorts it by key unless it is sorted already,
// drops the items up to cursor.after_key and those beyond the page, and returns the next page's
// token, empty when the page holds the last item.
template <typename T, typename KeyFn>
std::string TakePage(google::protobuf::RepeatedPtrField<T>* items, KeyFn key,
                     const PageCursor& cursor, absl::string_view fingerprint,
                     const PageLimits& limits = kDefaultPageLimits) {
  auto less = [&key](const T& a, const T& b) {
    return absl::string_view(key(a)) < absl::string_view(key(b));
  };
  if (!std::is_sorted(items->begin(), items->end(), less)) {
    // Sorting the pointers moves no message.
    std::sort(items->pointer_begin(), items->pointer_end(),
              [&less](const T* a, const T* b) { return less(*a, *b); });
  }
  PageSpan span = FindPage(
      items->size(), [&](int i) { return absl::string_view(key(items->Get(i))); },
      [&](int i) { return items->Get(i).ByteSizeLong(); }, cursor, fingerprint, limits);
  items->DeleteSubrange(span.end, items->size() - span.end);
  items->DeleteSubrange(0, span.begin);
  return std::move(span.next_page_token);
}

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_PAGING_PAGING_H_
