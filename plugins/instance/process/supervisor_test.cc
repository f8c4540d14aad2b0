#include "plugins/instance/process/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "plugins/instance/process/proc_stat.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::process {
namespace {

using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kDeadline = absl::Seconds(10);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Gone: no such process, or a zombie nobody reaped yet.
bool IsGone(pid_t pid) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  return !stat.ok() || !stat->alive();
}

// A pid a process wrote to a file, once it is there.
pid_t WaitForPidFile(const std::string& path) {
  pid_t pid = 0;
  WaitFor([&] { return absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(path)), &pid); },
          kDeadline);
  return pid;
}

class Exits {
 public:
  Supervisor::ExitCallback Callback() {
    return [this](const std::string& key, const ExitStatus& status) {
      absl::MutexLock lock(&mu_);
      exits_[key] = status;
      ++count_[key];
    };
  }
  bool Has(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return exits_.contains(key);
  }
  ExitStatus Get(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return exits_.at(key);
  }
  int Count(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return count_[key];
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, ExitStatus> exits_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> count_ ABSL_GUARDED_BY(mu_);
};

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto supervisor = Supervisor::Create(exits_.Callback());
    ASSERT_TRUE(supervisor.ok()) << supervisor.status();
    supervisor_ = std::move(*supervisor);
  }

  void TearDown() override {
    supervisor_.reset();
    // Nothing a test started may outlive it.
    for (pid_t pgid : groups_) kill(-pgid, SIGKILL);
  }

  LaunchSpec Shell(const std::string& script) {
    LaunchSpec spec;
    spec.argv = {"/bin/sh", "-c", script};
    spec.env = {"PATH=/usr/bin:/bin", absl::StrCat("OUT=", dir_.path())};
    spec.working_dir = dir_.path();
    spec.log_path = dir_.Join("log");
    return spec;
  }

  ProcessIdentity StartOk(const std::string& key, const LaunchSpec& spec) {
    absl::StatusOr<ProcessIdentity> process = supervisor_->Start(key, spec);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return ProcessIdentity();
    groups_.push_back(process->pid);
    return *process;
  }

  TempDir dir_;
  Exits exits_;
  std::unique_ptr<Supervisor> supervisor_;
  std::vector<pid_t> groups_;
};

TEST_F(SupervisorTest, RunsTheCommandAndReportsItsExit) {
  const ProcessIdentity p =
      StartOk("a", Shell("echo out; echo err >&2; pwd > \"$OUT/pwd\"; exit 3"));
  EXPECT_GT(p.pid, 0);
  ASSERT_TRUE(WaitFor([&] { return exits_.Has("a"); }, kDeadline));
  const ExitStatus status = exits_.Get("a");
  EXPECT_TRUE(status.known);
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_EQ(status.ToString(), "exited with code 3");
  EXPECT_EQ(ReadFile(dir_.Join("log")), "out\nerr\n");
  EXPECT_EQ(ReadFile(dir_.Join("pwd")), dir_.path() + "\n");
  // Reaped: no zombie left.
  EXPECT_TRUE(WaitFor([&] { return !ReadProcStat(p.pid).ok(); }, kDeadline));
}

TEST_F(SupervisorTest, ReportsTheKillingSignal) {
  const ProcessIdentity p = StartOk("a", Shell("exec sleep 1000"));
  ASSERT_EQ(kill(p.pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return exits_.Has("a"); }, kDeadline));
  EXPECT_EQ(exits_.Get("a").signal, SIGKILL);
  EXPECT_EQ(exits_.Count("a"), 1);
}

TEST_F(SupervisorTest, ProcessLeadsItsOwnSessionWithCleanInheritance) {
  // Things a careless spawn would pass on: an open descriptor and an ignored signal.
  int leak[2];
  ASSERT_EQ(pipe(leak), 0);
  struct sigaction ignore = {}, old = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGHUP, &ignore, &old), 0);
  const ProcessIdentity p = StartOk(
      "a", Shell(absl::StrCat("if [ -e /proc/$$/fd/", leak[1],
                              " ]; then echo leaked > \"$OUT/fd\"; else echo clean > \"$OUT/fd\"; "
                              "fi; grep SigIgn /proc/$$/status > \"$OUT/sigign\"; "
                              "exec sleep 1000")));
  sigaction(SIGHUP, &old, nullptr);
  close(leak[0]);
  close(leak[1]);
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(dir_.Join("sigign")).empty(); }, kDeadline));
  EXPECT_EQ(ReadFile(dir_.Join("fd")), "clean\n");
  // SIGHUP is bit 0 of the ignored mask: not ignored.
  const std::string mask(
      absl::StripAsciiWhitespace(absl::StripPrefix(ReadFile(dir_.Join("sigign")), "SigIgn:")));
  uint64_t bits = 0;
  ASSERT_TRUE(absl::SimpleHexAtoi(mask, &bits)) << mask;
  EXPECT_EQ(bits & 1, 0u) << mask;
  absl::StatusOr<ProcStat> stat = ReadProcStat(p.pid);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->session, p.pid);
  EXPECT_EQ(stat->pgrp, p.pid);
  EXPECT_NE(stat->pgrp, getpgrp());
  EXPECT_EQ(stat->start_time, p.start_time);
}

TEST_F(SupervisorTest, StartErrors) {
  LaunchSpec bad_dir = Shell("true");
  bad_dir.working_dir = dir_.Join("missing");
  absl::Status status = supervisor_->Start("a", bad_dir).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("missing"), std::string::npos) << status;

  EXPECT_EQ(supervisor_->Start("b", LaunchSpec()).status().code(),
            absl::StatusCode::kInvalidArgument);

  StartOk("c", Shell("exec sleep 1000"));
  EXPECT_EQ(supervisor_->Start("c", Shell("true")).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(SupervisorTest, ProgramIsExecutedWithArgvAsGiven) {
  // argv[0] is what the program sees as its name, not the file executed.
  LaunchSpec spec = Shell("");
  spec.program = "/bin/sh";
  spec.argv = {"custom-name", "-c", "echo \"$0\" > \"$OUT/name\"; exec sleep 1000"};
  StartOk("a", spec);
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(dir_.Join("name")).empty(); }, kDeadline));
  EXPECT_EQ(ReadFile(dir_.Join("name")), "custom-name\n");
}

TEST_F(SupervisorTest, TheFallbackStartsWhenTheProgramCannotBe) {
  // Missing, not executable, a script without "#!" (ENOEXEC): the fallback runs instead, as
  // the process of the same key.
  const std::string plain = dir_.Join("plain");
  std::ofstream(plain) << "echo ran-as-script > \"$OUT/script\"\n";
  ASSERT_EQ(chmod(plain.c_str(), 0755), 0);
  const std::string not_executable = dir_.Join("not-executable");
  std::ofstream(not_executable) << "#!/bin/sh\n";
  int n = 0;
  for (const std::string& program : {dir_.Join("missing"), not_executable, plain}) {
    const std::string key = absl::StrCat("k", n++);
    LaunchSpec spec = Shell("");
    spec.program = program;
    spec.argv = {"x"};
    spec.fallback_argv = {"/bin/sh", "-c",
                          absl::StrCat("echo fallback > \"$OUT/", key, "\"; exec sleep 1000")};
    const ProcessIdentity p = StartOk(key, spec);
    ASSERT_TRUE(WaitFor([&] { return ReadFile(dir_.Join(key)) == "fallback\n"; }, kDeadline))
        << program;
    EXPECT_FALSE(IsGone(p.pid));
  }
  // Without a fallback the error is the program's.
  LaunchSpec alone = Shell("");
  alone.program = dir_.Join("missing");
  alone.argv = {"x"};
  absl::Status status = supervisor_->Start("alone", alone).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("missing"), std::string::npos) << status;
}

TEST_F(SupervisorTest, StopEndsTheWholeGroupGracefully) {
  const ProcessIdentity p = StartOk("a", Shell("sleep 1000 & echo $! > \"$OUT/child\"; wait"));
  const pid_t child = WaitForPidFile(dir_.Join("child"));
  ASSERT_GT(child, 0);
  ASSERT_TRUE(supervisor_->Stop("a", SIGTERM, absl::Seconds(30)).ok());
  EXPECT_TRUE(IsGone(p.pid));
  EXPECT_TRUE(IsGone(child));
  ASSERT_TRUE(WaitFor([&] { return exits_.Has("a"); }, kDeadline));
  EXPECT_EQ(exits_.Get("a").signal, SIGTERM);
}

TEST_F(SupervisorTest, StopKillsWhatIgnoresTheSignalAfterTheGrace) {
  // The trap records the signal and keeps running.
  const ProcessIdentity p =
      StartOk("a", Shell("trap 'echo got-term >> \"$OUT/trap\"' TERM; echo ready > \"$OUT/ready\"; "
                         "while :; do sleep 0.05; done"));
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(dir_.Join("ready")).empty(); }, kDeadline));
  ASSERT_TRUE(supervisor_->Stop("a", SIGTERM, absl::Seconds(1)).ok());
  EXPECT_TRUE(IsGone(p.pid));
  EXPECT_NE(ReadFile(dir_.Join("trap")).find("got-term"), std::string::npos);
  ASSERT_TRUE(WaitFor([&] { return exits_.Has("a"); }, kDeadline));
  EXPECT_EQ(exits_.Get("a").signal, SIGKILL);
}

TEST_F(SupervisorTest, StopWaitsForMembersThatOutliveTheLeader) {
  // The leader dies of the signal at once; a member of its group ignores it: Stop still gives
  // that member the grace, then kills it.
  const ProcessIdentity p = StartOk("a", Shell("sh -c 'trap \"\" TERM; echo $$ > \"$OUT/child\"; "
                                               "while :; do sleep 0.05; done' & wait"));
  const pid_t child = WaitForPidFile(dir_.Join("child"));
  ASSERT_GT(child, 0);
  ASSERT_TRUE(supervisor_->Stop("a", SIGTERM, absl::Seconds(1)).ok());
  EXPECT_TRUE(IsGone(p.pid));
  EXPECT_TRUE(IsGone(child));
  ASSERT_TRUE(WaitFor([&] { return exits_.Has("a"); }, kDeadline));
  EXPECT_EQ(exits_.Get("a").signal, SIGTERM);
}

TEST_F(SupervisorTest, StopUnknownKeyIsNotFound) {
  EXPECT_EQ(supervisor_->Stop("nope", SIGTERM, absl::Seconds(1)).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SupervisorTest, LeaderDeathKillsItsLeftovers) {
  const ProcessIdentity p =
      StartOk("a", Shell("sleep 1000 & echo $! > \"$OUT/child\"; exec sleep 1000"));
  const pid_t child = WaitForPidFile(dir_.Join("child"));
  ASSERT_GT(child, 0);
  ASSERT_FALSE(IsGone(child));
  ASSERT_EQ(kill(p.pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return exits_.Has("a"); }, kDeadline));
  EXPECT_TRUE(WaitFor([&] { return IsGone(child); }, kDeadline));
}

TEST_F(SupervisorTest, ProcessesOutliveTheSupervisorAndAreReadopted) {
  const ProcessIdentity p = StartOk("a", Shell("exec sleep 1000"));
  supervisor_.reset();
  EXPECT_FALSE(IsGone(p.pid));
  EXPECT_FALSE(exits_.Has("a"));

  Exits later;
  auto again = Supervisor::Create(later.Callback());
  ASSERT_TRUE(again.ok());
  absl::StatusOr<bool> adopted = (*again)->Adopt("a", p);
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_TRUE(*adopted);
  ASSERT_EQ(kill(p.pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return later.Has("a"); }, kDeadline));
  // Still our child here, so the new supervisor reaped it.
  EXPECT_TRUE(later.Get("a").known);
  EXPECT_TRUE(WaitFor([&] { return !ReadProcStat(p.pid).ok(); }, kDeadline));
}

TEST_F(SupervisorTest, AdoptRefusesAReusedPid) {
  const ProcessIdentity p = StartOk("a", Shell("exec sleep 1000"));
  supervisor_->Release("a");
  Exits later;
  auto again = Supervisor::Create(later.Callback());
  ASSERT_TRUE(again.ok());
  absl::StatusOr<bool> adopted = (*again)->Adopt("b", {p.pid, p.start_time + 1});
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_FALSE(*adopted);
  // The other process is left alone.
  EXPECT_FALSE(IsGone(p.pid));
}

TEST_F(SupervisorTest, AdoptReportsAndReapsADeadProcess) {
  const ProcessIdentity p =
      StartOk("a", Shell("sleep 1000 & echo $! > \"$OUT/child\"; exec sleep 1000"));
  const pid_t child = WaitForPidFile(dir_.Join("child"));
  ASSERT_GT(child, 0);
  supervisor_.reset();
  ASSERT_EQ(kill(p.pid, SIGKILL), 0);  // Dies while nobody supervises: a zombie.
  ASSERT_TRUE(WaitFor([&] { return IsGone(p.pid); }, kDeadline));

  Exits later;
  auto again = Supervisor::Create(later.Callback());
  ASSERT_TRUE(again.ok());
  absl::StatusOr<bool> adopted = (*again)->Adopt("a", p);
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_FALSE(*adopted);
  EXPECT_FALSE(ReadProcStat(p.pid).ok());                          // Reaped.
  EXPECT_TRUE(WaitFor([&] { return IsGone(child); }, kDeadline));  // Leftover killed.
  EXPECT_FALSE(later.Has("a"));
}

TEST_F(SupervisorTest, ReleaseStopsReportingWithoutKilling) {
  const ProcessIdentity p = StartOk("a", Shell("exec sleep 1000"));
  supervisor_->Release("a");
  const ProcessIdentity q = StartOk("b", Shell("exec sleep 1000"));
  ASSERT_EQ(kill(p.pid, SIGKILL), 0);
  ASSERT_EQ(kill(q.pid, SIGKILL), 0);
  // Exits are handled in turn; by the time b's is seen, a's would have been too.
  ASSERT_TRUE(WaitFor([&] { return exits_.Has("b"); }, kDeadline));
  EXPECT_FALSE(exits_.Has("a"));
  waitpid(p.pid, nullptr, 0);
}

}  // namespace
}  // namespace infrakit::plugins::instance::process
