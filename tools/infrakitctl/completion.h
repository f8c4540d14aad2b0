// Bash completion for infrakitctl, generated from the command table so that it always knows
// every verb and flag. `infrakitctl completion bash` prints it; tools/infrakitctl/infrakitctl.bash
// is the same script checked in (a test keeps the two equal).
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_COMPLETION_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_COMPLETION_H_

#include <string>

#include "tools/infrakitctl/command_line.h"

namespace infrakit::tools::infrakitctl {

// The bash script: a function _infrakitctl and `complete -F _infrakitctl infrakitctl`.
// Completes commands and verbs, the flags each accepts, --output values, directories for
// directory flags, files for FILE arguments, plugin names for --name (from `infrakitctl plugin
// ls -q`), group IDs for group verbs taking ID (from `infrakitctl group ls -q`), instance IDs for
// `instance destroy`, and bundled plugin names for `plugin start`. Thread-safe (pure).
std::string BashCompletion(const CommandTable& table);

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_COMPLETION_H_
