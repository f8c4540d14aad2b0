#include "client/plugin_client.h"

#include <utility>

namespace infrakit::client {

namespace {
namespace v1 = ::infrakit::plugin::v1;
}  // namespace

PluginClient::PluginClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
    : stub_(v1::PluginService::NewStub(std::move(channel))), deadline_(deadline) {}

absl::StatusOr<v1::InfoResponse> PluginClient::Info() {
  return UnaryCall(stub_.get(), &v1::PluginService::Stub::Info, v1::InfoRequest(), deadline_);
}

}  // namespace infrakit::client
