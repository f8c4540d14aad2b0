#include "client/discovery/channel.h"

#include <grpc/grpc.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <string>

#include "absl/strings/match.h"
#include "client/discovery/unix_socket.h"

namespace infrakit::client::discovery {

grpc::ChannelArguments PluginChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

std::shared_ptr<grpc::Channel> MakePluginChannel(absl::string_view socket) {
  std::string target =
      absl::StartsWith(socket, "unix:") ? std::string(socket) : SocketAddress(socket);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   PluginChannelArguments());
}

}  // namespace infrakit::client::discovery
