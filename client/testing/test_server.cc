#include "client/testing/test_server.h"

#include <grpc/grpc.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/discovery/channel.h"
#include "client/discovery/unix_socket.h"

namespace infrakit::client::testing {

absl::StatusOr<std::unique_ptr<TestServer>> TestServer::Start(
    std::string socket_path, std::vector<grpc::Service*> services) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials());
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return absl::InternalError(absl::StrCat("cannot serve on unix:", socket_path));
  }
  return std::unique_ptr<TestServer>(new TestServer(std::move(socket_path), std::move(server)));
}

TestServer::TestServer(std::string socket_path, std::unique_ptr<grpc::Server> server)
    : socket_path_(std::move(socket_path)), server_(std::move(server)) {}

TestServer::~TestServer() { Shutdown(); }

void TestServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

std::shared_ptr<grpc::Channel> TestServer::NewChannel() const {
  grpc::ChannelArguments args = discovery::PluginChannelArguments();
  // gRPC uses "min reconnect backoff" as the minimum time a connection attempt may take
  // (including the server's SETTINGS frame); on a loaded test machine a short one fails
  // connections to a perfectly healthy server. The last value of a key wins.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20000);
  return grpc::CreateCustomChannel(discovery::SocketAddress(socket_path_),
                                   grpc::InsecureChannelCredentials(), args);
}

}  // namespace infrakit::client::testing
