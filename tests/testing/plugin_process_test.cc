// PluginProcess against /bin/sh; readiness against a real plugin is exercised by
// //services/runtime:plugin_binary_test.
#include "tests/testing/plugin_process.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::testing {
namespace {

TEST(PluginProcessTest, CapturesOutputAndExitStatus) {
  TempDir dir;
  PluginProcess p("/bin/sh", {"-c", "echo out; echo err >&2; exit 3"}, dir.path());
  ASSERT_TRUE(p.Start().ok());
  int status = p.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << DescribeExit(status);
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(p.Wait(), status);  // cached
  EXPECT_EQ(p.Stdout(), "out\n");
  EXPECT_EQ(p.Stderr(), "err\n");
  EXPECT_EQ(DescribeExit(status), "exited with status 3");
}

TEST(PluginProcessTest, PassesEnvironmentOverrides) {
  TempDir dir;
  PluginProcess p("/bin/sh", {"-c", "echo \"$IK_TEST_VAR\""}, dir.path());
  p.SetEnv("IK_TEST_VAR", "first");
  p.SetEnv("IK_TEST_VAR", "second");
  ASSERT_TRUE(p.Start().ok());
  EXPECT_EQ(p.Wait(), 0);
  EXPECT_EQ(p.Stdout(), "second\n");
}

TEST(PluginProcessTest, SignalAndWaitWithDeadline) {
  TempDir dir;
  // exec: the shell becomes `sleep`, so the signal reaches the process we wait for.
  PluginProcess p("/bin/sh", {"-c", "exec sleep 600"}, dir.path());
  ASSERT_TRUE(p.Start().ok());
  absl::StatusOr<int> early = p.Wait(absl::Milliseconds(1));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(p.Signal(SIGTERM).ok());
  absl::StatusOr<int> status = p.Wait(absl::Seconds(30));
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFSIGNALED(*status)) << DescribeExit(*status);
  EXPECT_EQ(WTERMSIG(*status), SIGTERM);
  EXPECT_EQ(p.Signal(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PluginProcessTest, KillStopsAndReaps) {
  TempDir dir;
  PluginProcess p("/bin/sh", {"-c", "exec sleep 600"}, dir.path());
  ASSERT_TRUE(p.Start().ok());
  EXPECT_FALSE(p.Exited());
  p.Kill();
  EXPECT_TRUE(p.Exited());
  EXPECT_TRUE(WIFSIGNALED(p.Wait()));
  EXPECT_EQ(WTERMSIG(p.Wait()), SIGKILL);
}

TEST(PluginProcessTest, DestructorKillsARunningChild) {
  TempDir dir;
  pid_t pid;
  {
    PluginProcess p("/bin/sh", {"-c", "exec sleep 600"}, dir.path());
    ASSERT_TRUE(p.Start().ok());
    pid = p.pid();
    ASSERT_GT(pid, 0);
  }
  // Reaped by the destructor: the pid is no longer our child.
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(PluginProcessTest, WaitReadyReportsAnEarlyExitWithStderr) {
  TempDir dir;
  PluginProcess p("/bin/sh", {"-c", "echo cannot listen >&2; exit 2"}, dir.path());
  ASSERT_TRUE(p.Start().ok());
  absl::Status s = p.WaitReady(dir.Join("x.sock"), absl::Seconds(30));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "exited with status 2")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "cannot listen")) << s;
}

TEST(PluginProcessTest, WaitReadyTimesOutWhenNothingListens) {
  TempDir dir;
  PluginProcess p("/bin/sh", {"-c", "exec sleep 600"}, dir.path());
  ASSERT_TRUE(p.Start().ok());
  absl::Status s = p.WaitReady(dir.Join("x.sock"), absl::Milliseconds(50));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "x.sock")) << s;
}

TEST(PluginProcessTest, MissingBinaryIsNotFound) {
  TempDir dir;
  PluginProcess p("no/such/binary", {}, dir.path());
  EXPECT_EQ(p.Start().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(p.Wait(), -1);
}

}  // namespace
}  // namespace infrakit::testing
