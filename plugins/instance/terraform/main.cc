// infrakit-instance-terraform: the instance-terraform plugin binary (see terraform_plugin.h).
//
//   infrakit-instance-terraform [--dir DIR] [--terraform terraform] [--name instance-terraform]
//                               [--plugins-dir DIR] [--log 5]
//
// --dir is the Terraform working directory (the instances' .tf.json files, Terraform's state,
// and whatever other .tf files the user puts there: providers, variables, shared resources).
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "plugins/instance/instance_main.h"
#include "plugins/instance/terraform/command_runner.h"
#include "plugins/instance/terraform/terraform_plugin.h"

ABSL_FLAG(std::string, dir, "",
          "The Terraform working directory: one <instance>.tf.json per instance, the state, and "
          "the user's own .tf files; created if missing (default: <InfraKit home>/"
          "instance-terraform)");
ABSL_FLAG(std::string, terraform, "terraform",
          "The terraform binary: a path, or a name looked up on $PATH");

int main(int argc, char** argv) {
  namespace instance = ::infrakit::plugins::instance;
  instance::DirectoryPluginMain plugin;
  plugin.name = "instance-terraform";
  plugin.binary = "infrakit-instance-terraform";
  plugin.dir_flag = [] { return absl::GetFlag(FLAGS_dir); };
  plugin.create = [](const std::string& dir)
      -> absl::StatusOr<std::shared_ptr<infrakit::spi::instance::InstancePlugin>> {
    instance::terraform::TerraformPluginOptions options;
    options.dir = dir;
    options.runner = std::make_shared<instance::terraform::SubprocessRunner>(
        absl::GetFlag(FLAGS_terraform), dir);
    auto core = instance::terraform::TerraformPlugin::Create(std::move(options));
    if (!core.ok()) return core.status();
    return std::shared_ptr<infrakit::spi::instance::InstancePlugin>(*std::move(core));
  };
  return instance::RunDirectoryPlugin(argc, argv, plugin);
}
