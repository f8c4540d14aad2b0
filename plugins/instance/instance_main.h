// The main() of an instance plugin whose core keeps its instances under one directory
// (infrakit-instance-file, infrakit-instance-process): flags, identity, the InstanceService over
// the core, the plugin server, in the order that shuts them down safely.
#ifndef INFRAKIT_PLUGINS_INSTANCE_INSTANCE_MAIN_H_
#define INFRAKIT_PLUGINS_INSTANCE_INSTANCE_MAIN_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::plugins::instance {

// What differs between the directory-based instance plugins' binaries.
struct DirectoryPluginMain {
  // Socket name when --name is not given, e.g. "instance-file"; also the default directory's
  // name under the InfraKit home and the prefix of error messages.
  std::string name;
  // The executable, e.g. "infrakit-instance-file".
  std::string binary;
  // Reads the binary's --dir flag (called after the command line is parsed; "" when not given).
  std::function<std::string()> dir_flag;
  // Opens the core over the directory. Errors are printed and make the binary exit 1.
  std::function<absl::StatusOr<std::shared_ptr<spi::instance::InstancePlugin>>(
      const std::string& dir)>
      create;
};

// Parses the command line (services/runtime InitPlugin: --name, --plugins-dir, --log,
// --version, and the binary's own flags), refuses positional arguments, locks --dir (default
// <InfraKit home>/<name>; LockDirectory: a directory another plugin holds makes it exit 1
// before reading anything there), opens the core over it and serves it until SIGINT/SIGTERM.
// Returns the exit code.
int RunDirectoryPlugin(int argc, char** argv, const DirectoryPluginMain& plugin);

}  // namespace infrakit::plugins::instance

#endif  // INFRAKIT_PLUGINS_INSTANCE_INSTANCE_MAIN_H_
