// Finding plugins by name at the moment they are used, so that plugins can restart on their own.
#ifndef INFRAKIT_SPI_PLUGIN_RESOLVER_H_
#define INFRAKIT_SPI_PLUGIN_RESOLVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "spi/flavor/flavor_plugin.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::spi {

// Resolves plugin names (socket names, e.g. "instance-file") to plugins.
//
// Errors: NOT_FOUND when no plugin of that name exists, UNAVAILABLE when it exists but does not
// answer. Thread-safe; may block briefly (a connect).
class PluginResolver {
 public:
  virtual ~PluginResolver() = default;

  // The instance plugin called `name`.
  virtual absl::StatusOr<std::shared_ptr<instance::InstancePlugin>> Instance(
      absl::string_view name) = 0;

  // The flavor plugin called `name`.
  virtual absl::StatusOr<std::shared_ptr<flavor::FlavorPlugin>> Flavor(absl::string_view name) = 0;
};

}  // namespace infrakit::spi

#endif  // INFRAKIT_SPI_PLUGIN_RESOLVER_H_
