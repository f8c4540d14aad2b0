// Running the terraform binary: the seam between the plugin's core and the real tool, so that
// the core is tested against a stand-in script or an in-memory fake.
#ifndef INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_COMMAND_RUNNER_H_
#define INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_COMMAND_RUNNER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace infrakit::plugins::instance::terraform {

// How a command ended and what it printed.
struct CommandResult {
  // The exit status; 128 + the signal's number when a signal ended it.
  int exit_code = 0;
  std::string out;
  std::string err;
};

// Runs terraform commands in the plugin's working directory.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;

  // Runs terraform with `args` (e.g. {"apply", "-auto-approve"}) and returns once it has exited,
  // with its exit status and output; a non-zero exit is a result, not an error. Errors: NOT_FOUND
  // / PERMISSION_DENIED when the binary cannot be executed, INTERNAL when no process can be
  // started. Threading: may block for as long as the command runs; callers must hold no lock.
  // Calls may overlap (the plugin never makes them overlap).
  virtual absl::StatusOr<CommandResult> Run(const std::vector<std::string>& args) = 0;

  // Asks the command under way, if any, to stop (SIGINT, which terraform handles by stopping
  // cleanly); later Runs are not affected. Thread-safe; never blocks.
  virtual void Interrupt() = 0;
};

// The real runner: forks and execs `binary` (searched on $PATH when it has no '/') in `dir`,
// stdin from /dev/null, the plugin's environment plus TF_IN_AUTOMATION=1, stdout and stderr
// captured (each up to 64 MiB; the rest is dropped).
class SubprocessRunner : public CommandRunner {
 public:
  SubprocessRunner(std::string binary, std::string dir);

  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& args) override;
  void Interrupt() override;

 private:
  const std::string binary_;
  const std::string dir_;
  absl::Mutex mu_;
  // The command under way; 0 when none.
  pid_t running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace infrakit::plugins::instance::terraform

#endif  // INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_COMMAND_RUNNER_H_
