// A scratch directory for one test, short enough for unix socket paths (< 108 bytes), which is
// why it lives under /tmp and not under $TEST_TMPDIR.
#ifndef INFRAKIT_TESTS_TESTING_TEMP_DIR_H_
#define INFRAKIT_TESTS_TESTING_TEMP_DIR_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace infrakit::testing {

// Creates a fresh directory with mkdtemp("/tmp/ik-XXXXXX") (mode 0700) and removes it, with
// everything in it, when destroyed. Aborts the test binary if the directory cannot be created
// (there is no test to run without it). Not copyable or movable. Thread-compatible.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The directory, e.g. "/tmp/ik-a1B2c3" (no trailing slash).
  const std::string& path() const { return path_; }

  // path() + "/" + name.
  std::string Join(absl::string_view name) const;

 private:
  std::string path_;
};

// Every name in directory `dir` (dot files included, not "." and ".."), sorted; empty when it
// cannot be listed.
std::vector<std::string> SortedNames(const std::string& dir);

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_TESTING_TEMP_DIR_H_
