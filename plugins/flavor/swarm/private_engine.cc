#include "plugins/flavor/swarm/private_engine.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "plugins/flavor/swarm/engine_client.h"

extern char** environ;

namespace infrakit::plugins::flavor::swarm {
namespace {

// The program's path when it is on $PATH (or in /usr/sbin, /sbin), else "".
std::string FindProgram(const std::string& name) {
  const char* path = getenv("PATH");
  std::vector<std::string> dirs =
      absl::StrSplit(path == nullptr ? "" : path, ':', absl::SkipEmpty());
  dirs.push_back("/usr/sbin");
  dirs.push_back("/sbin");
  dirs.push_back("/usr/bin");
  for (const std::string& dir : dirs) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::vector<pid_t> ProcessesNaming(const std::string& needle) {
  std::vector<pid_t> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid == getpid()) continue;
    std::string cmdline = ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(needle) != std::string::npos) found.push_back(pid);
  }
  closedir(proc);
  return found;
}

namespace {

long RssOf(pid_t pid) {
  std::istringstream status(ReadFile(absl::StrCat("/proc/", pid, "/status")));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      long kib = 0;
      std::istringstream(line.substr(6)) >> kib;
      return kib;
    }
  }
  return 0;
}

}  // namespace

std::string PrivateEngine::Missing() {
  if (geteuid() != 0) return "dockerd and unshare --net --mount need root";
  if (FindProgram("dockerd").empty()) {
    return "dockerd is not installed (apt-get install --no-install-recommends docker.io)";
  }
  for (const char* tool : {"unshare", "nsenter"}) {
    if (FindProgram(tool).empty()) return absl::StrCat(tool, " is not installed (util-linux)");
  }
  if (FindProgram("ip").empty()) return "ip is not installed (iproute2)";
  // Root is not always enough (a container without CAP_SYS_ADMIN): try the namespaces once.
  const std::string unshare = FindProgram("unshare");
  const std::string truth = FindProgram("true");
  std::vector<std::string> argv = {unshare,   "--net", "--mount", "--propagation",
                                   "private", "--",    truth};
  std::vector<char*> c_argv;
  for (std::string& arg : argv) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, c_argv[0], &actions, nullptr, c_argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (spawned != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return "unshare --net --mount fails here (no CAP_SYS_ADMIN?)";
  }
  return "";
}

PrivateEngine::PrivateEngine(std::string dir, std::string name)
    : dir_(std::move(dir)), name_(std::move(name)) {
  socket_path_ = absl::StrCat(dir_, "/", name_, ".sock");
  exec_root_ = absl::StrCat(dir_, "/", name_, ".exec");
  log_path_ = absl::StrCat(dir_, "/", name_, ".log");
}

PrivateEngine::~PrivateEngine() { Stop(); }

absl::Status PrivateEngine::Start(const std::map<std::string, std::string>& labels,
                                  pid_t namespace_of, absl::Duration timeout) {
  if (pid_ != 0) return absl::FailedPreconditionError(absl::StrCat(name_, ": already started"));
  std::vector<std::string> dockerd = {
      FindProgram("dockerd"),
      absl::StrCat("--data-root=", dir_, "/", name_, ".data"),
      absl::StrCat("--exec-root=", exec_root_),
      absl::StrCat("--host=unix://", socket_path_),
      absl::StrCat("--pidfile=", dir_, "/", name_, ".pid"),
      absl::StrCat("--cgroup-parent=infrakit-test-", name_, "-", getpid()),
      "--iptables=false",
      "--ip6tables=false",
      "--bridge=none",
      "--storage-driver=vfs",
      "--ip-forward=false",
  };
  for (const auto& [key, value] : labels) {
    dockerd.push_back(absl::StrCat("--label=", key, "=", value));
  }
  std::vector<std::string> argv;
  if (namespace_of == 0) {
    argv = {FindProgram("unshare"),
            "--net",
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            absl::StrCat(FindProgram("ip"), " link set lo up && exec \"$@\""),
            "sh"};
  } else {
    argv = {FindProgram("nsenter"), absl::StrCat("--target=", namespace_of), "--net", "--mount",
            "--"};
  }
  argv.insert(argv.end(), dockerd.begin(), dockerd.end());
  std::vector<char*> c_argv;
  for (std::string& arg : argv) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, c_argv[0], &actions, nullptr, c_argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return absl::InternalError(
        absl::StrCat(name_, ": cannot start ", argv[0], ": ", strerror(spawned)));
  }
  pid_ = pid;

  EngineClient client(socket_path_, absl::Seconds(2));
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int wait_status = 0;
    if (waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      pid_ = 0;
      return absl::InternalError(
          absl::StrCat(name_, ": dockerd exited at start; its log ends with:\n", LogTail()));
    }
    if (client.Ping().ok()) return absl::OkStatus();
    if (absl::Now() > deadline) {
      const std::string tail = LogTail();
      Stop();
      return absl::DeadlineExceededError(absl::StrCat(name_, ": dockerd did not answer within ",
                                                      absl::FormatDuration(timeout),
                                                      "; its log ends with:\n", tail));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void PrivateEngine::Kill() {
  if (pid_ == 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

void PrivateEngine::Stop(absl::Duration grace) {
  if (pid_ != 0) {
    kill(pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + grace;
    bool exited = false;
    while (!exited && absl::Now() < deadline) {
      exited = waitpid(pid_, nullptr, WNOHANG) == pid_;
      if (!exited) absl::SleepFor(absl::Milliseconds(20));
    }
    if (!exited) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = 0;
  }
  // dockerd stops its containerd when it stops cleanly; after a SIGKILL containerd (and any
  // shim) lives on, reparented: they name the engine's exec-root on their command lines.
  const std::string needle = absl::StrCat(exec_root_, "/");
  for (pid_t left : ProcessesNaming(needle)) kill(left, SIGKILL);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!ProcessesNaming(needle).empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
}

long PrivateEngine::RssKib() const {
  if (pid_ == 0) return 0;
  long total = RssOf(pid_);
  for (pid_t other : ProcessesNaming(absl::StrCat(exec_root_, "/"))) {
    if (other != pid_) total += RssOf(other);
  }
  return total;
}

std::string PrivateEngine::LogTail(size_t bytes) const {
  std::string log = ReadFile(log_path_);
  if (log.size() > bytes) log = log.substr(log.size() - bytes);
  return log;
}

}  // namespace infrakit::plugins::flavor::swarm
