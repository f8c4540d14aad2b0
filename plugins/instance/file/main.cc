// infrakit-instance-file: the instance-file plugin binary (see file_plugin.h).
//
//   infrakit-instance-file --dir ./tutorial/ [--name instance-file] [--plugins-dir DIR] [--log 5]
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "plugins/instance/file/file_plugin.h"
#include "plugins/instance/instance_service.h"
#include "services/runtime/plugin_server.h"

ABSL_FLAG(std::string, dir, "",
          "Directory holding one JSON file per instance; created if missing "
          "(default: <InfraKit home>/instance-file)");

int main(int argc, char** argv) {
  namespace runtime = ::infrakit::services::runtime;
  runtime::PluginIdentity identity;
  identity.default_name = "instance-file";
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_INSTANCE;
  identity.type = "infrakit.InstancePlugin/1.0";
  identity.binary = "infrakit-instance-file";
  identity.implements = {{"infrakit.instance.v1.InstanceService", "v1"}};

  const std::vector<std::string> args = runtime::InitPlugin(argc, argv, identity);
  if (args.size() > 1) {
    LOG(ERROR) << "unexpected arguments: " << absl::StrJoin(args.begin() + 1, args.end(), " ")
               << " (the directory is given with --dir)";
    return 1;
  }
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) dir = runtime::InfrakitHome() + "/instance-file";

  auto core = infrakit::plugins::instance::file::FilePlugin::Create(dir);
  if (!core.ok()) {
    LOG(ERROR) << "instance-file: " << core.status();
    return 1;
  }
  VLOG(1) << "file instance plugin. dir= " << dir;
  // Destroyed in reverse order: the server stops (cancelling watches) before the service and
  // its core go.
  infrakit::plugins::instance::InstanceService service(
      std::shared_ptr<infrakit::plugins::instance::file::FilePlugin>(*std::move(core)));
  runtime::PluginServer server(identity);
  server.AddService(&service);
  return server.Run();
}
