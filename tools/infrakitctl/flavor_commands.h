// `infrakitctl flavor ...`: asking a flavor plugin directly what it would do (validate,
// prepare, healthy), for developing and debugging flavor configs.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_FLAVOR_COMMANDS_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_FLAVOR_COMMANDS_H_

#include <vector>

#include "tools/infrakitctl/command_line.h"

namespace infrakit::tools::infrakitctl {

// The "flavor" area and its verbs, handlers included.
std::vector<CommandSpec> FlavorCommands();

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_FLAVOR_COMMANDS_H_
