#include "tests/interop/interop_env.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/runfiles.h"

namespace infrakit::interop {
namespace {

// Generous: the machine may be shared; a plugin is usually up within a few milliseconds.
constexpr absl::Duration kStart = absl::Seconds(30);

struct PluginToStart {
  const char* binary;
  const char* name;
};

}  // namespace

bool ClientRun::ok() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }

std::string ClientRun::Describe() const {
  return absl::StrCat("client ", testing::DescribeExit(wait_status), "\n--- stdout:\n", stdout_text,
                      "--- stderr:\n", stderr_text);
}

absl::Status InteropPlugins::Start() {
  for (const std::string& d : {plugins_dir(), instances_dir(), scratch_dir()}) {
    if (mkdir(d.c_str(), 0700) != 0) return absl::InternalError(absl::StrCat("mkdir ", d));
  }
  const std::vector<std::pair<PluginToStart, std::vector<std::string>>> plugins = {
      {{"plugins/instance/file/infrakit-instance-file", "instance-file"},
       {"--dir", instances_dir()}},
      {{"plugins/flavor/vanilla/infrakit-flavor-vanilla", "flavor-vanilla"}, {}},
      {{"services/group/server/infrakit-group", "group"}, {"--state-dir", dir_.Join("state")}},
  };
  for (const auto& [plugin, extra] : plugins) {
    std::vector<std::string> args = {"--plugins-dir", plugins_dir()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process =
        std::make_unique<testing::PluginProcess>(plugin.binary, std::move(args), dir_.path());
    absl::Status started = process->Start();
    if (!started.ok()) return started;
    absl::Status ready =
        process->WaitReady(absl::StrCat(plugins_dir(), "/", plugin.name, ".sock"), kStart);
    if (!ready.ok()) {
      return absl::Status(ready.code(), absl::StrCat(plugin.name, ": ", ready.message()));
    }
    plugins_.push_back(std::move(process));
  }
  return absl::OkStatus();
}

std::vector<std::string> InteropPlugins::Instances() const {
  std::vector<std::string> out;
  for (const std::string& name : testing::SortedNames(instances_dir())) {
    if (name[0] != '.') out.push_back(name);
  }
  return out;
}

absl::StatusOr<ClientRun> InteropPlugins::RunClient(
    const std::string& binary, std::vector<std::string> args,
    std::vector<std::pair<std::string, std::string>> env, absl::Duration deadline) {
  // Each run logs to files of its own.
  const std::string log_dir = dir_.Join(absl::StrCat("client-", ++runs_));
  if (mkdir(log_dir.c_str(), 0700) != 0) return absl::InternalError("mkdir " + log_dir);
  testing::PluginProcess client(binary, std::move(args), log_dir);
  const char* path = std::getenv("PATH");
  client.SetEnv("PATH", absl::StrCat("/usr/bin:/bin", path != nullptr ? ":" : "",
                                     path != nullptr ? path : ""));
  for (auto& [name, value] : env) client.SetEnv(name, value);
  absl::Status started = client.Start();
  if (!started.ok()) return started;
  absl::StatusOr<int> status = client.Wait(deadline);
  if (!status.ok()) {
    client.Kill();
    return absl::DeadlineExceededError(
        absl::StrCat(binary, " did not exit within ", absl::FormatDuration(deadline),
                     "\n--- stdout:\n", client.Stdout(), "--- stderr:\n", client.Stderr()));
  }
  return ClientRun{*status, client.Stdout(), client.Stderr()};
}

std::string ProtoDir() { return testing::RunfilePath("proto"); }

}  // namespace infrakit::interop
