// Helpers shared by the fuzz targets: aborting on a broken invariant with a readable message.
#ifndef INFRAKIT_TESTS_FUZZ_FUZZ_UTIL_H_
#define INFRAKIT_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <string>

namespace infrakit::tests::fuzz {

// Prints `what` and `detail` and aborts: libFuzzer saves the input that got here as a crash.
[[noreturn]] inline void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace infrakit::tests::fuzz

#endif  // INFRAKIT_TESTS_FUZZ_FUZZ_UTIL_H_
