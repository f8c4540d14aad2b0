// Child processes of instance-vagrant: `vagrant up|destroy|status` run to completion, and the
// long-lived `docker events` read line by line.
#ifndef INFRAKIT_PLUGINS_INSTANCE_VAGRANT_SUBPROCESS_H_
#define INFRAKIT_PLUGINS_INSTANCE_VAGRANT_SUBPROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace infrakit::plugins::instance::vagrant {

// This process's environment with `overrides` set (an empty value removes the variable), as
// NAME=VALUE strings. Thread-safe as long as nobody modifies the environment.
std::vector<std::string> EnvironmentWith(const std::map<std::string, std::string>& overrides);

// One child process, the leader of its own process group, with stdin from /dev/null and stdout
// and stderr on one pipe. Not thread-safe, except Kill (which may be called from any thread
// while another reads or waits).
class Subprocess {
 public:
  // Starts argv[0] (looked up on $PATH when it has no '/') in `dir` ("" = the current one)
  // with environment `env`. INTERNAL (errno text) when it cannot be started.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                           const std::string& dir,
                                                           const std::vector<std::string>& env);
  // Kills (SIGKILL to the group) and reaps the child if it has not been waited for.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Reads the next line of output (without its '\n'); false at the end of the output.
  bool ReadLine(std::string* line);
  // Reads the output to its end and keeps (at most) its last `max_bytes`.
  std::string ReadAll(size_t max_bytes);
  // Sends `signo` to the child's process group, unless it has been reaped.
  void Kill(int signo);
  // Waits for the child: its exit code, or 128 + the signal that killed it.
  int Wait();

  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}

  pid_t pid_;
  int out_fd_;
  std::atomic<bool> reaped_{false};
  std::string buffer_;  // Read, not yet returned by ReadLine.
};

// What a command that ran to its end said.
struct CommandResult {
  // As Subprocess::Wait.
  int exit_code = -1;
  // The end of its stdout and stderr, interleaved.
  std::string output;
};

// Runs a command to its end. Errors as Subprocess::Start. Thread-safe.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& dir,
                                         const std::vector<std::string>& env);

}  // namespace infrakit::plugins::instance::vagrant

#endif  // INFRAKIT_PLUGINS_INSTANCE_VAGRANT_SUBPROCESS_H_
