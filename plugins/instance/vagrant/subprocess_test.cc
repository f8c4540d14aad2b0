#include "plugins/instance/vagrant/subprocess.h"

#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

TEST(RunCommandTest, CollectsOutputAndExitCodeInTheGivenDirAndEnvironment) {
  absl::StatusOr<CommandResult> r =
      RunCommand({"/bin/sh", "-c", "pwd; echo $GREETING; echo oops >&2; exit 3"}, "/tmp",
                 EnvironmentWith({{"GREETING", "hello"}}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->output, "/tmp\nhello\noops\n");
}

TEST(RunCommandTest, AMissingProgramIsAnError) {
  absl::StatusOr<CommandResult> r = RunCommand({"/no/such/program"}, "", EnvironmentWith({}));
  EXPECT_FALSE(r.ok());
}

TEST(EnvironmentWithTest, AnEmptyValueRemovesTheVariable) {
  setenv("INFRAKIT_SUBPROCESS_TEST", "1", 1);
  for (const std::string& var : EnvironmentWith({{"INFRAKIT_SUBPROCESS_TEST", ""}})) {
    EXPECT_FALSE(absl::StartsWith(var, "INFRAKIT_SUBPROCESS_TEST=")) << var;
  }
}

TEST(SubprocessTest, ReadsLinesAndIsKilledWithItsGroup) {
  auto child = Subprocess::Start({"/bin/sh", "-c", "echo one; echo two; sleep 60 & wait"}, "",
                                 EnvironmentWith({}));
  ASSERT_TRUE(child.ok()) << child.status();
  std::string line;
  ASSERT_TRUE((*child)->ReadLine(&line));
  EXPECT_EQ(line, "one");
  ASSERT_TRUE((*child)->ReadLine(&line));
  EXPECT_EQ(line, "two");
  (*child)->Kill(SIGTERM);
  // The sleep went with the group: the pipe's last writer is gone.
  EXPECT_FALSE((*child)->ReadLine(&line));
  EXPECT_EQ((*child)->Wait(), 128 + SIGTERM);
}

}  // namespace
}  // namespace infrakit::plugins::instance::vagrant
