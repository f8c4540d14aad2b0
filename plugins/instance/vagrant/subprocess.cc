#include "plugins/instance/vagrant/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace infrakit::plugins::instance::vagrant {

std::vector<std::string> EnvironmentWith(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string var(*entry);
    const std::string name = var.substr(0, var.find('='));
    if (overrides.count(name) == 0) env.push_back(var);
  }
  for (const auto& [name, value] : overrides) {
    if (!value.empty()) env.push_back(absl::StrCat(name, "=", value));
  }
  return env;
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const std::vector<std::string>& argv,
                                                              const std::string& dir,
                                                              const std::vector<std::string>& env) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  if (!dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  std::vector<char*> c_argv;
  for (const std::string& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (const std::string& var : env) c_env.push_back(const_cast<char*>(var.c_str()));
  c_env.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, c_argv[0], &actions, &attr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    return absl::InternalError(
        absl::StrCat("cannot start ", argv[0], " in ", dir, ": ", std::strerror(spawned)));
  }
  return std::unique_ptr<Subprocess>(new Subprocess(pid, fds[0]));
}

Subprocess::~Subprocess() {
  if (!reaped_) {
    Kill(SIGKILL);
    Wait();
  }
  close(out_fd_);
}

bool Subprocess::ReadLine(std::string* line) {
  for (;;) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      *line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return true;
    }
    char chunk[4096];
    const ssize_t n = read(out_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (buffer_.empty()) return false;
      *line = std::move(buffer_);
      buffer_.clear();
      return true;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

std::string Subprocess::ReadAll(size_t max_bytes) {
  std::string output = std::move(buffer_);
  buffer_.clear();
  char chunk[4096];
  for (;;) {
    const ssize_t n = read(out_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(chunk, static_cast<size_t>(n));
    if (output.size() > 2 * max_bytes) output.erase(0, output.size() - max_bytes);
  }
  if (output.size() > max_bytes) output.erase(0, output.size() - max_bytes);
  return output;
}

void Subprocess::Kill(int signo) {
  // The group's ID is the leader's pid, which stays reserved until the leader is reaped.
  if (!reaped_) ::kill(-pid_, signo);
}

int Subprocess::Wait() {
  if (reaped_) return -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& dir,
                                         const std::vector<std::string>& env) {
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(argv, dir, env);
  if (!child.ok()) return child.status();
  CommandResult result;
  result.output = (*child)->ReadAll(64 * 1024);
  result.exit_code = (*child)->Wait();
  return result;
}

}  // namespace infrakit::plugins::instance::vagrant
