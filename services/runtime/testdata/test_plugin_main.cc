// A plugin with nothing but the runtime, exactly as small as a real plugin's main.cc.
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "services/runtime/plugin_server.h"

ABSL_FLAG(std::string, greeting, "", "Logged at start: shows that a binary's own flags parse");

int main(int argc, char** argv) {
  infrakit::services::runtime::PluginIdentity identity;
  identity.default_name = "test-plugin";
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_FLAVOR;
  identity.type = "infrakit.TestPlugin/1.0";
  identity.binary = "infrakit-test-plugin";

  std::vector<std::string> args = infrakit::services::runtime::InitPlugin(argc, argv, identity);
  LOG(INFO) << "greeting=" << absl::GetFlag(FLAGS_greeting)
            << " args=" << absl::StrJoin(args.begin() + 1, args.end(), ",");
  VLOG(1) << "verbose logging on";

  infrakit::services::runtime::PluginServer server(identity);
  return server.Run();
}
