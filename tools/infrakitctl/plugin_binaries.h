// The plugins bundled with InfraKit, by the names the tutorial uses, and where their
// binaries are: what `infrakitctl plugin start NAME` runs.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_PLUGIN_BINARIES_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_PLUGIN_BINARIES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace infrakit::tools::infrakitctl {

struct BundledPlugin {
  std::string name;     // the plugin's default name (its socket's name), e.g. "instance-file"
  std::string binary;   // the executable's file name, e.g. "infrakit-instance-file"
  std::string package;  // its Bazel package, e.g. "plugins/instance/file"
  std::string summary;  // one line for --help
};

// group, instance-file, flavor-vanilla, instance-process, flavor-zookeeper, flavor-swarm,
// instance-terraform.
const std::vector<BundledPlugin>& BundledPlugins();

// The bundled plugin named `name`, or nullptr.
const BundledPlugin* FindBundledPlugin(absl::string_view name);

// The path of this process's executable (/proc/self/exe resolved), or "" if unknown.
std::string SelfExecutable();

// Where `plugin`'s binary is, looked for in order:
//   1. the Bazel output tree `self_exe` sits in: ".../bin/tools/infrakitctl/infrakitctl" ->
//      ".../bin/<package>/<binary>";
//   2. the directory of `self_exe` (an installation with all binaries side by side);
//   3. each directory of `path_env` (a $PATH value).
// The first executable regular file wins. Errors: NOT_FOUND listing the places looked at and
// how to build the binary. Thread-safe (reads the file system).
absl::StatusOr<std::string> LocatePluginBinary(const BundledPlugin& plugin,
                                               absl::string_view self_exe,
                                               absl::string_view path_env);

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_PLUGIN_BINARIES_H_
