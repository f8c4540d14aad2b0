// `infrakitctl group ...`: the verbs of the tutorial (watch, inspect, describe, update,
// destroy, ...) on a group plugin.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_GROUP_COMMANDS_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_GROUP_COMMANDS_H_

#include <vector>

#include "tools/infrakitctl/command_line.h"

namespace infrakit::tools::infrakitctl {

// The "group" area and its verbs, handlers included.
std::vector<CommandSpec> GroupCommands();

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_GROUP_COMMANDS_H_
