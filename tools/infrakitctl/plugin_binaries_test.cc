#include "tools/infrakitctl/plugin_binaries.h"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "client/start_hint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::tools::infrakitctl {
namespace {

using ::testing::HasSubstr;

void MakeDirs(const std::string& path) {
  std::string prefix;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') mkdir(path.substr(0, i).c_str(), 0700);
  }
}

void MakeFile(const std::string& path, mode_t mode) {
  MakeDirs(path.substr(0, path.rfind('/')));
  std::ofstream(path) << "#!/bin/sh\n";
  chmod(path.c_str(), mode);
}

TEST(BundledPluginsTest, TheOriginalNamesAndOurBinaries) {
  std::vector<std::string> names;
  for (const BundledPlugin& p : BundledPlugins()) names.push_back(p.name);
  EXPECT_THAT(names, ::testing::ElementsAre("group", "instance-file", "flavor-vanilla",
                                            "instance-process", "flavor-zookeeper", "flavor-swarm",
                                            "instance-terraform", "instance-vagrant"));
  ASSERT_NE(FindBundledPlugin("group"), nullptr);
  EXPECT_EQ(FindBundledPlugin("group")->binary, "infrakit-group");
  EXPECT_EQ(FindBundledPlugin("flavor-vanilla")->package, "plugins/flavor/vanilla");
  EXPECT_EQ(FindBundledPlugin("instance-vagrant")->binary, "infrakit-instance-vagrant");
  EXPECT_EQ(FindBundledPlugin("vagrant"), nullptr);
}

// The resolver tells users to run `infrakitctl plugin start NAME` for these names only: each
// must be one the launcher can start, and none may be left out.
TEST(BundledPluginsTest, TheClientsHintsNameTheSamePlugins) {
  std::vector<std::string> names;
  for (const BundledPlugin& p : BundledPlugins()) names.push_back(p.name);
  EXPECT_EQ(names, client::BundledPluginNames());
}

TEST(LocatePluginBinaryTest, PrefersTheBazelOutputTree) {
  infrakit::testing::TempDir dir;
  const std::string self = dir.Join("bin/tools/infrakitctl/infrakitctl");
  MakeFile(self, 0700);
  MakeFile(dir.Join("bin/services/group/server/infrakit-group"), 0700);
  MakeFile(dir.Join("bin/tools/infrakitctl/infrakit-group"), 0700);
  MakeFile(dir.Join("path/infrakit-group"), 0700);
  const BundledPlugin& group = *FindBundledPlugin("group");
  EXPECT_EQ(*LocatePluginBinary(group, self, dir.Join("path")),
            dir.Join("bin/services/group/server/infrakit-group"));
}

TEST(LocatePluginBinaryTest, ThenSideBySideThenPath) {
  infrakit::testing::TempDir dir;
  const BundledPlugin& file = *FindBundledPlugin("instance-file");
  MakeFile(dir.Join("install/infrakitctl"), 0700);
  MakeFile(dir.Join("install/infrakit-instance-file"), 0700);
  EXPECT_EQ(*LocatePluginBinary(file, dir.Join("install/infrakitctl"), ""),
            dir.Join("install/infrakit-instance-file"));

  MakeFile(dir.Join("a/infrakit-instance-file"), 0600);  // not executable: skipped
  MakeFile(dir.Join("b/infrakit-instance-file"), 0700);
  EXPECT_EQ(*LocatePluginBinary(file, dir.Join("elsewhere/infrakitctl"),
                                dir.Join("a") + "::" + dir.Join("b")),
            dir.Join("b/infrakit-instance-file"));
}

TEST(LocatePluginBinaryTest, NotFoundSaysWhereItLookedAndHowToBuild) {
  infrakit::testing::TempDir dir;
  absl::StatusOr<std::string> found =
      LocatePluginBinary(*FindBundledPlugin("flavor-vanilla"),
                         dir.Join("bin/tools/infrakitctl/infrakitctl"), dir.Join("path"));
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(found.status().message(),
              HasSubstr(dir.Join("bin/plugins/flavor/vanilla/infrakit-flavor-vanilla")));
  EXPECT_THAT(found.status().message(), HasSubstr(dir.Join("path/infrakit-flavor-vanilla")));
  EXPECT_THAT(found.status().message(),
              HasSubstr("bazel build //plugins/flavor/vanilla:infrakit-flavor-vanilla"));
}

}  // namespace
}  // namespace infrakit::tools::infrakitctl
