#include "tools/infrakitctl/exit_codes.h"

namespace infrakit::tools::infrakitctl {

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    default:
      return kExitFailure;
  }
}

const char* ExitCodesHelp() {
  return "Exit codes:\n"
         "  0    success\n"
         "  1    failure (bad input, an update that paused, rolled back or was stopped, ...)\n"
         "  2    usage error (unknown verb or flag, wrong arguments)\n"
         "  3    not found (no such plugin, group or instance)\n"
         "  4    plugin unavailable (stale socket, crashed or not answering in time)\n"
         "  130  interrupted (Ctrl-C)\n";
}

}  // namespace infrakit::tools::infrakitctl
