// infrakit-flavor-zookeeper: the flavor-zookeeper plugin binary (see zookeeper_plugin.h).
//
//   infrakit-flavor-zookeeper [--name flavor-zookeeper] [--plugins-dir DIR] [--log 5]
//
// `--name zookeeper` serves the same plugin under the name the original InfraKit used.
#include <memory>

#include "plugins/flavor/flavor_main.h"
#include "plugins/flavor/zookeeper/zookeeper_plugin.h"

int main(int argc, char** argv) {
  return infrakit::plugins::flavor::RunFlavorPlugin(
      argc, argv, "flavor-zookeeper", "infrakit-flavor-zookeeper",
      std::make_shared<infrakit::plugins::flavor::zookeeper::ZookeeperPlugin>());
}
