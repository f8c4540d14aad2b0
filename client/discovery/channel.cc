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
  // A restarted plugin is found again within a second. GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is
  // deliberately left alone: gRPC uses it as the connect *timeout* (default 20 s), and a small
  // value makes connects fail on a loaded machine before the server's SETTINGS frame arrives.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
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
