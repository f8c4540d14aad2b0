#include "tests/testing/plugin_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/discovery/discovery.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/wait_for.h"

extern char** environ;

namespace infrakit::testing {
namespace {

// Pause between two readiness probes: short, because a plugin is usually up in milliseconds.
constexpr absl::Duration kReadyPollPause = absl::Milliseconds(10);
// Upper bound of one Info probe; the overall deadline is the caller's.
constexpr absl::Duration kInfoProbeDeadline = absl::Milliseconds(500);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::string DescribeExit(int wait_status) {
  if (wait_status < 0) return "never started";
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    return absl::StrCat("killed by signal ", sig, " (", strsignal(sig), ")");
  }
  return absl::StrCat("wait status ", wait_status);
}

PluginProcess::PluginProcess(std::string binary, std::vector<std::string> args, std::string log_dir)
    : binary_(RunfilePath(binary)), args_(std::move(args)), log_dir_(std::move(log_dir)) {}

PluginProcess::~PluginProcess() { Kill(); }

void PluginProcess::SetEnv(std::string name, std::string value) {
  for (auto& [n, v] : env_overrides_) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  env_overrides_.emplace_back(std::move(name), std::move(value));
}

absl::Status PluginProcess::Start() {
  if (pid_ > 0) return absl::FailedPreconditionError(absl::StrCat(binary_, " already started"));
  if (access(binary_.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("binary ", binary_,
                                            " is not executable: ", strerror(errno),
                                            " (is it listed in the test's data?)"));
  }
  // Each start gets its own log files, even when one test starts the same binary twice.
  static std::atomic<int> counter{0};
  const std::string stem =
      absl::StrCat(log_dir_, "/", Basename(binary_), ".", counter.fetch_add(1));
  stdout_path_ = stem + ".stdout";
  stderr_path_ = stem + ".stderr";

  // Everything the child needs is prepared before fork(): after fork only async-signal-safe
  // calls are allowed (the test process has gRPC threads).
  int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out_fd = open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    int err = errno;
    for (int fd : {in_fd, out_fd, err_fd}) {
      if (fd >= 0) close(fd);
    }
    return absl::ErrnoToStatus(err, absl::StrCat("cannot open log files ", stem, ".*"));
  }

  std::vector<std::string> argv_strings;
  argv_strings.push_back(binary_);
  argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view entry(*e);
    bool overridden = std::any_of(
        env_overrides_.begin(), env_overrides_.end(),
        [&](const auto& kv) { return absl::StartsWith(entry, absl::StrCat(kv.first, "=")); });
    if (!overridden) env_strings.emplace_back(entry);
  }
  for (const auto& [name, value] : env_overrides_) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(in_fd);
    close(out_fd);
    close(err_fd);
    return absl::ErrnoToStatus(err, "fork");
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(in_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    const char msg[] = "PluginProcess: execve failed\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(127);
  }
  close(in_fd);
  close(out_fd);
  close(err_fd);
  pid_ = pid;
  exit_status_.reset();
  return absl::OkStatus();
}

bool PluginProcess::Exited() {
  if (exit_status_.has_value()) return true;
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = status;
    return true;
  }
  return false;
}

int PluginProcess::Wait() {
  if (exit_status_.has_value()) return *exit_status_;
  if (pid_ <= 0) return -1;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return -1;
  exit_status_ = status;
  return status;
}

absl::StatusOr<int> PluginProcess::Wait(absl::Duration deadline) {
  if (pid_ <= 0) return absl::FailedPreconditionError(absl::StrCat(binary_, " never started"));
  if (!WaitFor([this] { return Exited(); }, deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(
        binary_, " (pid ", pid_, ") still running after ", absl::FormatDuration(deadline)));
  }
  return *exit_status_;
}

absl::Status PluginProcess::Signal(int signo) {
  if (pid_ <= 0 || Exited()) {
    return absl::FailedPreconditionError(absl::StrCat(binary_, " is not running"));
  }
  if (kill(pid_, signo) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("kill ", pid_));
  return absl::OkStatus();
}

void PluginProcess::Kill() {
  if (pid_ <= 0 || Exited()) return;
  kill(pid_, SIGKILL);
  Wait();
}

absl::Status PluginProcess::WaitReady(absl::string_view socket_path, absl::Duration deadline) {
  if (pid_ <= 0) return absl::FailedPreconditionError(absl::StrCat(binary_, " never started"));
  const absl::Time end = absl::Now() + deadline;
  absl::Status last = absl::UnavailableError("not probed yet");
  while (true) {
    if (Exited()) {
      return absl::FailedPreconditionError(absl::StrCat(binary_, " ", DescribeExit(*exit_status_),
                                                        " before ", socket_path,
                                                        " answered; stderr:\n", Stderr()));
    }
    absl::Time now = absl::Now();
    if (now >= end) break;
    // Probe only once the socket exists: Info on a missing socket is a wasted channel.
    struct stat st;
    const std::string path(socket_path);
    if (lstat(path.c_str(), &st) == 0) {
      absl::StatusOr<infrakit::plugin::v1::InfoResponse> info =
          client::discovery::GetInfo(socket_path, std::min(kInfoProbeDeadline, end - now));
      if (info.ok()) return absl::OkStatus();
      last = info.status();
    } else {
      last = absl::NotFoundError(absl::StrCat(socket_path, " does not exist yet"));
    }
    absl::SleepFor(std::min(kReadyPollPause, std::max(end - absl::Now(), absl::ZeroDuration())));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      binary_, " did not answer on ", socket_path, " within ", absl::FormatDuration(deadline),
      " (last: ", last.ToString(), "); stderr:\n", Stderr()));
}

std::string PluginProcess::Stdout() const { return ReadFile(stdout_path_); }

std::string PluginProcess::Stderr() const { return ReadFile(stderr_path_); }

}  // namespace infrakit::testing
