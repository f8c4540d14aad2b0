#include "plugins/flavor/flavor_main.h"

#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "plugins/flavor/flavor_service.h"
#include "services/runtime/plugin_server.h"

namespace infrakit::plugins::flavor {

int RunFlavorPlugin(int argc, char** argv, const std::string& default_name,
                    const std::string& binary, std::shared_ptr<spi::flavor::FlavorPlugin> core) {
  namespace runtime = ::infrakit::services::runtime;
  runtime::PluginIdentity identity;
  identity.default_name = default_name;
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_FLAVOR;
  identity.type = "infrakit.FlavorPlugin/1.0";
  identity.binary = binary;
  identity.implements = {{"infrakit.flavor.v1.FlavorService", "v1"}};

  const std::vector<std::string> args = runtime::InitPlugin(argc, argv, identity);
  if (args.size() > 1) {
    LOG(ERROR) << "unexpected arguments: " << absl::StrJoin(args.begin() + 1, args.end(), " ");
    return 1;
  }
  FlavorService service(std::move(core));
  runtime::PluginServer server(identity);
  server.AddService(&service);
  return server.Run();
}

}  // namespace infrakit::plugins::flavor
