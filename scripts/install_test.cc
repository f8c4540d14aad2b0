// scripts/install.sh into a temporary prefix, from this test's binaries (--from the runfiles
// tree), then the installed systemd units checked by `systemd-analyze verify`.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/temp_dir.h"

namespace infrakit {
namespace {

using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::RunfilePath;
using ::infrakit::testing::TempDir;

constexpr absl::Duration kRun = absl::Seconds(120);

const std::vector<std::string>& Plugins() {
  static const std::vector<std::string>* const kPlugins =
      new std::vector<std::string>{"instance-file",  "instance-process", "instance-vagrant",
                                   "flavor-vanilla", "flavor-zookeeper", "flavor-swarm"};
  return *kPlugins;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Executable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// Runs `binary` with `args` to its end; returns its exit code (-1 if it did not exit normally),
// with its output in `output`.
int RunToEnd(const std::string& binary, std::vector<std::string> args, const std::string& log_dir,
             std::string* output) {
  PluginProcess process(binary, std::move(args), log_dir);
  absl::Status started = process.Start();
  EXPECT_TRUE(started.ok()) << started;
  if (!started.ok()) return -1;
  absl::StatusOr<int> status = process.Wait(kRun);
  *output = process.Stdout() + process.Stderr();
  EXPECT_TRUE(status.ok()) << status.status() << "\n" << *output;
  if (!status.ok() || !WIFEXITED(*status)) return -1;
  return WEXITSTATUS(*status);
}

TEST(InstallTest, InstallsBinariesCompletionAndUnitsThatSystemdAccepts) {
  TempDir tmp;
  const std::string prefix = tmp.Join("prefix");
  const std::string script = RunfilePath("scripts/install.sh");
  const std::string from = std::string(absl::StripSuffix(script, "/scripts/install.sh"));
  std::string output;
  ASSERT_EQ(
      RunToEnd("/bin/bash", {script, "--prefix", prefix, "--from", from}, tmp.path(), &output), 0)
      << output;

  for (const char* binary :
       {"infrakit-group", "infrakit-instance-file", "infrakit-instance-process",
        "infrakit-instance-vagrant", "infrakit-flavor-vanilla", "infrakit-flavor-zookeeper",
        "infrakit-flavor-swarm", "infrakitctl"}) {
    EXPECT_TRUE(Executable(prefix + "/bin/" + std::string(binary))) << binary;
  }
  EXPECT_TRUE(absl::StrContains(Read(prefix + "/share/bash-completion/completions/infrakitctl"),
                                "complete "));

  const std::string units = prefix + "/lib/systemd/system/";
  std::vector<std::string> verify = {"verify", "--man=no"};
  std::vector<std::string> names = {"infrakit-group"};
  for (const std::string& plugin : Plugins()) names.push_back("infrakit-" + plugin);
  for (const std::string& name : names) {
    const std::string unit = Read(units + name + ".service");
    SCOPED_TRACE(name);
    EXPECT_TRUE(absl::StrContains(unit, absl::StrCat("ExecStart=", prefix, "/bin/", name,
                                                     " --plugins-dir /run/infrakit/plugins\n")));
    EXPECT_FALSE(absl::StrContains(unit, "@"));
    for (const char* line :
         {"RuntimeDirectory=infrakit/plugins\n", "RuntimeDirectoryPreserve=yes\n",
          "StateDirectory=infrakit\n", "Environment=INFRAKIT_HOME=/var/lib/infrakit\n",
          "Restart=on-failure\n", "StandardOutput=journal\n", "StandardError=journal\n",
          "WantedBy=infrakit.target\n"}) {
      EXPECT_TRUE(absl::StrContains(unit, line)) << line;
    }
    if (name != "infrakit-group") {
      EXPECT_TRUE(absl::StrContains(unit, "Before=infrakit-group.service\n"));
    }
    verify.push_back(units + name + ".service");
  }
  // The group service's After= line names every plugin's unit.
  const std::string group = Read(units + "infrakit-group.service");
  const size_t after = group.find("\nAfter=");
  ASSERT_NE(after, std::string::npos);
  const std::string after_line =
      group.substr(after + 1, group.find('\n', after + 1) - after - 1) + " ";
  for (const std::string& plugin : Plugins()) {
    EXPECT_TRUE(absl::StrContains(after_line, absl::StrCat("infrakit-", plugin, ".service ")))
        << "the group service starts after " << plugin << ": " << after_line;
  }
  verify.push_back(units + "infrakit.target");

  // systemd-analyze verify loads the units as systemd would and checks their directives, the
  // units they name and that ExecStart's binary is executable; it exits non-zero on an error.
  // A warning (exit 0) about one of our units fails the test too.
  ASSERT_TRUE(Executable("/usr/bin/systemd-analyze"))
      << "systemd-analyze is missing: install Debian's systemd package (scripts/setup.sh does)";
  ASSERT_EQ(RunToEnd("/usr/bin/systemd-analyze", verify, tmp.path(), &output), 0) << output;
  EXPECT_FALSE(absl::StrContains(output, units)) << output;
}

}  // namespace
}  // namespace infrakit
