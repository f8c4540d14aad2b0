#include "plugins/instance/instance_main.h"

#include <vector>

#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "plugins/instance/directory_lock.h"
#include "plugins/instance/instance_service.h"
#include "services/runtime/plugin_server.h"

namespace infrakit::plugins::instance {

int RunDirectoryPlugin(int argc, char** argv, const DirectoryPluginMain& plugin) {
  namespace runtime = ::infrakit::services::runtime;
  runtime::PluginIdentity identity;
  identity.default_name = plugin.name;
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_INSTANCE;
  identity.type = "infrakit.InstancePlugin/1.0";
  identity.binary = plugin.binary;
  identity.implements = {{"infrakit.instance.v1.InstanceService", "v1"}};

  const std::vector<std::string> args = runtime::InitPlugin(argc, argv, identity);
  if (args.size() > 1) {
    LOG(ERROR) << "unexpected arguments: " << absl::StrJoin(args.begin() + 1, args.end(), " ")
               << " (the directory is given with --dir)";
    return 1;
  }
  std::string dir = plugin.dir_flag();
  if (dir.empty()) dir = runtime::InfrakitHome() + "/" + plugin.name;

  // Before the core reads anything there: a second plugin on the directory must change nothing.
  absl::StatusOr<DirectoryLock> lock = LockDirectory(dir, plugin.binary);
  if (!lock.ok()) {
    LOG(ERROR) << plugin.name << ": " << lock.status();
    return 1;
  }
  absl::StatusOr<std::shared_ptr<spi::instance::InstancePlugin>> core = plugin.create(dir);
  if (!core.ok()) {
    LOG(ERROR) << plugin.name << ": " << core.status();
    return 1;
  }
  VLOG(1) << plugin.name << ": instances in " << dir;
  // Destroyed in reverse order: the server stops (cancelling watches) before the service and
  // its core go.
  InstanceService service(*std::move(core));
  runtime::PluginServer server(identity);
  server.AddService(&service);
  return server.Run();
}

}  // namespace infrakit::plugins::instance
