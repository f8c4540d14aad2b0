#include "plugins/instance/terraform/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace infrakit::plugins::instance::terraform {
namespace {

constexpr size_t kMaxOutput = 64 << 20;

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// Reads `out` and `err` until both reach end of file.
void Drain(int out, int err, CommandResult* result) {
  pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
  std::string* sinks[2] = {&result->out, &result->err};
  int open = 2;
  char buffer[65536];
  while (open > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      const size_t room = kMaxOutput - std::min(kMaxOutput, sinks[i]->size());
      sinks[i]->append(buffer, std::min(room, static_cast<size_t>(n)));
    }
  }
}

}  // namespace

namespace {

// A relative path with a '/' would be looked up from `dir` once the child is there.
std::string Absolute(std::string path) {
  if (path.empty() || path[0] == '/') return path;
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

}  // namespace

SubprocessRunner::SubprocessRunner(std::string binary, std::string dir)
    : binary_(binary.find('/') == std::string::npos ? std::move(binary)
                                                    : Absolute(std::move(binary))),
      dir_(Absolute(std::move(dir))) {}

absl::StatusOr<CommandResult> SubprocessRunner::Run(const std::vector<std::string>& args) {
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "TF_IN_AUTOMATION=", 17) != 0) env_strings.emplace_back(*entry);
  }
  env_strings.emplace_back("TF_IN_AUTOMATION=1");
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {binary_};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2], err[2], exec_error[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError(std::strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return absl::InternalError(std::strerror(errno));
  }
  if (pipe2(exec_error, O_CLOEXEC) != 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    return absl::InternalError(std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0 ||
        chdir(dir_.c_str()) != 0) {
      const int e = errno;
      (void)!write(exec_error[1], &e, sizeof(e));
      _exit(127);
    }
    setpgid(0, 0);  // Interrupt() signals the command and whatever it started.
    execvpe(argv[0], argv.data(), envp.data());
    const int e = errno;
    (void)!write(exec_error[1], &e, sizeof(e));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  close(exec_error[1]);
  if (pid > 0) setpgid(pid, pid);  // Also here: the child may not have run yet.
  if (pid < 0) {
    const int e = errno;
    for (int fd : {out[0], err[0], exec_error[0]}) close(fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(e)));
  }
  {
    absl::MutexLock lock(&mu_);
    running_ = pid;
  }
  CommandResult result;
  Drain(out[0], err[0], &result);
  int child_errno = 0;
  const bool exec_failed = read(exec_error[0], &child_errno, sizeof(child_errno)) ==
                           static_cast<ssize_t>(sizeof(child_errno));
  for (int* fd : {&out[0], &err[0], &exec_error[0]}) CloseFd(fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  {
    absl::MutexLock lock(&mu_);
    running_ = 0;
  }
  if (exec_failed) {
    const std::string message =
        absl::StrCat("cannot run ", binary_, " in ", dir_, ": ", std::strerror(child_errno));
    if (child_errno == ENOENT) return absl::NotFoundError(message);
    if (child_errno == EACCES) return absl::PermissionDeniedError(message);
    return absl::InternalError(message);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

void SubprocessRunner::Interrupt() {
  absl::MutexLock lock(&mu_);
  if (running_ > 0) kill(-running_, SIGINT);
}

}  // namespace infrakit::plugins::instance::terraform
