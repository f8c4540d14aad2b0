// Locating the files a test declares in `data = [...]`.
#ifndef INFRAKIT_TESTS_TESTING_RUNFILES_H_
#define INFRAKIT_TESTS_TESTING_RUNFILES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace infrakit::testing {

// The path of a runfile given relative to the workspace root, e.g.
// "plugins/instance/file/infrakit-instance-file" -> "$TEST_SRCDIR/$TEST_WORKSPACE/plugins/...".
// An absolute path is returned unchanged. Outside `bazel test` (no $TEST_SRCDIR) the path is
// returned relative to the current directory. Thread-safe (reads the environment).
std::string RunfilePath(absl::string_view path);

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_TESTING_RUNFILES_H_
