// A flavor plugin reached over gRPC: implements spi::flavor::FlavorPlugin on a channel to a
// server of infrakit.flavor.v1.FlavorService.
#ifndef INFRAKIT_CLIENT_FLAVOR_CLIENT_H_
#define INFRAKIT_CLIENT_FLAVOR_CLIENT_H_

#include <grpcpp/channel.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/call_canceller.h"
#include "client/unary_call.h"
#include "infrakit/flavor/v1/flavor.grpc.pb.h"
#include "spi/flavor/flavor_plugin.h"

namespace infrakit::client {

// Thread-safe; every method blocks the calling thread for at most the deadline given at
// construction (a batch answered by the fallback: for each item in turn). Errors are the
// server's status codes and messages unchanged, plus UNAVAILABLE when the plugin cannot be
// reached and DEADLINE_EXCEEDED when it does not answer in time; a client that knows its
// plugin's name puts it in front of those two (NamePlugin in unary_call.h).
//
// Batch calls: a plugin built before the batch RPCs existed (or a third-party one) answers them
// UNIMPLEMENTED. The client then serves that batch, and every later one of the same method, with
// the SPI's default loop over the unary RPCs (remembered per method, for the client's lifetime),
// so callers always get per-item results.
class FlavorClient final : public spi::flavor::FlavorPlugin {
 public:
  // `channel` to a server of FlavorService; `deadline` applies to every call (keep it above the
  // flavor's health probe timeouts); `plugin` is the plugin's name for messages (empty:
  // unnamed); with a `canceller`, its CancelAll() ends the calls under way (and later ones)
  // with CANCELLED at once.
  explicit FlavorClient(std::shared_ptr<grpc::Channel> channel,
                        absl::Duration deadline = kDefaultCallDeadline, std::string plugin = "",
                        std::shared_ptr<CallCanceller> canceller = nullptr);
  ~FlavorClient() override;

  absl::Status Validate(const spi::flavor::v1::ValidateRequest& request) override;
  absl::StatusOr<spi::flavor::v1::ValidateResponse> ValidateAllocation(
      const spi::flavor::v1::ValidateRequest& request) override;
  absl::StatusOr<spi::flavor::v1::PrepareResponse> Prepare(
      const spi::flavor::v1::PrepareRequest& request) override;
  absl::StatusOr<spi::flavor::v1::HealthyResponse> Healthy(
      const spi::flavor::v1::HealthyRequest& request) override;
  absl::Status Drain(const spi::flavor::v1::DrainRequest& request) override;

  // The batch RPCs, or the unary fallback described above. Whole-call errors: INVALID_ARGUMENT
  // for more than spi::kMaxBatchSize items (checked before any call), the RPC's error (the
  // server's status, UNAVAILABLE, DEADLINE_EXCEEDED), and INTERNAL naming both counts when the
  // server answers a number of results other than the number of items, or naming the item when
  // a result has neither a response nor an error.
  absl::StatusOr<spi::flavor::v1::BatchPrepareResponse> BatchPrepare(
      const spi::flavor::v1::BatchPrepareRequest& request) override;
  absl::StatusOr<spi::flavor::v1::BatchHealthyResponse> BatchHealthy(
      const spi::flavor::v1::BatchHealthyRequest& request) override;
  absl::StatusOr<spi::flavor::v1::BatchDrainResponse> BatchDrain(
      const spi::flavor::v1::BatchDrainRequest& request) override;

 private:
  const std::unique_ptr<::infrakit::flavor::v1::FlavorService::Stub> stub_;
  const absl::Duration deadline_;
  const std::string plugin_;
  const std::shared_ptr<CallCanceller> canceller_;  // may be null
  // Set once the server has answered the batch RPC UNIMPLEMENTED; never reset (a plugin does not
  // gain methods while it runs; a restarted, upgraded one is reached through a new client).
  std::atomic<bool> batch_prepare_unimplemented_{false};
  std::atomic<bool> batch_healthy_unimplemented_{false};
  std::atomic<bool> batch_drain_unimplemented_{false};
};

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_FLAVOR_CLIENT_H_
