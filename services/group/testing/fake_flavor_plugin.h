// An in-memory flavor plugin for tests with programmable health and failures.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_FAKE_FLAVOR_PLUGIN_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_FAKE_FLAVOR_PLUGIN_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/group/clock.h"
#include "spi/flavor/flavor_plugin.h"

namespace infrakit::services::group::testing {

namespace fv1 = ::infrakit::flavor::v1;

// Health of an instance: the per-instance setting if any, else UNHEALTHY while it is still
// starting (see set_startup_delay), else (in Healthy) the setting for a field present in the
// request's properties if any, else the setting for its infrakit.config_sha if any, else the
// default (HEALTHY).
class FakeFlavorPlugin : public spi::flavor::FlavorPlugin {
 public:
  absl::Status Validate(const fv1::ValidateRequest& request) override;
  // Validate, answering the max_unavailable set by set_max_unavailable.
  absl::StatusOr<fv1::ValidateResponse> ValidateAllocation(
      const fv1::ValidateRequest& request) override;
  absl::StatusOr<fv1::PrepareResponse> Prepare(const fv1::PrepareRequest& request) override;
  absl::StatusOr<fv1::HealthyResponse> Healthy(const fv1::HealthyRequest& request) override;
  absl::Status Drain(const fv1::DrainRequest& request) override;
  // Record the batch's size, then the SPI default: each item through the unary method, so every
  // programmed health and failure applies per item.
  absl::StatusOr<fv1::BatchPrepareResponse> BatchPrepare(
      const fv1::BatchPrepareRequest& request) override;
  absl::StatusOr<fv1::BatchHealthyResponse> BatchHealthy(
      const fv1::BatchHealthyRequest& request) override;
  absl::StatusOr<fv1::BatchDrainResponse> BatchDrain(
      const fv1::BatchDrainRequest& request) override;

  void set_default_health(fv1::Health health);
  void SetHealth(const std::string& id, fv1::Health health);
  void ClearHealth(const std::string& id);
  void SetShaHealth(const std::string& sha, fv1::Health health);
  // Healthy reports `health` for any instance checked with properties that have field `field`
  // (as a flavor whose health check is configured in its properties).
  void SetPropertyHealth(const std::string& field, fv1::Health health);
  // Every call fails with `status` while it is not OK (UNAVAILABLE models a flavor that is down).
  void set_error(absl::Status status);
  void set_drain_error(absl::Status status);
  // Healthy's verdicts say they cannot change (HealthyResponse.constant) while set.
  void set_constant(bool constant);
  void set_validate_error(absl::Status status);
  // Models members whose service takes `delay` to start (a web server not listening yet): an
  // instance is UNHEALTHY until `delay` after the plugin first heard of it (its first health
  // check, at its creation). `clock` must outlive the plugin. Zero: off.
  void set_startup_delay(Clock* clock, absl::Duration delay);
  // Validate's answer: at most `n` members down at once (0: no limit).
  void set_max_unavailable(int n);
  // Healthy reports `order` as the instance's update_order (and "leader" as its role when it is
  // above 0), as a flavor of an ensemble does for its leader.
  void SetUpdateOrder(const std::string& id, int order);

  // The health the plugin reports for `d` right now (the ground truth for invariant checks).
  fv1::Health HealthOf(const infrakit::instance::v1::Description& d);

  int healthy_calls();
  int prepare_calls();
  // The sizes of the BatchPrepare / BatchHealthy / BatchDrain calls, in order.
  std::vector<int> prepare_batches();
  std::vector<int> healthy_batches();
  std::vector<int> drain_batches();
  std::vector<std::string> drained();
  std::vector<fv1::PrepareRequest> prepared();

 private:
  fv1::Health HealthLocked(const infrakit::instance::v1::Description& d)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  fv1::Health default_health_ ABSL_GUARDED_BY(mu_) = fv1::HEALTH_HEALTHY;
  std::map<std::string, fv1::Health> by_id_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, fv1::Health> by_sha_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, fv1::Health> by_property_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  absl::Status drain_error_ ABSL_GUARDED_BY(mu_);
  absl::Status validate_error_ ABSL_GUARDED_BY(mu_);
  int healthy_calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool constant_ ABSL_GUARDED_BY(mu_) = false;
  Clock* clock_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Duration startup_delay_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  int max_unavailable_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int> update_order_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> first_seen_ ABSL_GUARDED_BY(mu_);
  std::vector<int> prepare_batches_ ABSL_GUARDED_BY(mu_);
  std::vector<int> healthy_batches_ ABSL_GUARDED_BY(mu_);
  std::vector<int> drain_batches_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> drained_ ABSL_GUARDED_BY(mu_);
  std::vector<fv1::PrepareRequest> prepared_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_FAKE_FLAVOR_PLUGIN_H_
