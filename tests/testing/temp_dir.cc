#include "tests/testing/temp_dir.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace infrakit::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/ik-XXXXXX";
  char* dir = mkdtemp(tmpl);
  CHECK(dir != nullptr) << "mkdtemp(/tmp/ik-XXXXXX): " << std::strerror(errno);
  path_ = dir;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  if (ec) LOG(WARNING) << "cannot remove " << path_ << ": " << ec.message();
}

std::string TempDir::Join(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

std::vector<std::string> SortedNames(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace infrakit::testing
