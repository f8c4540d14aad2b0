#include "tests/e2e/tutorial/tutorial_env.h"

#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testing/runfiles.h"

namespace infrakit::tests::e2e::tutorial {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Example(const std::string& name) {
  return ReadFile(infrakit::testing::RunfilePath("examples/tutorial/" + name));
}

size_t Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return lines.size();
}

void TutorialEnv::SetUp() {
  ASSERT_EQ(mkdir(plugins_dir().c_str(), 0700), 0);
  ASSERT_NO_FATAL_FAILURE(Start(kGroupBinary, "group", {"--state-dir", dir_.Join("state")}));
  ASSERT_NO_FATAL_FAILURE(Start(kFileBinary, "instance-file", {"--dir", instances_dir()}));
  ASSERT_NO_FATAL_FAILURE(Start(kVanillaBinary, "flavor-vanilla", {}));
}

void TutorialEnv::Start(const std::string& binary, const std::string& name,
                        std::vector<std::string> args) {
  args.insert(args.begin(), {"--plugins-dir", plugins_dir()});
  auto process =
      std::make_unique<infrakit::testing::PluginProcess>(binary, std::move(args), dir_.path());
  process->SetEnv("INFRAKIT_HOME", dir_.Join("home"));
  ASSERT_TRUE(process->Start().ok());
  absl::Status ready = process->WaitReady(socket(name), kWait);
  ASSERT_TRUE(ready.ok()) << ready << "\n" << process->Stderr();
  plugins_[name] = std::move(process);
}

infrakit::testing::PluginProcess* TutorialEnv::plugin(const std::string& name) {
  auto it = plugins_.find(name);
  return it == plugins_.end() ? nullptr : it->second.get();
}

CommandResult TutorialEnv::Ctl(const std::vector<std::string>& args, const std::string& input) {
  absl::StatusOr<CommandResult> result = RunCommand(
      kCtl, args, input,
      {{"INFRAKIT_PLUGINS_DIR", plugins_dir()}, {"INFRAKIT_HOME", dir_.Join("home")}}, kWait);
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return CommandResult{-1, "", std::string(result.status().message())};
  return *result;
}

std::map<std::string, InstanceFile> TutorialEnv::Instances() const {
  std::map<std::string, InstanceFile> out;
  DIR* d = opendir(instances_dir().c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    google::protobuf::Struct json;
    if (!google::protobuf::util::JsonStringToMessage(ReadFile(instances_dir() + "/" + name), &json)
             .ok()) {
      continue;
    }
    InstanceFile f;
    const auto& top = json.fields();
    if (auto tags = top.find("Tags"); tags != top.end()) {
      for (const auto& [k, v] : tags->second.struct_value().fields()) f.tags[k] = v.string_value();
    }
    if (auto spec = top.find("Spec"); spec != top.end()) {
      const auto& s = spec->second.struct_value().fields();
      if (auto init = s.find("Init"); init != s.end()) f.init = init->second.string_value();
      if (auto props = s.find("Properties"); props != s.end()) {
        const auto& p = props->second.struct_value().fields();
        if (auto note = p.find("Note"); note != p.end()) f.note = note->second.string_value();
        if (auto cpu = p.find("cpu"); cpu != p.end()) f.cpu = cpu->second.number_value();
      }
    }
    out.emplace(name, std::move(f));
  }
  closedir(d);
  return out;
}

}  // namespace infrakit::tests::e2e::tutorial
