// infrakit-instance-process: the instance-process plugin binary (see process_plugin.h).
//
//   infrakit-instance-process [--dir DIR] [--name instance-process] [--plugins-dir DIR] [--log 5]
//
// The instances' processes outlive this one: stopping or restarting the plugin leaves them
// running, and the next start over the same --dir re-adopts them.
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "plugins/instance/instance_service.h"
#include "plugins/instance/process/process_plugin.h"
#include "services/runtime/plugin_server.h"

ABSL_FLAG(std::string, dir, "",
          "Directory holding one directory per instance (script, log, state); created if "
          "missing (default: <InfraKit home>/instance-process)");

int main(int argc, char** argv) {
  namespace runtime = ::infrakit::services::runtime;
  runtime::PluginIdentity identity;
  identity.default_name = "instance-process";
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_INSTANCE;
  identity.type = "infrakit.InstancePlugin/1.0";
  identity.binary = "infrakit-instance-process";
  identity.implements = {{"infrakit.instance.v1.InstanceService", "v1"}};

  const std::vector<std::string> args = runtime::InitPlugin(argc, argv, identity);
  if (args.size() > 1) {
    LOG(ERROR) << "unexpected arguments: " << absl::StrJoin(args.begin() + 1, args.end(), " ")
               << " (the directory is given with --dir)";
    return 1;
  }
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) dir = runtime::InfrakitHome() + "/instance-process";

  auto core = infrakit::plugins::instance::process::ProcessPlugin::Create(dir);
  if (!core.ok()) {
    LOG(ERROR) << "instance-process: " << core.status();
    return 1;
  }
  // Destroyed in reverse order: the server stops (cancelling watches) before the service and
  // its core go.
  infrakit::plugins::instance::InstanceService service(
      std::shared_ptr<infrakit::plugins::instance::process::ProcessPlugin>(*std::move(core)));
  runtime::PluginServer server(identity);
  server.AddService(&service);
  return server.Run();
}
