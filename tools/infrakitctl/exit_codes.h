// The exit codes of infrakitctl: distinct per kind of failure so that scripts can tell "not
// there" from "not answering" without parsing messages. Documented in `infrakitctl --help` and
// tools/infrakitctl/README.md; never renumber them.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_EXIT_CODES_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_EXIT_CODES_H_

#include "absl/status/status.h"

namespace infrakit::tools::infrakitctl {

enum ExitCode : int {
  // Done.
  kExitOk = 0,
  // Anything else: bad input rejected by a plugin or by the config parser, an update that
  // paused / rolled back / was stopped, an unhealthy instance (flavor healthy), ...
  kExitFailure = 1,
  // The command line is wrong: unknown verb or flag, missing or extra arguments.
  kExitUsage = 2,
  // What was named does not exist: a plugin, a group or an instance.
  kExitNotFound = 3,
  // A plugin is down or does not answer in time (stale socket, crashed, hung).
  kExitUnavailable = 4,
  // Interrupted by Ctrl-C (128 + SIGINT), as shells report it.
  kExitInterrupted = 130,
};

// The exit code for a failed call: NOT_FOUND -> kExitNotFound; UNAVAILABLE and
// DEADLINE_EXCEEDED -> kExitUnavailable; OK -> kExitOk; everything else -> kExitFailure.
// Thread-safe (pure).
int ExitCodeFor(const absl::Status& status);

// The table printed by `infrakitctl --help` and in the README: one line per code.
const char* ExitCodesHelp();

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_EXIT_CODES_H_
