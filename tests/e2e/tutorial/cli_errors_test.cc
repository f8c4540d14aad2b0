// infrakitctl's error paths against the real plugins: what the user reads on stderr and the
// exit code, for each way a command can go wrong.
#include <signal.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/tutorial/tutorial_env.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/wait_for.h"

namespace infrakit::tests::e2e::tutorial {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

class CliErrorsTest : public TutorialEnv {};

TEST_F(CliErrorsTest, NoSuchPlugin) {
  CommandResult r = Ctl({"group", "--name", "nosuch", "inspect", "cattle"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err,
              StartsWith(absl::StrCat("infrakitctl: no plugin named nosuch in ", plugins_dir())));
  EXPECT_THAT(r.out, IsEmpty());

  r = Ctl({"instance", "--name", "another-file", "describe"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("no plugin named another-file"));
}

TEST_F(CliErrorsTest, PluginDown) {
  // kill -9 leaves the socket behind: a stale socket.
  plugin("instance-file")->Kill();
  CommandResult r = Ctl({"instance", "--name", "instance-file", "describe"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, StartsWith(absl::StrCat("infrakitctl: plugin instance-file at ")));
  EXPECT_THAT(r.err, HasSubstr("does not answer"));
  EXPECT_THAT(r.err, HasSubstr("'infrakitctl plugin start instance-file'"));
  r = Ctl({"plugin", "ls", "--long"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("stale"));

  plugin("group")->Kill();
  r = Ctl({"group", "inspect", "cattle"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: plugin group at "));
}

TEST_F(CliErrorsTest, BadJson) {
  CommandResult r = Ctl({"group", "--name", "group", "watch"},
                        "{\n  \"ID\": \"cattle\",\n  \"Properties\": {,}\n}");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: <stdin>: config: not valid JSON: "));
  EXPECT_THAT(r.err, HasSubstr("at line 3, column 18"));

  r = Ctl({"group", "watch"}, R"({"ID": "cattle", "Properties": {"Size": -1,
      "Instance": {"Plugin": "instance-file"}, "Flavor": {"Plugin": "flavor-vanilla"}}})");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: <stdin>: Properties.Size: "));
  // Nothing was watched.
  EXPECT_THAT(Ctl({"group", "ls", "-q"}).out, IsEmpty());
}

TEST_F(CliErrorsTest, UnknownGroup) {
  CommandResult r = Ctl({"group", "--name", "group", "inspect", "nope"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: "));
  EXPECT_THAT(r.err, HasSubstr("nope"));
  EXPECT_THAT(r.err, HasSubstr("'infrakitctl group ls' lists the watched groups"));
  EXPECT_EQ(Ctl({"group", "destroy", "nope"}).exit_code, 3);
  EXPECT_EQ(Ctl({"group", "describe"}, Example("cattle.json")).exit_code, 3);
}

TEST_F(CliErrorsTest, AConfigNamingAMissingPlugin) {
  CommandResult r = Ctl({"group", "watch"}, R"({"ID": "cattle", "Properties": {"Size": 1,
      "Instance": {"Plugin": "instance-nope"}, "Flavor": {"Plugin": "flavor-vanilla"}}})");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("instance-nope"));
  EXPECT_THAT(r.err, Not(HasSubstr("group ls")));
  // Not a plugin infrakitctl can start: where it must listen.
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("(is it running? start it so that it listens on ",
                                            plugins_dir(), "/instance-nope.sock)")));
}

// A bundled plugin that is not running: the error says how to start it, and that command,
// typed as written, starts it; the same watch then succeeds.
TEST_F(CliErrorsTest, AMissingBundledPluginComesWithTheCommandThatStartsIt) {
  ASSERT_TRUE(plugin("flavor-vanilla")->Signal(SIGTERM).ok());
  ASSERT_TRUE(plugin("flavor-vanilla")->Wait(kWait).ok());
  CommandResult r = Ctl({"group", "watch"}, Example("cattle.json"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const std::string hint = absl::StrCat(
      "start it with: infrakitctl plugin start flavor-vanilla --plugins-dir ", plugins_dir());
  EXPECT_THAT(r.err, StartsWith("infrakitctl: flavor.plugin: flavor plugin \"flavor-vanilla\": "
                                "no plugin named flavor-vanilla in "));
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("(is it running? ", hint, ")")));

  // The command after "start it with: ", run as the user would (from another directory, with
  // nothing in the environment pointing at the plugins).
  std::vector<std::string> args = absl::StrSplit(
      absl::string_view(hint).substr(std::string("start it with: infrakitctl ").size()), ' ');
  infrakit::testing::PluginProcess launcher(kCtl, args, dir_.path());
  launcher.SetEnv("INFRAKIT_HOME", dir_.Join("home"));
  launcher.SetEnv("INFRAKIT_PLUGINS_DIR", dir_.Join("elsewhere"));
  ASSERT_TRUE(launcher.Start().ok());
  ASSERT_TRUE(launcher.WaitReady(socket("flavor-vanilla"), kWait).ok())
      << launcher.Stdout() << launcher.Stderr();
  r = Ctl({"group", "watch"}, Example("cattle.json"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "watching cattle\n");
  ASSERT_TRUE(launcher.Signal(SIGTERM).ok());
  EXPECT_TRUE(launcher.Wait(kWait).ok());
}

TEST_F(CliErrorsTest, APluginOfAnotherKind) {
  CommandResult r = Ctl({"group", "--name", "instance-file", "ls"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("plugin instance-file does not serve "
                               "infrakit.group.v1.GroupService"));
}

TEST_F(CliErrorsTest, UsageErrors) {
  CommandResult r = Ctl({"group", "inspect"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "infrakitctl: 'infrakitctl group inspect' needs ID (1 argument, got 0); see "
            "'infrakitctl group inspect --help'\n");
  r = Ctl({"group", "watch", "--nmae", "group"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: unknown flag --nmae"));
  r = Ctl({"group", "watch", dir_.Join("missing.json")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("No such file or directory"));
}

}  // namespace
}  // namespace infrakit::tests::e2e::tutorial
