// `infrakitctl instance ...`: talking to an instance plugin directly (describe, provision,
// destroy, validate), as the tutorial does with `instance --name instance-file describe`.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_INSTANCE_COMMANDS_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_INSTANCE_COMMANDS_H_

#include <vector>

#include "tools/infrakitctl/command_line.h"

namespace infrakit::tools::infrakitctl {

// The "instance" area and its verbs, handlers included.
std::vector<CommandSpec> InstanceCommands();

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_INSTANCE_COMMANDS_H_
