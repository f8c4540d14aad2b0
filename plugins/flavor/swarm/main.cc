// infrakit-flavor-swarm: the flavor-swarm plugin binary (see swarm_plugin.h).
//
//   infrakit-flavor-swarm [--name flavor-swarm] [--plugins-dir DIR] [--log 5]
//
// `--name swarm` serves the same plugin under the name the original InfraKit used.
#include <memory>

#include "plugins/flavor/flavor_main.h"
#include "plugins/flavor/swarm/swarm_plugin.h"

int main(int argc, char** argv) {
  return infrakit::plugins::flavor::RunFlavorPlugin(
      argc, argv, "flavor-swarm", "infrakit-flavor-swarm",
      std::make_shared<infrakit::plugins::flavor::swarm::SwarmPlugin>());
}
