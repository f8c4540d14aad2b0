// `infrakitctl plugin start`, the README's main job, with the real plugins: it starts them,
// they serve the tutorial, a plugin killed with kill -9 comes back, and Ctrl-C stops everything
// and leaves no socket behind.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/e2e/tutorial/cli_runner.h"
#include "tests/e2e/tutorial/tutorial_env.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::tests::e2e::tutorial {
namespace {

using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;

class LauncherTest : public ::testing::Test {
 protected:
  std::string plugins_dir() const { return dir_.Join("plugins"); }
  std::unique_ptr<PluginProcess> Launch(std::vector<std::string> names) {
    std::vector<std::string> args = {"plugin", "start"};
    args.insert(args.end(), names.begin(), names.end());
    args.insert(args.end(), {"--plugins-dir", plugins_dir(), "--log-dir", dir_.Join("logs")});
    for (const std::string& name : names) {
      if (name == "instance-file") {
        args.insert(args.end(),
                    {"--instance-file-args", absl::StrCat("--dir ", dir_.Join("tutorial"))});
      }
    }
    auto launcher = std::make_unique<PluginProcess>(kCtl, args, dir_.path());
    launcher->SetEnv("INFRAKIT_HOME", dir_.Join("home"));
    return launcher;
  }

  CommandResult Ctl(const std::vector<std::string>& args, const std::string& input = "") {
    absl::StatusOr<CommandResult> result = RunCommand(
        kCtl, args, input,
        {{"INFRAKIT_PLUGINS_DIR", plugins_dir()}, {"INFRAKIT_HOME", dir_.Join("home")}}, kWait);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return CommandResult{-1, "", std::string(result.status().message())};
    return *result;
  }

  // The pid a plugin reports in `plugin ls -o json`, or 0.
  int64_t PidOf(const std::string& name) {
    CommandResult r = Ctl({"plugin", "ls", "-o", "json"});
    google::protobuf::ListValue list;
    if (!google::protobuf::util::JsonStringToMessage(r.out, &list).ok()) return 0;
    for (const auto& v : list.values()) {
      const auto& f = v.struct_value().fields();
      if (f.at("name").string_value() != name || !f.at("alive").bool_value()) continue;
      auto info = f.find("info");
      if (info == f.end()) return 0;
      auto pid = info->second.struct_value().fields().find("pid");
      if (pid == info->second.struct_value().fields().end()) return 0;
      return std::stoll(pid->second.string_value());  // int64 is a string in protobuf JSON
    }
    return 0;
  }

  // Waits until the launcher reports its plugins ready; false if it exits or the wait ends.
  static bool WaitReady(PluginProcess& launcher) {
    WaitFor(
        [&] {
          return launcher.Stdout().find("Press Ctrl-C") != std::string::npos || launcher.Exited();
        },
        kWait);
    return launcher.Stdout().find("Press Ctrl-C") != std::string::npos;
  }

  bool SocketExists(const std::string& name) {
    struct stat st;
    return lstat((plugins_dir() + "/" + name + ".sock").c_str(), &st) == 0;
  }

  TempDir dir_;
};

TEST_F(LauncherTest, RunsTheTutorialsPluginsRestartsThemAndStopsOnCtrlC) {
  auto launcher = Launch({"group", "instance-file", "flavor-vanilla"});
  ASSERT_TRUE(launcher->Start().ok());
  ASSERT_TRUE(WaitReady(*launcher)) << launcher->Stdout() << launcher->Stderr();
  const std::string d = plugins_dir();
  EXPECT_THAT(launcher->Stdout(),
              HasSubstr(absl::StrCat("Plugins:\n"
                                     "NAME                \tLISTEN\n"
                                     "flavor-vanilla      \tunix://",
                                     d, "/flavor-vanilla.sock\n", "group               \tunix://",
                                     d, "/group.sock\n", "instance-file       \tunix://", d,
                                     "/instance-file.sock\n")));
  // Each plugin's output is in its log, and on stdout with its name in front.
  EXPECT_THAT(launcher->Stdout(), HasSubstr("instance-file    | "));
  EXPECT_THAT(ReadFile(dir_.Join("logs/group.log")), HasSubstr("Listening on"));

  // The tutorial works on them.
  CommandResult r = Ctl({"group", "watch"}, Example("cattle.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(WaitFor([&] { return Lines(Ctl({"instance", "describe", "-q"}).out) == 5; }, kWait));

  // kill -9 of a plugin: the launcher says so and brings it back; the instances are still
  // there (they are files).
  const int64_t first = PidOf("instance-file");
  ASSERT_GT(first, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(first), SIGKILL), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        const int64_t now = PidOf("instance-file");
        return now > 0 && now != first;
      },
      kWait))
      << launcher->Stderr();
  EXPECT_THAT(launcher->Stderr(),
              HasSubstr("infrakitctl: plugin instance-file killed by signal 9"));
  EXPECT_EQ(Lines(Ctl({"instance", "describe", "-q"}).out), 5u);

  // Ctrl-C: everything stops, exit 0, no socket left.
  const std::vector<int64_t> pids = {PidOf("group"), PidOf("instance-file"),
                                     PidOf("flavor-vanilla")};
  ASSERT_TRUE(launcher->Signal(SIGINT).ok());
  absl::StatusOr<int> status = launcher->Wait(kWait);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << infrakit::testing::DescribeExit(*status) << launcher->Stderr();
  EXPECT_THAT(launcher->Stdout(), HasSubstr("stopped the plugins"));
  for (const char* name : {"group", "instance-file", "flavor-vanilla"}) {
    EXPECT_FALSE(SocketExists(name)) << name;
  }
  for (int64_t pid : pids) {
    ASSERT_GT(pid, 0);
    EXPECT_NE(kill(static_cast<pid_t>(pid), 0), 0) << pid;
  }
}

TEST_F(LauncherTest, SigtermStopsItToo) {
  auto launcher = Launch({"flavor-vanilla"});
  ASSERT_TRUE(launcher->Start().ok());
  ASSERT_TRUE(WaitReady(*launcher)) << launcher->Stderr();
  ASSERT_TRUE(launcher->Signal(SIGTERM).ok());
  absl::StatusOr<int> status = launcher->Wait(kWait);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << infrakit::testing::DescribeExit(*status);
  EXPECT_FALSE(SocketExists("flavor-vanilla"));
}

TEST_F(LauncherTest, ANameAlreadyServedIsRefused) {
  auto first = Launch({"flavor-vanilla"});
  ASSERT_TRUE(first->Start().ok());
  ASSERT_TRUE(WaitReady(*first)) << first->Stderr();
  CommandResult r = Ctl({"plugin", "start", "flavor-vanilla", "--log-dir", dir_.Join("logs2")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("infrakitctl: plugin flavor-vanilla already runs at unix://"));
  // The first one still serves.
  EXPECT_GT(PidOf("flavor-vanilla"), 0);
}

TEST_F(LauncherTest, InstanceFileRefusesANegativeSpareFileCountByName) {
  absl::StatusOr<CommandResult> r = RunCommand(
      "plugins/instance/file/infrakit-instance-file",
      {"--spare-files=-1", "--dir", dir_.Join("tutorial"), "--plugins-dir", plugins_dir()}, "",
      {{"INFRAKIT_HOME", dir_.Join("home")}}, kWait);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->exit_code, 0);
  EXPECT_THAT(r->err, HasSubstr("--spare-files: must be 0 or more, got -1"));
  struct stat st;
  EXPECT_NE(stat(absl::StrCat(plugins_dir(), "/instance-file.sock").c_str(), &st), 0)
      << "nothing served";
  EXPECT_NE(stat(dir_.Join("tutorial/.spare").c_str(), &st), 0) << "no spare files made";
}

}  // namespace
}  // namespace infrakit::tests::e2e::tutorial
