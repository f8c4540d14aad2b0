// The build's git revision, stamped by Bazel's workspace status (tools/workspace_status.sh).
// Every binary reports it in `--version` and in PluginService.Info.
#ifndef INFRAKIT_TOOLS_VERSION_VERSION_INFO_H_
#define INFRAKIT_TOOLS_VERSION_VERSION_INFO_H_

#include "absl/strings/string_view.h"

namespace infrakit::tools::version {

// The full git revision (40 hex digits) of the tree this binary was built from, or "unknown"
// when the build had no git. Thread-safe (constant).
absl::string_view Revision();

// The short git revision, with ".m" appended when the tree had uncommitted changes to tracked
// files (e.g. "75d7f4d.m", as in the original InfraKit), or "unknown". Thread-safe (constant).
absl::string_view Version();

}  // namespace infrakit::tools::version

#endif  // INFRAKIT_TOOLS_VERSION_VERSION_INFO_H_
