// The group controller's tunables (flags of infrakit-group, and what tests set).
#ifndef INFRAKIT_SERVICES_GROUP_CONTROLLER_OPTIONS_H_
#define INFRAKIT_SERVICES_GROUP_CONTROLLER_OPTIONS_H_

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "services/group/controller_metrics.h"

namespace infrakit::services::group {

struct ControllerOptions {
  // Safety-net resync of every group: health of every member (but those whose flavor said the
  // verdict cannot change), re-listing when Watch is not available (or broken), retries. Flag
  // --resync-period.
  absl::Duration resync_period = absl::Seconds(10);
  // How often members of a running update that are not ready yet are re-checked.
  absl::Duration update_health_period = absl::Seconds(1);
  // Per group, creation calls (BatchPrepare + BatchProvision, each for up to max_batch_size
  // instances) under way at once. Flag --max-parallel.
  int max_parallel_provisions = 4;
  // Per group, destruction calls (BatchDrain + BatchDestroy) under way at once.
  int max_parallel_destroys = 4;
  // Per group, BatchHealthy calls under way at once.
  int max_parallel_health_checks = 4;
  // The most instances one batch call carries (at most spi::kMaxBatchSize). Work queued is
  // spread over the parallel calls: one creation goes alone at once (a heal), thousands go
  // max_batch_size at a time, so a call's fixed cost (a gRPC round trip, an fsync) is paid once
  // per batch rather than per instance.
  int max_batch_size = 128;
  // The most members one BatchHealthy carries. Smaller than max_batch_size: a flavor probes a
  // batch's members with bounded concurrency (vanilla: 16 at once), so a batch whose probes all
  // time out takes (size / 16) probe timeouts, which must stay within the call's deadline
  // (30 s; vanilla's default probe timeout is 5 s: 4 rounds, 20 s). Larger batches make the
  // resync of a big group cheaper: at 10,000 members it is ~160 calls per resync period.
  int max_health_batch_size = 64;
  // New members come one watch event at a time; while more are on their way (creations under
  // way or not listed yet), the first of a few waits at most this long for others to check them
  // together (one BatchHealthy rather than one each). With none on their way, and when zero,
  // they are checked at once.
  absl::Duration health_gather_delay = absl::Milliseconds(5);
  // Backoff of failing provisions, destroys, listings and state writes: doubles from the
  // initial value up to the cap.
  absl::Duration backoff_initial = absl::Seconds(1);
  absl::Duration backoff_max = absl::Seconds(60);
  // An instance that Provision returned but that no listing shows after this long is no longer
  // counted (it was lost); until then it counts, however late the listing.
  absl::Duration listing_grace = absl::Seconds(30);
  // An empty listing where members were known is confirmed by another listing this much later.
  absl::Duration empty_listing_confirm_delay = absl::Seconds(2);
  // Called (on the executor, without the controller's lock) each time a group's work runs out:
  // nothing queued or under way to create, destroy or check after some was. The server hands
  // the memory a burst used back to the system there (malloc_trim). May be empty.
  std::function<void()> on_quiet;
  // Told what the controller does (provisions, destroys, failures, heals, watch events, update
  // progress); not owned, must outlive the controller. nullptr: nothing is recorded.
  ControllerMetrics* metrics = nullptr;
  // Part of every idempotency key, telling this controller's keys from another process's. Empty:
  // a random one (what a server wants); the seeded simulation sets one so that a seed replays the
  // same calls in any process.
  std::string idempotency_nonce;
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_CONTROLLER_OPTIONS_H_
