#include "client/testing/test_server.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/discovery/channel.h"

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
  return discovery::MakePluginChannel(socket_path_);
}

}  // namespace infrakit::client::testing
