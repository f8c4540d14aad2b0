// The launcher with real child processes (testdata/infrakit-fake-plugin) on real sockets.
#include "tools/infrakitctl/launcher.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/discovery/discovery.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::tools::infrakitctl {
namespace {

using ::infrakit::client::discovery::GetInfo;
using ::infrakit::client::discovery::ProbeSocket;
using ::infrakit::client::discovery::SocketState;
using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kDeadline = absl::Seconds(30);

// An ostream the launcher's thread writes while the test reads it.
class SyncStream : public std::streambuf {
 public:
  std::string str() const {
    absl::MutexLock lock(&mu_);
    return data_;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      absl::MutexLock lock(&mu_);
      data_.push_back(static_cast<char>(c));
    }
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    absl::MutexLock lock(&mu_);
    data_.append(s, static_cast<size_t>(n));
    return n;
  }

 private:
  mutable absl::Mutex mu_;
  std::string data_ ABSL_GUARDED_BY(mu_);
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ProcessGone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

class LauncherTest : public ::testing::Test {
 protected:
  LaunchSpec Plugin(const std::string& name, const std::string& mode = "serve") {
    return {name,
            infrakit::testing::RunfilePath("tools/infrakitctl/testdata/infrakit-fake-plugin"),
            {absl::StrCat("--mode=", mode)}};
  }

  LauncherOptions Options() {
    LauncherOptions options;
    options.plugins_dir = dir_.Join("plugins");
    options.log_dir = dir_.Join("logs");
    options.ready_timeout = kDeadline;
    options.initial_backoff = absl::Milliseconds(10);
    options.max_backoff = absl::Milliseconds(100);
    return options;
  }

  std::string Socket(const std::string& name) { return dir_.Join("plugins/" + name + ".sock"); }

  // Runs the launcher on its own thread (which must outlive the children: PR_SET_PDEATHSIG).
  void Start(Launcher* launcher) {
    runner_ = std::thread([this, launcher] { status_ = launcher->Run(); });
  }
  absl::Status Finish() {
    if (runner_.joinable()) runner_.join();
    return status_;
  }

  void TearDown() override {
    if (runner_.joinable()) runner_.join();
  }

  infrakit::testing::TempDir dir_;
  SyncStream out_;
  SyncStream err_;
  std::ostream out_stream_{&out_};
  std::ostream err_stream_{&err_};
  std::thread runner_;
  absl::Status status_;
};

TEST_F(LauncherTest, StartsSupervisesAndStops) {
  LaunchSpec alpha = Plugin("alpha");
  alpha.args.push_back("--note=hello world");
  Launcher launcher({alpha, Plugin("beta")}, Options(), &out_stream_, &err_stream_);
  Start(&launcher);
  ASSERT_TRUE(WaitFor([&] { return launcher.AllReady(); }, kDeadline)) << err_.str();

  const std::string d = dir_.Join("plugins");
  EXPECT_THAT(out_.str(),
              HasSubstr(absl::StrCat("Plugins:\n"
                                     "NAME                \tLISTEN\n"
                                     "alpha               \tunix://",
                                     d, "/alpha.sock\n", "beta                \tunix://", d,
                                     "/beta.sock\n")));
  // The plugins' output is copied, prefixed with their names, and logged.
  EXPECT_THAT(out_.str(), HasSubstr("alpha            | fake plugin mode=serve note=hello world"));
  const pid_t first = launcher.Pid("alpha");
  ASSERT_GT(first, 0);
  auto info = GetInfo(Socket("alpha"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name(), "alpha");
  EXPECT_EQ(info->pid(), first);

  // A plugin that dies is restarted, and says so.
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        const pid_t now = launcher.Pid("alpha");
        if (now <= 0 || now == first) return false;
        auto again = GetInfo(Socket("alpha"));
        return again.ok() && again->pid() == now;
      },
      kDeadline))
      << err_.str();
  EXPECT_EQ(launcher.Restarts("alpha"), 1);
  EXPECT_EQ(launcher.Restarts("beta"), 0);
  EXPECT_THAT(err_.str(), HasSubstr("infrakitctl: plugin alpha killed by signal 9"));
  EXPECT_THAT(err_.str(), HasSubstr("restarting it in 10ms"));
  ASSERT_TRUE(WaitFor(
      [&] { return out_.str().find("plugin alpha restarted") != std::string::npos; }, kDeadline));

  const pid_t alpha_pid = launcher.Pid("alpha");
  const pid_t beta_pid = launcher.Pid("beta");
  launcher.Stop();
  ASSERT_TRUE(Finish().ok()) << status_;
  EXPECT_TRUE(ProcessGone(alpha_pid));
  EXPECT_TRUE(ProcessGone(beta_pid));
  EXPECT_EQ(*ProbeSocket(Socket("alpha")), SocketState::kMissing);
  EXPECT_EQ(*ProbeSocket(Socket("beta")), SocketState::kMissing);
  EXPECT_EQ(launcher.Pid("alpha"), -1);

  const std::string log = ReadFile(dir_.Join("logs/alpha.log"));
  EXPECT_THAT(log, HasSubstr("fake plugin mode=serve note=hello world"));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("started pid ", first)));
  EXPECT_THAT(log, HasSubstr("killed by signal 9"));
  EXPECT_THAT(log, HasSubstr("stopping (SIGTERM)"));
  EXPECT_THAT(ReadFile(dir_.Join("logs/beta.log")), Not(HasSubstr("note=hello")));
}

TEST_F(LauncherTest, APluginThatExitsBeforeAnsweringFailsTheStart) {
  Launcher launcher({Plugin("alpha"), Plugin("broken", "exit")}, Options(), &out_stream_,
                    &err_stream_);
  absl::Status status = launcher.Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("plugin broken exited with status 3 before answering"));
  EXPECT_THAT(status.message(), HasSubstr("failing on purpose"));
  EXPECT_THAT(status.message(), HasSubstr(dir_.Join("logs/broken.log")));
  // Everything started was stopped.
  EXPECT_EQ(launcher.Pid("alpha"), -1);
  EXPECT_NE(*ProbeSocket(Socket("alpha")), SocketState::kLive);
}

TEST_F(LauncherTest, APluginThatNeverAnswersFailsTheStart) {
  LauncherOptions options = Options();
  options.ready_timeout = absl::Milliseconds(300);
  Launcher launcher({Plugin("mute", "hang")}, options, &out_stream_, &err_stream_);
  absl::Status status = launcher.Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              HasSubstr("plugin mute did not start: it did not answer on unix://"));
  EXPECT_THAT(status.message(), HasSubstr("fake plugin mode=hang"));
  EXPECT_EQ(launcher.Pid("mute"), -1);
}

TEST_F(LauncherTest, AMissingBinaryFailsTheStart) {
  Launcher launcher({{"ghost", dir_.Join("no-such-binary"), {}}}, Options(), &out_stream_,
                    &err_stream_);
  absl::Status status = launcher.Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("exited with status 127"));
  EXPECT_THAT(status.message(), HasSubstr("cannot run " + dir_.Join("no-such-binary")));
}

TEST_F(LauncherTest, ANameThatIsAlreadyServedIsRefused) {
  Launcher first({Plugin("alpha")}, Options(), &out_stream_, &err_stream_);
  Start(&first);
  ASSERT_TRUE(WaitFor([&] { return first.AllReady(); }, kDeadline)) << err_.str();

  std::ostringstream out2, err2;
  Launcher second({Plugin("alpha")}, Options(), &out2, &err2);
  absl::Status status = second.Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("plugin alpha already runs at unix://"));
  // The first one was not disturbed.
  EXPECT_TRUE(GetInfo(Socket("alpha")).ok());

  first.Stop();
  EXPECT_TRUE(Finish().ok()) << status_;
}

TEST_F(LauncherTest, BadListsAreRefused) {
  EXPECT_EQ(Launcher({}, Options(), &out_stream_, &err_stream_).Run().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Launcher({Plugin("a"), Plugin("a")}, Options(), &out_stream_, &err_stream_).Run().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(LauncherTest, APluginIgnoringSigtermIsKilledAndItsSocketRemoved) {
  LauncherOptions options = Options();
  options.stop_grace = absl::Milliseconds(200);
  Launcher launcher({Plugin("stubborn", "stubborn")}, options, &out_stream_, &err_stream_);
  Start(&launcher);
  ASSERT_TRUE(WaitFor([&] { return launcher.AllReady(); }, kDeadline)) << err_.str();
  const pid_t pid = launcher.Pid("stubborn");
  launcher.Stop();
  ASSERT_TRUE(Finish().ok()) << status_;
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_THAT(err_.str(), HasSubstr("plugin stubborn did not stop within 200ms; killing it"));
  // It was killed with its socket in place; the launcher removed it.
  EXPECT_EQ(*ProbeSocket(Socket("stubborn")), SocketState::kMissing);
  EXPECT_THAT(ReadFile(dir_.Join("logs/stubborn.log")), HasSubstr("removed its stale socket"));
}

TEST_F(LauncherTest, StopBeforeReadyStopsEverything) {
  Launcher launcher({Plugin("alpha")}, Options(), &out_stream_, &err_stream_);
  launcher.Stop();
  EXPECT_TRUE(launcher.Run().ok());
  EXPECT_EQ(launcher.Pid("alpha"), -1);
  EXPECT_NE(*ProbeSocket(Socket("alpha")), SocketState::kLive);
}

TEST(DescribeWaitStatusTest, ExitAndSignal) {
  pid_t child = fork();
  if (child == 0) _exit(7);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(DescribeWaitStatus(status), "exited with status 7");
  child = fork();
  if (child == 0) {
    while (true) pause();
  }
  kill(child, SIGKILL);
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(DescribeWaitStatus(status), "killed by signal 9 (Killed)");
}

}  // namespace
}  // namespace infrakit::tools::infrakitctl
