#include "tests/testing/runfiles.h"

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace infrakit::testing {
namespace {

TEST(RunfilesTest, FindsADataFile) {
  std::ifstream in(RunfilePath("tests/testing/testdata/hello.txt"));
  ASSERT_TRUE(in.good()) << RunfilePath("tests/testing/testdata/hello.txt");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "hello runfiles");
}

TEST(RunfilesTest, AbsolutePathUnchanged) { EXPECT_EQ(RunfilePath("/bin/sh"), "/bin/sh"); }

}  // namespace
}  // namespace infrakit::testing
