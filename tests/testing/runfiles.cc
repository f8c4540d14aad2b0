#include "tests/testing/runfiles.h"

#include <stdlib.h>

#include "absl/strings/str_cat.h"

namespace infrakit::testing {

std::string RunfilePath(absl::string_view path) {
  if (!path.empty() && path.front() == '/') return std::string(path);
  const char* srcdir = getenv("TEST_SRCDIR");
  if (srcdir == nullptr || *srcdir == '\0') return std::string(path);
  const char* workspace = getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir, "/", workspace != nullptr ? workspace : "infrakit", "/", path);
}

}  // namespace infrakit::testing
