#include "plugins/instance/terraform/command_runner.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::instance::terraform {
namespace {

using ::testing::HasSubstr;

TEST(SubprocessRunnerTest, RunsInTheDirectoryAndCapturesBothOutputs) {
  infrakit::testing::TempDir dir;
  std::ofstream(dir.Join("marker")) << "here";
  SubprocessRunner runner("/bin/sh", dir.path());
  auto result = runner.Run(
      {"-c", "cat marker; echo \" $TF_IN_AUTOMATION\"; echo oops >&2; read x || exit 3"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 3);  // stdin is /dev/null: read fails.
  EXPECT_EQ(result->out, "here 1\n");
  EXPECT_EQ(result->err, "oops\n");
}

TEST(SubprocessRunnerTest, ASignalIsAnExitCode) {
  infrakit::testing::TempDir dir;
  SubprocessRunner runner("sh", dir.path());  // Found on $PATH.
  auto result = runner.Run({"-c", "kill -9 $$"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 128 + 9);
}

TEST(SubprocessRunnerTest, AMissingBinaryIsNotFound) {
  infrakit::testing::TempDir dir;
  SubprocessRunner runner(dir.Join("no-terraform"), dir.path());
  auto result = runner.Run({"version"});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("no-terraform"));
}

TEST(SubprocessRunnerTest, LargeOutputOnBothStreamsDoesNotDeadlock) {
  infrakit::testing::TempDir dir;
  SubprocessRunner runner("/bin/sh", dir.path());
  auto result = runner.Run({"-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->out.size(), 300000u);
  EXPECT_EQ(result->err.size(), 300000u);
}

}  // namespace
}  // namespace infrakit::plugins::instance::terraform
