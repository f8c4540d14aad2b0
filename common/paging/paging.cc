#include "common/paging/paging.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace infrakit::common {
namespace {

// A token is the web-safe base64 (no padding) of "v1:<fingerprint>:<checksum>:<last key>",
// fingerprint and checksum each 16 hex digits; the checksum covers everything before it and
// the key. The version prefix leaves room for another layout later.
constexpr absl::string_view kTokenVersion = "v1";

// FNV-1a, 64 bits: stable across processes, builds and restarts (unlike absl::Hash), which a
// token kept by a client needs. Not a MAC: it catches edits, not forgeries, and a forged token
// could only name another position in the same list.
uint64_t Fnv1a(absl::string_view data, uint64_t hash = 0xcbf29ce484222325ULL) {
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string Hex64(uint64_t value) { return absl::StrFormat("%016x", value); }

std::string Checksum(absl::string_view fingerprint, absl::string_view last_key) {
  return Hex64(Fnv1a(last_key, Fnv1a(absl::StrCat(kTokenVersion, ":", fingerprint, ":"))));
}

absl::Status BadToken(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("page_token: ", why,
                   "; pass the next_page_token of the previous page unchanged, or "
                   "omit page_token to start from the first page"));
}

}  // namespace

std::string PageFingerprint(absl::string_view method, const std::vector<std::string>& parts) {
  std::string data = absl::StrCat(method.size(), ":", method);
  for (const std::string& part : parts) absl::StrAppend(&data, ";", part.size(), ":", part);
  return Hex64(Fnv1a(data));
}

std::string EncodePageToken(absl::string_view fingerprint, absl::string_view last_key) {
  return absl::WebSafeBase64Escape(absl::StrCat(kTokenVersion, ":", fingerprint, ":",
                                                Checksum(fingerprint, last_key), ":", last_key));
}

absl::StatusOr<PageCursor> StartPage(int32_t page_size, absl::string_view page_token,
                                     absl::string_view fingerprint, const PageLimits& limits) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: must be >= 0, got ", page_size));
  }
  PageCursor cursor;
  cursor.size = page_size == 0 ? limits.default_size : std::min<int>(page_size, limits.max_size);
  if (page_token.empty()) return cursor;
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(page_token, &decoded)) {
    return BadToken("not a page token of this service");
  }
  // The key comes last and may hold ':' itself.
  std::vector<absl::string_view> fields = absl::StrSplit(decoded, absl::MaxSplits(':', 3));
  if (fields.size() != 4 || fields[0] != kTokenVersion || fields[3].empty() ||
      fields[2] != Checksum(fields[1], fields[3])) {
    return BadToken("not a page token of this service, or altered");
  }
  if (fields[1] != fingerprint) {
    return BadToken(
        "issued for a request with other filters (every field but page_size and page_token "
        "must stay the same from page to page)");
  }
  cursor.after_key = std::string(fields[3]);
  return cursor;
}

}  // namespace infrakit::common
