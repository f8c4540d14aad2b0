// infrakit-instance-process: the instance-process plugin binary (see process_plugin.h).
//
//   infrakit-instance-process [--dir DIR] [--name instance-process] [--plugins-dir DIR] [--log 5]
//
// The instances' processes outlive this one: stopping or restarting the plugin leaves them
// running, and the next start over the same --dir re-adopts them.
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "plugins/instance/instance_main.h"
#include "plugins/instance/process/process_plugin.h"

ABSL_FLAG(std::string, dir, "",
          "Directory holding one directory per instance (script, log, state); created if "
          "missing (default: <InfraKit home>/instance-process)");

int main(int argc, char** argv) {
  namespace instance = ::infrakit::plugins::instance;
  instance::DirectoryPluginMain plugin;
  plugin.name = "instance-process";
  plugin.binary = "infrakit-instance-process";
  plugin.dir_flag = [] { return absl::GetFlag(FLAGS_dir); };
  plugin.create = [](const std::string& dir)
      -> absl::StatusOr<std::shared_ptr<infrakit::spi::instance::InstancePlugin>> {
    auto core = instance::process::ProcessPlugin::Create(dir);
    if (!core.ok()) return core.status();
    return std::shared_ptr<infrakit::spi::instance::InstancePlugin>(*std::move(core));
  };
  return instance::RunDirectoryPlugin(argc, argv, plugin);
}
