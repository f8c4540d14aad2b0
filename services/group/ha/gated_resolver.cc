#include "services/group/ha/gated_resolver.h"

#include <utility>

namespace infrakit::services::group::ha {

GatedResolver::GatedResolver(spi::PluginResolver* inner, std::function<absl::Status()> gate)
    : inner_(inner), gate_(std::move(gate)) {}

absl::StatusOr<std::shared_ptr<spi::instance::InstancePlugin>> GatedResolver::Instance(
    absl::string_view name) {
  if (absl::Status open = gate_(); !open.ok()) return open;
  return inner_->Instance(name);
}

absl::StatusOr<std::shared_ptr<spi::flavor::FlavorPlugin>> GatedResolver::Flavor(
    absl::string_view name) {
  if (absl::Status open = gate_(); !open.ok()) return open;
  return inner_->Flavor(name);
}

}  // namespace infrakit::services::group::ha
