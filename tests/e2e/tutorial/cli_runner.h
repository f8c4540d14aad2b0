// Running a command (infrakitctl) to completion in an end-to-end test: its stdin given as text,
// its exit code, stdout and stderr captured, with a deadline so that a hang fails the test
// instead of stalling it.
#ifndef INFRAKIT_TESTS_E2E_TUTORIAL_CLI_RUNNER_H_
#define INFRAKIT_TESTS_E2E_TUTORIAL_CLI_RUNNER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace infrakit::tests::e2e::tutorial {

struct CommandResult {
  int exit_code = -1;  // the exit status; 128 + N when killed by signal N
  std::string out;
  std::string err;
};

// Runs `binary` (a runfiles path, see RunfilePath, or absolute) with `args` (without argv[0]),
// `stdin_text` on its stdin and this process's environment plus `env` (added or replacing).
// Errors: NOT_FOUND when the binary is missing; DEADLINE_EXCEEDED (with what it printed) when
// it has not exited within `deadline` (it is killed then); INTERNAL when a spawn or temp file
// fails. Thread-compatible.
absl::StatusOr<CommandResult> RunCommand(
    const std::string& binary, const std::vector<std::string>& args, const std::string& stdin_text,
    const std::vector<std::pair<std::string, std::string>>& env, absl::Duration deadline);

}  // namespace infrakit::tests::e2e::tutorial

#endif  // INFRAKIT_TESTS_E2E_TUTORIAL_CLI_RUNNER_H_
