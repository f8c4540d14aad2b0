#include "tests/e2e/tutorial/cli_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace infrakit::tests::e2e::tutorial {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status ErrnoError(absl::string_view what, int error) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(error)));
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(
    const std::string& binary, const std::vector<std::string>& args, const std::string& stdin_text,
    const std::vector<std::pair<std::string, std::string>>& env, absl::Duration deadline) {
  const std::string path = infrakit::testing::RunfilePath(binary);
  if (access(path.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("no executable ", path));
  }
  infrakit::testing::TempDir scratch;
  const std::string in_path = scratch.Join("stdin");
  const std::string out_path = scratch.Join("stdout");
  const std::string err_path = scratch.Join("stderr");
  std::ofstream(in_path) << stdin_text;

  std::vector<std::string> argv_strings = {path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    bool replaced = false;
    for (const auto& [name, value] : env) {
      replaced = replaced || absl::StartsWith(*e, name + "=");
    }
    if (!replaced) env_strings.push_back(*e);
  }
  for (const auto& [name, value] : env) env_strings.push_back(absl::StrCat(name, "=", value));
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = -1;
  const int spawn_error =
      posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) return ErrnoError(absl::StrCat("spawning ", path), spawn_error);

  // Wait for the exit on a pidfd, so the deadline needs no polling.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int error = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return ErrnoError("pidfd_open", error);
  }
  const absl::Time end = absl::Now() + deadline;
  bool exited = false;
  while (!exited) {
    const absl::Duration left = end - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd fd = {pidfd, POLLIN, 0};
    const int ready = poll(&fd, 1, static_cast<int>(std::ceil(absl::ToDoubleMilliseconds(left))));
    exited = ready > 0;
  }
  close(pidfd);
  if (!exited) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CommandResult result;
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  if (!exited) {
    return absl::DeadlineExceededError(absl::StrCat(path, " did not exit within ",
                                                    absl::FormatDuration(deadline), "; stdout:\n",
                                                    result.out, "\nstderr:\n", result.err));
  }
  result.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return result;
}

}  // namespace infrakit::tests::e2e::tutorial
