// An instance plugin reached over gRPC: implements spi::instance::InstancePlugin on a channel to
// a server of infrakit.instance.v1.InstanceService, so callers (the group controller, the CLI)
// use a remote plugin exactly like an in-process core.
#ifndef INFRAKIT_CLIENT_INSTANCE_CLIENT_H_
#define INFRAKIT_CLIENT_INSTANCE_CLIENT_H_

#include <grpcpp/channel.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/call_canceller.h"
#include "client/unary_call.h"
#include "infrakit/instance/v1/instance.grpc.pb.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::client {

// Thread-safe; every method blocks the calling thread for at most the deadline given at
// construction (Watch only until the stream is established). Errors are the server's status
// codes and messages unchanged (common/grpc_status.h), plus UNAVAILABLE when the plugin cannot
// be reached and DEADLINE_EXCEEDED when it does not answer in time; a client that knows its
// plugin's name puts it in front of those two (NamePlugin in unary_call.h), also in a Watch's
// end status.
class InstanceClient final : public spi::instance::InstancePlugin {
 public:
  // `channel` to a server of InstanceService; `deadline` applies to every unary call and to
  // establishing a Watch; `plugin` is the plugin's name for messages (empty: unnamed); with a
  // `canceller`, its CancelAll() ends the unary calls under way (and later ones) with CANCELLED
  // at once (a Watch ends when its handle is destroyed).
  explicit InstanceClient(std::shared_ptr<grpc::Channel> channel,
                          absl::Duration deadline = kDefaultCallDeadline, std::string plugin = "",
                          std::shared_ptr<CallCanceller> canceller = nullptr);
  ~InstanceClient() override;

  absl::Status Validate(const spi::instance::v1::ValidateRequest& request) override;
  absl::StatusOr<spi::instance::v1::ProvisionResponse> Provision(
      const spi::instance::v1::ProvisionRequest& request) override;
  absl::Status Destroy(const spi::instance::v1::DestroyRequest& request) override;
  // Every matching instance: follows the pages (from request.page_token, with its page_size)
  // and returns them in one response, without next_page_token. Errors: the first failing
  // page's (FollowPages in pages.h).
  absl::StatusOr<spi::instance::v1::DescribeResponse> Describe(
      const spi::instance::v1::DescribeRequest& request) override;
  // One page: one Describe call, the server's answer as it is (next_page_token included).
  absl::StatusOr<spi::instance::v1::DescribeResponse> DescribePage(
      const spi::instance::v1::DescribeRequest& request);
  // Every page, handed to `on_page` (on this thread) as it arrives, so a caller can show the
  // first instances before the last are fetched. Errors: as Describe; the pages before the
  // failing one have been handed over.
  absl::Status DescribePages(
      const spi::instance::v1::DescribeRequest& request,
      const std::function<void(const spi::instance::v1::DescribeResponse&)>& on_page);
  absl::StatusOr<spi::instance::v1::LabelResponse> Label(
      const spi::instance::v1::LabelRequest& request) override;

  // The batch RPCs, one call each with the same deadline as a unary call (the caller sizes its
  // batches for it). A batch of more than spi::kMaxBatchSize requests is refused here with
  // INVALID_ARGUMENT, without a call. A plugin answering UNIMPLEMENTED (one built before the
  // batch calls, or written by someone else) gets the SPI's default instead, one unary call per
  // item, for this call and, remembered, every later one of this client (each method on its
  // own). A response with another number of results than requests, or a result with no
  // outcome, is INTERNAL naming the mismatch: its items cannot be matched to the requests.
  absl::StatusOr<spi::instance::v1::BatchProvisionResponse> BatchProvision(
      const spi::instance::v1::BatchProvisionRequest& request) override;
  absl::StatusOr<spi::instance::v1::BatchDestroyResponse> BatchDestroy(
      const spi::instance::v1::BatchDestroyRequest& request) override;

  // Opens the Watch stream and returns once the server has subscribed (it sends the
  // "infrakit-watch" initial metadata) or the first event has arrived; events may reach `sink`
  // before this returns. Errors: the server's status when the call fails before that
  // (UNIMPLEMENTED for a plugin that cannot watch), DEADLINE_EXCEEDED when neither happens within
  // the deadline. Afterwards events go to `sink` on gRPC's threads, one at a time; when the
  // stream ends by itself (plugin stopped, connection lost) `sink->OnDone(status)` is the last
  // call. Destroying the handle cancels the call and blocks until no sink call is running or
  // will run; destroy it on a thread of yours, never inside a sink call (nor on any other gRPC
  // callback thread). The handle may outlive this client.
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const spi::instance::v1::WatchRequest& request, spi::instance::WatchSink* sink) override;

 private:
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<::infrakit::instance::v1::InstanceService::Stub> stub_;
  const absl::Duration deadline_;
  const std::string plugin_;
  const std::shared_ptr<CallCanceller> canceller_;  // may be null
  // Set once the plugin has answered a batch RPC with UNIMPLEMENTED: a plugin does not learn a
  // method while this client lives (a restarted, upgraded plugin is a new client from the
  // resolver), so asking again would only add a round trip to every batch.
  std::atomic<bool> batch_provision_unimplemented_{false};
  std::atomic<bool> batch_destroy_unimplemented_{false};
};

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_INSTANCE_CLIENT_H_
