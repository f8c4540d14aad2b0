// `infrakitctl plugin ...`: discovery (`plugin ls`, as in the original InfraKit) and the launcher
// (`plugin start`, the README's main job).
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_PLUGIN_COMMANDS_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_PLUGIN_COMMANDS_H_

#include <vector>

#include "tools/infrakitctl/command_line.h"

namespace infrakit::tools::infrakitctl {

// The "plugin" area and its verbs, handlers included.
std::vector<CommandSpec> PluginCommands();

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_PLUGIN_COMMANDS_H_
