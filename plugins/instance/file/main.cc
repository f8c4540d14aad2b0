// infrakit-instance-file: the instance-file plugin binary (see file_plugin.h).
//
//   infrakit-instance-file --dir ./tutorial/ [--name instance-file] [--plugins-dir DIR] [--log 5]
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "plugins/instance/file/file_plugin.h"
#include "plugins/instance/instance_main.h"

ABSL_FLAG(std::string, dir, "",
          "Directory holding one JSON file per instance; created if missing "
          "(default: <InfraKit home>/instance-file)");

int main(int argc, char** argv) {
  namespace instance = ::infrakit::plugins::instance;
  instance::DirectoryPluginMain plugin;
  plugin.name = "instance-file";
  plugin.binary = "infrakit-instance-file";
  plugin.dir_flag = [] { return absl::GetFlag(FLAGS_dir); };
  plugin.create = [](const std::string& dir)
      -> absl::StatusOr<std::shared_ptr<infrakit::spi::instance::InstancePlugin>> {
    auto core = instance::file::FilePlugin::Create(dir);
    if (!core.ok()) return core.status();
    return std::shared_ptr<infrakit::spi::instance::InstancePlugin>(*std::move(core));
  };
  return instance::RunDirectoryPlugin(argc, argv, plugin);
}
