// infrakit-instance-vagrant: the instance-vagrant plugin binary (see vagrant_plugin.h).
//
//   infrakit-instance-vagrant [--dir DIR] [--docker-host unix:///run/docker.sock]
//       [--max-parallel 4] [--vagrant vagrant] [--docker docker] [--watch-docker=true]
//       [--name instance-vagrant] [--plugins-dir DIR] [--log 5]
//
// The machines outlive this process: stopping or restarting the plugin leaves them running,
// and the next start over the same --dir re-adopts them.
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "plugins/instance/instance_main.h"
#include "plugins/instance/vagrant/vagrant_plugin.h"

ABSL_FLAG(std::string, dir, "",
          "Directory holding one directory per instance (Vagrantfile, init, state); created if "
          "missing (default: <InfraKit home>/instance-vagrant)");
ABSL_FLAG(std::string, docker_host, "",
          "DOCKER_HOST for vagrant's docker provider and the container watch, e.g. "
          "unix:///run/engine.sock (default: the plugin's own DOCKER_HOST, else Docker's default)");
ABSL_FLAG(int, max_parallel, 4, "The most vagrant commands running at once");
ABSL_FLAG(std::string, vagrant, "vagrant", "The vagrant executable");
ABSL_FLAG(std::string, docker, "docker", "The docker CLI (for the container watch)");
ABSL_FLAG(bool, watch_docker, true,
          "Watch Docker's events for instance containers stopped or removed behind the "
          "plugin's back");

int main(int argc, char** argv) {
  namespace instance = ::infrakit::plugins::instance;
  instance::DirectoryPluginMain plugin;
  plugin.name = "instance-vagrant";
  plugin.binary = "infrakit-instance-vagrant";
  plugin.dir_flag = [] { return absl::GetFlag(FLAGS_dir); };
  plugin.create = [](const std::string& dir)
      -> absl::StatusOr<std::shared_ptr<infrakit::spi::instance::InstancePlugin>> {
    instance::vagrant::VagrantPlugin::Options options;
    options.dir = dir;
    options.docker_host = absl::GetFlag(FLAGS_docker_host);
    options.max_parallel = absl::GetFlag(FLAGS_max_parallel);
    options.vagrant = absl::GetFlag(FLAGS_vagrant);
    options.docker = absl::GetFlag(FLAGS_docker);
    options.watch_docker = absl::GetFlag(FLAGS_watch_docker);
    auto core = instance::vagrant::VagrantPlugin::Create(options);
    if (!core.ok()) return core.status();
    return std::shared_ptr<infrakit::spi::instance::InstancePlugin>(*std::move(core));
  };
  return instance::RunDirectoryPlugin(argc, argv, plugin);
}
