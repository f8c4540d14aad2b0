// PluginService ("who are you?") over gRPC: what `infrakitctl plugin ls` and careful clients
// ask a socket before using it.
#ifndef INFRAKIT_CLIENT_PLUGIN_CLIENT_H_
#define INFRAKIT_CLIENT_PLUGIN_CLIENT_H_

#include <grpcpp/channel.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/unary_call.h"
#include "infrakit/plugin/v1/plugin.grpc.pb.h"

namespace infrakit::client {

// Thread-safe.
class PluginClient {
 public:
  // `channel` to any InfraKit plugin; `deadline` applies to every call.
  explicit PluginClient(std::shared_ptr<grpc::Channel> channel,
                        absl::Duration deadline = kDefaultCallDeadline);

  // What the plugin is (name, kind, implemented services, version...). Errors: UNAVAILABLE when
  // nothing answers, DEADLINE_EXCEEDED, UNIMPLEMENTED when the server is not an InfraKit plugin.
  // Blocks for at most the deadline.
  absl::StatusOr<::infrakit::plugin::v1::InfoResponse> Info();

 private:
  const std::unique_ptr<::infrakit::plugin::v1::PluginService::Stub> stub_;
  const absl::Duration deadline_;
};

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_PLUGIN_CLIENT_H_
