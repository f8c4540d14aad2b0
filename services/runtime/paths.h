// Where InfraKit keeps things (docs/design.md): the plugins directory and the InfraKit home.
// Separate from plugin_server.h so that clients (the CLI) resolve the same directory without
// linking the server runtime and its flags.
#ifndef INFRAKIT_SERVICES_RUNTIME_PATHS_H_
#define INFRAKIT_SERVICES_RUNTIME_PATHS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace infrakit::services::runtime {

// The system-wide plugins directory, used when it is writable (root, or a directory an operator
// opened up as in the original InfraKit's tutorial: `chmod 777 /run/infrakit/plugins`).
inline constexpr absl::string_view kSystemPluginsDir = "/run/infrakit/plugins";

// The plugins directory (docs/design.md): `flag_value` if set, else $INFRAKIT_PLUGINS_DIR,
// else kSystemPluginsDir when writable, else $XDG_RUNTIME_DIR/infrakit/plugins, else
// InfrakitHome() + "/plugins" (~/.infrakit/plugins). Does not create anything.
// Thread-safe if nobody modifies the environment concurrently.
std::string ResolvePluginsDir(absl::string_view flag_value);

// ResolvePluginsDir with the system directory given, so tests can choose a writable or an
// unwritable one. `system_dir` counts as writable when it is a writable directory, or when it is
// missing and its nearest existing ancestor is writable (it can be created).
std::string ResolvePluginsDirWithSystemDir(absl::string_view flag_value,
                                           absl::string_view system_dir);

// $INFRAKIT_HOME if set, else $HOME/.infrakit (the passwd entry's home without $HOME).
// Thread-safe if nobody modifies the environment concurrently.
std::string InfrakitHome();

}  // namespace infrakit::services::runtime

#endif  // INFRAKIT_SERVICES_RUNTIME_PATHS_H_
