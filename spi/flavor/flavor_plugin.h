// The Flavor SPI: what a flavor plugin's core implements, in plain C++.
//
// Implemented by plugin cores (plugins/flavor/<name>/), by the gRPC client
// (client/flavor_client.h) and by test fakes. Messages are the v1 protobuf contract
// (proto/infrakit/flavor/v1); errors are absl::Status with the codes the contract names.
#ifndef INFRAKIT_SPI_FLAVOR_FLAVOR_PLUGIN_H_
#define INFRAKIT_SPI_FLAVOR_FLAVOR_PLUGIN_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "spi/item_status.h"

namespace infrakit::spi::flavor {

namespace v1 = ::infrakit::flavor::v1;

// A flavor plugin. All methods are thread-safe and may block (health probes do I/O, bounded by
// their timeouts); callers must not call them while holding a lock they need elsewhere.
class FlavorPlugin {
 public:
  virtual ~FlavorPlugin() = default;

  // Checks flavor properties against the allocation. INVALID_ARGUMENT naming the field.
  virtual absl::Status Validate(const v1::ValidateRequest& request) = 0;

  // Validate's checks and, when they pass, what the flavor says about the allocation: its
  // ValidateResponse (max_unavailable, the most members that may be down at once; 0 for no
  // limit). Served as the Validate RPC. The default calls Validate and answers an empty
  // response; flavors with a limit (an ensemble's quorum) override it.
  virtual absl::StatusOr<v1::ValidateResponse> ValidateWithLimits(
      const v1::ValidateRequest& request);

  // Returns the spec of a new member: the input spec plus the flavor's init lines, tags (the
  // flavor's win on conflict, every other caller tag is kept) and attachments. Deterministic.
  virtual absl::StatusOr<v1::PrepareResponse> Prepare(const v1::PrepareRequest& request) = 0;

  // Reports the health of what runs on an instance. A probe that fails is UNHEALTHY with a
  // reason, one that cannot run yet is UNKNOWN; the call itself fails only for bad input.
  virtual absl::StatusOr<v1::HealthyResponse> Healthy(const v1::HealthyRequest& request) = 0;

  // Prepares an instance for destruction. OK when done.
  virtual absl::Status Drain(const v1::DrainRequest& request) = 0;

  // Prepares several members of one group: one result per index, in order, each what Prepare
  // would have returned for (properties, spec, allocation, index) (not atomic). Fails as a whole
  // only with INVALID_ARGUMENT for more than spi::kMaxBatchSize indexes (and, for remote
  // plugins, when the call cannot be made). The default calls Prepare for each index in turn.
  virtual absl::StatusOr<v1::BatchPrepareResponse> BatchPrepare(
      const v1::BatchPrepareRequest& request);

  // Checks several instances with the same properties: one result per instance, in order, each
  // what Healthy would have returned. Same whole-call errors as BatchPrepare. The default calls
  // Healthy for each instance in turn; plugins whose probes wait on I/O override it to probe
  // concurrently.
  virtual absl::StatusOr<v1::BatchHealthyResponse> BatchHealthy(
      const v1::BatchHealthyRequest& request);

  // Drains several instances with the same properties: one status per instance, in order, each
  // what Drain would have returned. Same whole-call errors and default as BatchPrepare.
  virtual absl::StatusOr<v1::BatchDrainResponse> BatchDrain(const v1::BatchDrainRequest& request);
};

}  // namespace infrakit::spi::flavor

#endif  // INFRAKIT_SPI_FLAVOR_FLAVOR_PLUGIN_H_
