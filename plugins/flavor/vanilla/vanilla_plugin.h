// flavor-vanilla: plain init lines, tags and attachments, plus optional health probes.
//
// The flavor of the original InfraKit's tutorial: Prepare appends "UserData" (or "Init") lines to
// the spec's init script, merges "Labels" (or "Tags") into its tags and adds "Attachments"; Healthy
// runs the optional "HealthCheck" (see vanilla_properties.h for the properties).
#ifndef INFRAKIT_PLUGINS_FLAVOR_VANILLA_VANILLA_PLUGIN_H_
#define INFRAKIT_PLUGINS_FLAVOR_VANILLA_VANILLA_PLUGIN_H_

#include "absl/time/time.h"
#include "spi/flavor/flavor_plugin.h"

namespace infrakit::plugins::flavor::vanilla {

namespace v1 = ::infrakit::flavor::v1;

// How many probes one BatchHealthy runs at once by default: enough that a batch of slow probes
// (each up to its timeout) takes about 1/16 of the time of a loop, few enough that the plugin's
// threads, processes and sockets stay bounded (times the FlavorService's worker threads).
inline constexpr int kDefaultMaxConcurrentProbes = 16;
// A BatchHealthy's probes all timing out take at most about this long (unless one probe's own
// timeout is longer), and at most this many run at once.
inline constexpr absl::Duration kBatchProbeBudget = absl::Seconds(20);
inline constexpr int kMaxBatchProbeThreads = 64;

// Stateless: every method works from its request alone, so any number of threads may call.
class VanillaPlugin : public spi::flavor::FlavorPlugin {
 public:
  // `max_concurrent_probes` (>= 1; lower values are taken as 1) bounds the probes one
  // BatchHealthy runs at once, unless long probe timeouts need more to keep a batch within
  // `batch_probe_budget` (see BatchHealthy).
  explicit VanillaPlugin(int max_concurrent_probes = kDefaultMaxConcurrentProbes,
                         absl::Duration batch_probe_budget = kBatchProbeBudget);

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

  // The batch methods give exactly the unary methods' results, item by item, in order; bad
  // properties (or an allocation they do not match) fail every item with the same
  // INVALID_ARGUMENT, never the whole call. They parse the properties once per batch.
  // INVALID_ARGUMENT for the whole call beyond spi::kMaxBatchSize items.
  absl::StatusOr<v1::BatchPrepareResponse> BatchPrepare(
      const v1::BatchPrepareRequest& request) override;

  // Without a HealthCheck every instance is HEALTHY at once (and `constant`), on the calling
  // thread. Otherwise the probes run concurrently (the calling thread plus threads started for
  // this batch and joined before it returns), max_concurrent_probes at a time, more when the
  // probe's timeout is long: as many as keep the worst case (every probe timing out) within
  // batch_probe_budget, at most kMaxBatchProbeThreads. Callers' deadlines (30 s for InfraKit's
  // clients) then hold for timeouts up to the budget.
  absl::StatusOr<v1::BatchHealthyResponse> BatchHealthy(
      const v1::BatchHealthyRequest& request) override;

  absl::StatusOr<v1::BatchDrainResponse> BatchDrain(const v1::BatchDrainRequest& request) override;

 private:
  const int max_concurrent_probes_;
  const absl::Duration batch_probe_budget_;
};

}  // namespace infrakit::plugins::flavor::vanilla

#endif  // INFRAKIT_PLUGINS_FLAVOR_VANILLA_VANILLA_PLUGIN_H_
