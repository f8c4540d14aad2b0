// The main() of every flavor plugin binary: its identity (name, binary), no positional
// arguments, a FlavorService over its core, served until SIGTERM / SIGINT.
#ifndef INFRAKIT_PLUGINS_FLAVOR_FLAVOR_MAIN_H_
#define INFRAKIT_PLUGINS_FLAVOR_FLAVOR_MAIN_H_

#include <memory>
#include <string>

#include "spi/flavor/flavor_plugin.h"

namespace infrakit::plugins::flavor {

// Runs the flavor plugin `binary` (e.g. "infrakit-flavor-vanilla") under `default_name` (e.g.
// "flavor-vanilla"; --name overrides it) with `core` behind its FlavorService. Returns the exit
// code: 1 for unexpected arguments or a server that could not start.
int RunFlavorPlugin(int argc, char** argv, const std::string& default_name,
                    const std::string& binary, std::shared_ptr<spi::flavor::FlavorPlugin> core);

}  // namespace infrakit::plugins::flavor

#endif  // INFRAKIT_PLUGINS_FLAVOR_FLAVOR_MAIN_H_
