// A flavor plugin reached over gRPC: implements spi::flavor::FlavorPlugin on a channel to a
// server of infrakit.flavor.v1.FlavorService.
#ifndef INFRAKIT_CLIENT_FLAVOR_CLIENT_H_
#define INFRAKIT_CLIENT_FLAVOR_CLIENT_H_

#include <grpcpp/channel.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/unary_call.h"
#include "infrakit/flavor/v1/flavor.grpc.pb.h"
#include "spi/flavor/flavor_plugin.h"

namespace infrakit::client {

// Thread-safe; every method blocks the calling thread for at most the deadline given at
// construction. Errors are the server's status codes and messages unchanged, plus UNAVAILABLE
// when the plugin cannot be reached and DEADLINE_EXCEEDED when it does not answer in time.
class FlavorClient final : public spi::flavor::FlavorPlugin {
 public:
  // `channel` to a server of FlavorService; `deadline` applies to every call (keep it above the
  // flavor's health probe timeouts).
  explicit FlavorClient(std::shared_ptr<grpc::Channel> channel,
                        absl::Duration deadline = kDefaultCallDeadline);
  ~FlavorClient() override;

  absl::Status Validate(const spi::flavor::v1::ValidateRequest& request) override;
  absl::StatusOr<spi::flavor::v1::PrepareResponse> Prepare(
      const spi::flavor::v1::PrepareRequest& request) override;
  absl::StatusOr<spi::flavor::v1::HealthyResponse> Healthy(
      const spi::flavor::v1::HealthyRequest& request) override;
  absl::Status Drain(const spi::flavor::v1::DrainRequest& request) override;

 private:
  const std::unique_ptr<::infrakit::flavor::v1::FlavorService::Stub> stub_;
  const absl::Duration deadline_;
};

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_FLAVOR_CLIENT_H_
