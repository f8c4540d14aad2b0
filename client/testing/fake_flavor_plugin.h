// An in-memory flavor plugin for tests of anything that talks to the Flavor SPI.
#ifndef INFRAKIT_CLIENT_TESTING_FAKE_FLAVOR_PLUGIN_H_
#define INFRAKIT_CLIENT_TESTING_FAKE_FLAVOR_PLUGIN_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "spi/flavor/flavor_plugin.h"

namespace infrakit::client::testing {

// Thread-safe.
//  - Validate: INVALID_ARGUMENT "allocation: neither size nor logical_ids is set" for an empty
//    allocation, "allocation.size: must be >= 0" for a negative size.
//  - Prepare: the input spec plus the init line "echo <group>-<sequence>", tag
//    "infrakit.flavor" = "fake" (overriding the caller's), keeping every other tag.
//  - Healthy: the verdict set by SetHealth for the instance ID, else UNKNOWN "no verdict yet";
//    INVALID_ARGUMENT "instance.id: empty" without an ID.
//  - Drain: records the instance ID (drained()).
//  - BatchPrepare / BatchHealthy / BatchDrain: counted (batch_*_calls(), every call, oversized
//    ones included), then the SPI's default loop over the unary methods above, so each item
//    behaves, records, blocks (BlockCalls) and fails exactly as a unary call would.
class FakeFlavorPlugin final : public spi::flavor::FlavorPlugin {
 public:
  absl::Status Validate(const spi::flavor::v1::ValidateRequest& request) override;
  absl::StatusOr<spi::flavor::v1::PrepareResponse> Prepare(
      const spi::flavor::v1::PrepareRequest& request) override;
  absl::StatusOr<spi::flavor::v1::HealthyResponse> Healthy(
      const spi::flavor::v1::HealthyRequest& request) override;
  absl::Status Drain(const spi::flavor::v1::DrainRequest& request) override;
  absl::StatusOr<spi::flavor::v1::BatchPrepareResponse> BatchPrepare(
      const spi::flavor::v1::BatchPrepareRequest& request) override;
  absl::StatusOr<spi::flavor::v1::BatchHealthyResponse> BatchHealthy(
      const spi::flavor::v1::BatchHealthyRequest& request) override;
  absl::StatusOr<spi::flavor::v1::BatchDrainResponse> BatchDrain(
      const spi::flavor::v1::BatchDrainRequest& request) override;

  // Test controls.
  void SetHealth(const std::string& instance_id, spi::flavor::v1::Health health,
                 std::string reason);
  // While blocked, every SPI call waits inside the plugin (counted by blocked_calls()).
  void BlockCalls();
  void UnblockCalls();
  int blocked_calls() const;
  std::vector<std::string> drained() const;
  // How many batch calls reached the fake (not counting their items' unary calls).
  int batch_prepare_calls() const;
  int batch_healthy_calls() const;
  int batch_drain_calls() const;

 private:
  void Gate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Unblocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !blocked_; }

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::pair<spi::flavor::v1::Health, std::string>> health_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::string> drained_ ABSL_GUARDED_BY(mu_);
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;
  int blocked_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int batch_prepare_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int batch_healthy_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int batch_drain_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace infrakit::client::testing

#endif  // INFRAKIT_CLIENT_TESTING_FAKE_FLAVOR_PLUGIN_H_
