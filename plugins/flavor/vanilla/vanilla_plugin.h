// flavor-vanilla: plain init lines, tags and attachments, plus optional health probes.
//
// The flavor of the seed README's tutorial: Prepare appends "UserData" (or "Init") lines to the
// spec's init script, merges "Labels" (or "Tags") into its tags and adds "Attachments";
// Healthy runs the optional "HealthCheck" (see vanilla_properties.h for the properties).
#ifndef INFRAKIT_PLUGINS_FLAVOR_VANILLA_VANILLA_PLUGIN_H_
#define INFRAKIT_PLUGINS_FLAVOR_VANILLA_VANILLA_PLUGIN_H_

#include "spi/flavor/flavor_plugin.h"

namespace infrakit::plugins::flavor::vanilla {

namespace v1 = ::infrakit::flavor::v1;

// Stateless: every method works from its request alone, so any number of threads may call.
class VanillaPlugin : public spi::flavor::FlavorPlugin {
 public:
  // Parses the properties and checks Size / LogicalIDs against the allocation.
  // INVALID_ARGUMENT naming the field.
  absl::Status Validate(const v1::ValidateRequest& request) override;

  // The spec with init = spec.init + "\n" + the lines joined by "\n" (unchanged without lines),
  // the flavor's tags merged over the caller's, and the flavor's attachments appended (unless
  // the spec has an identical one). Validates like Validate.
  absl::StatusOr<v1::PrepareResponse> Prepare(const v1::PrepareRequest& request) override;

  // HEALTHY without a HealthCheck; otherwise runs the probe (blocking up to its timeout):
  // HEALTHY when it passes, UNHEALTHY with the reason when it fails, UNKNOWN with the reason
  // when it cannot run (an address uses {{.LogicalID}} and the instance has none, the
  // command cannot be started). INVALID_ARGUMENT only for bad properties.
  absl::StatusOr<v1::HealthyResponse> Healthy(const v1::HealthyRequest& request) override;

  // Nothing to drain: OK once the properties parse.
  absl::Status Drain(const v1::DrainRequest& request) override;
};

}  // namespace infrakit::plugins::flavor::vanilla

#endif  // INFRAKIT_PLUGINS_FLAVOR_VANILLA_VANILLA_PLUGIN_H_
