#include "tests/testing/temp_dir.h"

#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace infrakit::testing {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

TEST(TempDirTest, CreatesAShortPrivateDirectoryAndRemovesItRecursively) {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    EXPECT_EQ(path.rfind("/tmp/ik-", 0), 0u) << path;
    EXPECT_LT(path.size(), 20u);
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    ASSERT_EQ(mkdir(dir.Join("sub").c_str(), 0700), 0);
    std::ofstream(dir.Join("sub/file")) << "x";
    ASSERT_TRUE(Exists(dir.Join("sub/file")));
  }
  EXPECT_FALSE(Exists(path));
}

TEST(TempDirTest, TwoDirectoriesDiffer) {
  TempDir a;
  TempDir b;
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(a.Join("x.sock"), a.path() + "/x.sock");
}

TEST(SortedNamesTest, EveryNameSortedDotFilesIncluded) {
  TempDir dir;
  EXPECT_TRUE(SortedNames(dir.path()).empty());
  std::ofstream(dir.Join("b")) << "x";
  std::ofstream(dir.Join(".hidden")) << "x";
  ASSERT_EQ(mkdir(dir.Join("a").c_str(), 0700), 0);
  EXPECT_EQ(SortedNames(dir.path()), (std::vector<std::string>{".hidden", "a", "b"}));
  EXPECT_TRUE(SortedNames(dir.Join("missing")).empty());
}

}  // namespace
}  // namespace infrakit::testing
