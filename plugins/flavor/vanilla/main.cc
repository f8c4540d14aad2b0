// infrakit-flavor-vanilla: the flavor-vanilla plugin binary (see vanilla_plugin.h).
//
//   infrakit-flavor-vanilla [--name flavor-vanilla] [--plugins-dir DIR] [--log 5]
#include <memory>

#include "plugins/flavor/flavor_main.h"
#include "plugins/flavor/vanilla/vanilla_plugin.h"

int main(int argc, char** argv) {
  return infrakit::plugins::flavor::RunFlavorPlugin(
      argc, argv, "flavor-vanilla", "infrakit-flavor-vanilla",
      std::make_shared<infrakit::plugins::flavor::vanilla::VanillaPlugin>());
}
