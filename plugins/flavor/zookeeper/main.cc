// infrakit-flavor-zookeeper: the flavor-zookeeper plugin binary (see zookeeper_plugin.h).
//
//   infrakit-flavor-zookeeper [--name flavor-zookeeper] [--plugins-dir DIR] [--log 5]
//
// `--name zookeeper` serves the same plugin under the name the original InfraKit used.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "plugins/flavor/flavor_service.h"
#include "plugins/flavor/zookeeper/zookeeper_plugin.h"
#include "services/runtime/plugin_server.h"

int main(int argc, char** argv) {
  namespace runtime = ::infrakit::services::runtime;
  runtime::PluginIdentity identity;
  identity.default_name = "flavor-zookeeper";
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_FLAVOR;
  identity.type = "infrakit.FlavorPlugin/1.0";
  identity.binary = "infrakit-flavor-zookeeper";
  identity.implements = {{"infrakit.flavor.v1.FlavorService", "v1"}};

  const std::vector<std::string> args = runtime::InitPlugin(argc, argv, identity);
  if (args.size() > 1) {
    LOG(ERROR) << "unexpected arguments: " << absl::StrJoin(args.begin() + 1, args.end(), " ");
    return 1;
  }
  infrakit::plugins::flavor::FlavorService service(
      std::make_shared<infrakit::plugins::flavor::zookeeper::ZookeeperPlugin>());
  runtime::PluginServer server(identity);
  server.AddService(&service);
  return server.Run();
}
