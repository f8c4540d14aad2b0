// A plugin binary for the launcher's tests: the plugin runtime with nothing behind it, plus
// ways to misbehave (--mode).
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "services/runtime/plugin_server.h"

ABSL_FLAG(std::string, mode, "serve",
          "serve: a normal plugin; exit: print a line and exit 3 before listening; hang: never "
          "listen; stubborn: serve but ignore SIGTERM");
ABSL_FLAG(std::string, note, "", "printed at start (shows that extra arguments arrive)");

int main(int argc, char** argv) {
  infrakit::services::runtime::PluginIdentity identity;
  identity.default_name = "fake";
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_INSTANCE;
  identity.type = "infrakit.FakePlugin/1.0";
  identity.binary = "infrakit-fake-plugin";
  infrakit::services::runtime::InitPlugin(argc, argv, identity);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  std::cerr << "fake plugin mode=" << mode << " note=" << absl::GetFlag(FLAGS_note) << std::endl;
  if (mode == "exit") {
    std::cerr << "failing on purpose" << std::endl;
    return 3;
  }
  if (mode == "hang") {
    while (true) pause();
  }
  infrakit::services::runtime::PluginServer server(identity);
  if (mode == "stubborn") {
    signal(SIGTERM, SIG_IGN);
    if (!server.Start().ok()) return 1;
    while (true) pause();
  }
  return server.Run();
}
