// Running a real binary (a plugin, the CLI) as a child process in an end-to-end test.
#ifndef INFRAKIT_TESTS_TESTING_PLUGIN_PROCESS_H_
#define INFRAKIT_TESTS_TESTING_PLUGIN_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace infrakit::testing {

// One child process. Typical use:
//
//   TempDir dir;
//   PluginProcess plugin("plugins/instance/file/infrakit-instance-file",
//                        {"--plugins-dir", dir.path(), "--dir", dir.Join("instances")},
//                        dir.path());
//   ASSERT_OK(plugin.Start());
//   ASSERT_OK(plugin.WaitReady(dir.Join("instance-file.sock"), absl::Seconds(10)))
//       << plugin.Stderr();
//
// stdout and stderr go to files in `log_dir` so that a failing test can print them; stdin is
// /dev/null. The child gets SIGKILL if the thread that started it exits (PR_SET_PDEATHSIG), so
// a crashed test leaves no plugin behind: start processes from the test's main thread.
// Not thread-safe: use from one thread.
class PluginProcess {
 public:
  // `binary` is a runfiles path relative to the workspace (see RunfilePath: the test lists the
  // binary in `data`) or an absolute path. `args` excludes argv[0] (set to the binary's path).
  PluginProcess(std::string binary, std::vector<std::string> args, std::string log_dir);
  // Kills (SIGKILL) and reaps the child if it is still running.
  ~PluginProcess();
  PluginProcess(const PluginProcess&) = delete;
  PluginProcess& operator=(const PluginProcess&) = delete;

  // Adds or replaces an environment variable of the child (which otherwise inherits this
  // process's environment). Call before Start().
  void SetEnv(std::string name, std::string value);

  // Forks and execs the binary. Errors: FAILED_PRECONDITION if already started; NOT_FOUND if
  // the binary does not exist or is not executable; INTERNAL (errno text) if fork or a log file
  // fails.
  absl::Status Start();

  // Waits until PluginService.Info answers on `socket_path`, polling with a short pause.
  // Errors: FAILED_PRECONDITION (with the exit status and the stderr text) if the process exits
  // first; DEADLINE_EXCEEDED (with the last Info error and the stderr text) at `deadline`.
  absl::Status WaitReady(absl::string_view socket_path, absl::Duration deadline);

  // Sends `signo` to the child. Errors: FAILED_PRECONDITION if it was never started or has been
  // reaped.
  absl::Status Signal(int signo);

  // Sends SIGKILL and reaps the child. No-op if it is not running.
  void Kill();

  // Blocks until the child exits; returns its waitpid() status (use WIFEXITED / WEXITSTATUS /
  // WIFSIGNALED, or DescribeExit). Repeated calls return the same status. Returns -1 if the
  // process was never started.
  int Wait();

  // Like Wait(), but gives up at `deadline`: DEADLINE_EXCEEDED then (the child keeps running).
  absl::StatusOr<int> Wait(absl::Duration deadline);

  // True once the child has exited (reaps it without blocking).
  bool Exited();

  pid_t pid() const { return pid_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }
  // Everything the child wrote so far.
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  std::string binary_;
  std::vector<std::string> args_;
  std::string log_dir_;
  std::vector<std::pair<std::string, std::string>> env_overrides_;
  std::string stdout_path_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// "exited with status 3", "killed by signal 9 (Killed)" for a waitpid() status.
std::string DescribeExit(int wait_status);

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_TESTING_PLUGIN_PROCESS_H_
