// infrakit-instance-file: the instance-file plugin binary (see file_plugin.h).
//
//   infrakit-instance-file --dir ./tutorial/ [--spare-files 16384] [--name instance-file]
//       [--plugins-dir DIR] [--log 5]
#include <cstdint>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "plugins/instance/file/file_plugin.h"
#include "plugins/instance/instance_main.h"

ABSL_FLAG(std::string, dir, "",
          "Directory holding one JSON file per instance; created if missing "
          "(default: <InfraKit home>/instance-file)");

ABSL_FLAG(int64_t, spare_files, 16384,
          "How many emptied files of destroyed instances are kept in <dir>/.spare for new "
          "instances to be written into (no inode freed or allocated: on ext4 without a "
          "journal, new inodes get slow after many deletions); 0 keeps none");

int main(int argc, char** argv) {
  namespace instance = ::infrakit::plugins::instance;
  instance::DirectoryPluginMain plugin;
  plugin.name = "instance-file";
  plugin.binary = "infrakit-instance-file";
  plugin.dir_flag = [] { return absl::GetFlag(FLAGS_dir); };
  plugin.create = [](const std::string& dir)
      -> absl::StatusOr<std::shared_ptr<infrakit::spi::instance::InstancePlugin>> {
    const int64_t spare_files = absl::GetFlag(FLAGS_spare_files);
    if (spare_files < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--spare-files: must be 0 or more, got ", spare_files));
    }
    instance::file::FilePlugin::Options options;
    options.spare_files = static_cast<size_t>(spare_files);
    auto core = instance::file::FilePlugin::Create(dir, options);
    if (!core.ok()) return core.status();
    return std::shared_ptr<infrakit::spi::instance::InstancePlugin>(*std::move(core));
  };
  return instance::RunDirectoryPlugin(argc, argv, plugin);
}
