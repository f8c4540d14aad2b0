// A real gRPC server on a real unix socket inside a test process, for testing services and
// clients together without the plugin runtime.
#ifndef INFRAKIT_CLIENT_TESTING_TEST_SERVER_H_
#define INFRAKIT_CLIENT_TESTING_TEST_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace infrakit::client::testing {

// Typical use:
//   infrakit::testing::TempDir dir;
//   auto server = TestServer::Start(dir.Join("x.sock"), {&service});
//   InstanceClient client(server->NewChannel());
// Not thread-safe, except NewChannel().
class TestServer {
 public:
  // Serves `services` (not owned; they must outlive the server) on unix socket `socket_path`.
  // Errors: INTERNAL when the server cannot listen there.
  static absl::StatusOr<std::unique_ptr<TestServer>> Start(std::string socket_path,
                                                           std::vector<grpc::Service*> services);

  // Shuts down with a short grace period if still running.
  ~TestServer();

  // Stops the server: calls still open after `grace` (e.g. Watch streams) are cancelled.
  // Blocks until every call has ended. Idempotent.
  void Shutdown(absl::Duration grace = absl::Milliseconds(100));

  // A new channel to the socket with discovery::PluginChannelArguments() but a long connect
  // timeout. Thread-safe.
  std::shared_ptr<grpc::Channel> NewChannel() const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  TestServer(std::string socket_path, std::unique_ptr<grpc::Server> server);

  const std::string socket_path_;
  std::unique_ptr<grpc::Server> server_;
  bool shut_down_ = false;
};

}  // namespace infrakit::client::testing

#endif  // INFRAKIT_CLIENT_TESTING_TEST_SERVER_H_
