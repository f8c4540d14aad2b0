#include "tools/version/version_info.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace infrakit::tools::version {
namespace {

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

// The workspace is a git checkout and .bazelrc stamps, so the real revision must be there.
TEST(VersionInfoTest, RevisionIsAFullGitHash) {
  EXPECT_EQ(Revision().size(), 40u) << Revision();
  EXPECT_TRUE(IsHex(Revision())) << Revision();
}

TEST(VersionInfoTest, VersionIsTheShortRevisionWithOptionalModifiedMark) {
  absl::string_view v = Version();
  if (absl::EndsWith(v, ".m")) v.remove_suffix(2);
  ASSERT_GE(v.size(), 7u) << Version();
  EXPECT_TRUE(absl::StartsWith(Revision(), v)) << Version() << " vs " << Revision();
}

}  // namespace
}  // namespace infrakit::tools::version
