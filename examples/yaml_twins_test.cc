// Each YAML example (NAME.yaml) against its JSON twin (NAME.json, or NAME.conf for the
// tutorial's ZooKeeper configs): the same spec, the same config_sha, the same group plugin.
#include <dirent.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/config/group_config.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "spec/group_spec.h"
#include "tests/testing/runfiles.h"

namespace infrakit {
namespace {

using ::infrakit::testing::RunfilePath;

constexpr const char* kExampleDirs[] = {"examples/swarm", "examples/tutorial", "examples/vagrant",
                                        "examples/webservers", "examples/zookeeper"};

// The .yaml / .yml files of `dir`, sorted.
std::vector<std::string> YamlFiles(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml")) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string TwinOf(const std::string& dir, const std::string& yaml_name) {
  const std::string stem = yaml_name.substr(0, yaml_name.rfind('.'));
  for (const char* extension : {".json", ".conf"}) {
    const std::string path = absl::StrCat(dir, "/", stem, extension);
    if (access(path.c_str(), R_OK) == 0) return path;
  }
  return "";
}

TEST(YamlTwinsTest, EachYamlExampleIsItsJsonTwin) {
  int twins = 0;
  for (const char* relative : kExampleDirs) {
    const std::string dir = RunfilePath(relative);
    for (const std::string& name : YamlFiles(dir)) {
      SCOPED_TRACE(absl::StrCat(relative, "/", name));
      const std::string twin = TwinOf(dir, name);
      ASSERT_FALSE(twin.empty()) << "no .json or .conf twin";
      auto yaml = client::config::ParseConfigFile(absl::StrCat(dir, "/", name));
      auto json = client::config::ParseConfigFile(twin);
      ASSERT_TRUE(yaml.ok()) << yaml.status();
      ASSERT_TRUE(json.ok()) << json.status();
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(yaml->spec, json->spec))
          << "YAML:\n"
          << client::config::ToJson(*yaml) << "JSON:\n"
          << client::config::ToJson(*json);
      EXPECT_EQ(spec::ConfigSha(yaml->spec), spec::ConfigSha(json->spec));
      EXPECT_EQ(yaml->group_plugin, json->group_plugin);
      ++twins;
    }
  }
  // The tutorial's six, ZooKeeper's and the web servers'.
  EXPECT_GE(twins, 8);
}

}  // namespace
}  // namespace infrakit
