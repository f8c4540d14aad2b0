#include "tests/conformance/running_plugin.h"

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace infrakit::tests::conformance {

absl::StatusOr<std::unique_ptr<RunningPlugin>> RunningPlugin::Start(const PluginLaunch& launch) {
  std::unique_ptr<RunningPlugin> plugin(new RunningPlugin());
  std::error_code error;
  std::filesystem::create_directories(plugin->scratch(), error);
  if (error) return absl::InternalError(absl::StrCat("creating scratch: ", error.message()));
  const std::string plugins_dir = plugin->dir_.Join("plugins");
  std::vector<std::string> args = {"--plugins-dir", plugins_dir, "--name", launch.plugin_name};
  if (launch.args) {
    for (std::string& a : launch.args(plugin->scratch())) args.push_back(std::move(a));
  }
  plugin->process_ =
      std::make_unique<infrakit::testing::PluginProcess>(launch.binary, args, plugin->dir_.path());
  for (const auto& [name, value] : launch.env) plugin->process_->SetEnv(name, value);
  if (absl::Status started = plugin->process_->Start(); !started.ok()) return started;
  plugin->socket_ = absl::StrCat(plugins_dir, "/", launch.plugin_name, ".sock");
  if (absl::Status ready = plugin->process_->WaitReady(plugin->socket_, launch.deadline);
      !ready.ok()) {
    return ready;
  }
  return plugin;
}

absl::Status RunningPlugin::Stop(absl::Duration deadline) {
  if (process_->Exited()) {
    const int status = process_->Wait();
    return absl::FailedPreconditionError(
        absl::StrCat("the plugin had already ", infrakit::testing::DescribeExit(status)));
  }
  if (absl::Status signalled = process_->Signal(SIGTERM); !signalled.ok()) return signalled;
  absl::StatusOr<int> status = process_->Wait(deadline);
  if (!status.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat("the plugin did not stop on SIGTERM: ", status.status().message()));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::InternalError(
        absl::StrCat("the plugin ", infrakit::testing::DescribeExit(*status), " on SIGTERM"));
  }
  return absl::OkStatus();
}

int RunningPlugin::Threads() const {
  std::ifstream status(absl::StrCat("/proc/", process_->pid(), "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "Threads:")) {
      int threads = -1;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &threads)) return threads;
    }
  }
  return -1;
}

int RunningPlugin::PluginThreads() const {
  // Thread names as Linux truncates them (15 characters).
  constexpr absl::string_view kGrpcPools[] = {
      "default-executo", "grpc_global_tim", "event_engine",  "resolver-execut",
      "timer_manager",   "grpcpp_sync_ser", "nexting_thread"};
  std::error_code error;
  std::filesystem::directory_iterator tasks(absl::StrCat("/proc/", process_->pid(), "/task"),
                                            error);
  if (error) return -1;
  int count = 0;
  for (const auto& task : tasks) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    bool grpc_pool = false;
    for (absl::string_view pool : kGrpcPools) grpc_pool = grpc_pool || absl::StartsWith(name, pool);
    if (!grpc_pool) ++count;
  }
  return count;
}

std::string RunningPlugin::ThreadNames() const {
  std::map<std::string, int> names;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(
           absl::StrCat("/proc/", process_->pid(), "/task"), error)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    ++names[name];
  }
  return absl::StrJoin(names, ", ", absl::PairFormatter(" x"));
}

}  // namespace infrakit::tests::conformance
