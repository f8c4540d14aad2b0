// PluginServer in-process over real unix sockets.
#include "services/runtime/plugin_server.h"

#include <dirent.h>
#include <grpcpp/client_context.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "client/discovery/discovery.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tools/version/version_info.h"

namespace infrakit::services::runtime {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::infrakit::client::discovery::GetInfo;
using ::infrakit::client::discovery::MakePluginChannel;
using ::infrakit::testing::TempDir;

constexpr absl::Duration kCallDeadline = absl::Seconds(10);

PluginIdentity TestIdentity() {
  PluginIdentity identity;
  identity.default_name = "test";
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_INSTANCE;
  identity.type = "infrakit.InstancePlugin/1.0";
  identity.binary = "infrakit-test";
  identity.implements = {{"infrakit.instance.v1.InstanceService", "v1"}};
  return identity;
}

mode_t Mode(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

bool Exists(const std::string& path) { return Mode(path) != 0; }

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  return names;
}

// Leaves a socket file nobody listens on, as a crashed server does.
void MakeStaleSocket(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
  close(fd);
  ASSERT_TRUE(S_ISSOCK(Mode(path)));
}

HealthCheckResponse::ServingStatus Check(const std::string& socket, const std::string& service,
                                         grpc::StatusCode* code) {
  auto stub = Health::NewStub(MakePluginChannel(socket));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  *code = status.error_code();
  return response.status();
}

class PluginServerTest : public ::testing::Test {
 protected:
  std::string plugins_dir() const { return tmp_.Join("plugins"); }
  TempDir tmp_;
};

TEST_F(PluginServerTest, CreatesAnOwnerOnlyDirectoryAndSocket) {
  PluginServer server(TestIdentity(), "", plugins_dir());
  ASSERT_FALSE(Exists(plugins_dir()));
  ASSERT_TRUE(server.Start().ok());

  EXPECT_EQ(server.name(), "test");
  EXPECT_EQ(server.socket_path(), plugins_dir() + "/test.sock");
  EXPECT_TRUE(S_ISDIR(Mode(plugins_dir())));
  EXPECT_EQ(Mode(plugins_dir()) & 0777, 0700u);
  EXPECT_TRUE(S_ISSOCK(Mode(server.socket_path())));
  EXPECT_EQ(Mode(server.socket_path()) & 0777, 0600u);
  // Nothing but the socket: the private bind directory is gone.
  EXPECT_EQ(List(plugins_dir()), std::vector<std::string>{"test.sock"});
}

TEST_F(PluginServerTest, KeepsTheModeOfAnExistingDirectory) {
  ASSERT_EQ(mkdir(plugins_dir().c_str(), 0755), 0);
  ASSERT_EQ(chmod(plugins_dir().c_str(), 0755), 0);
  PluginServer server(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(Mode(plugins_dir()) & 0777, 0755u);
  EXPECT_EQ(Mode(server.socket_path()) & 0777, 0600u);
}

TEST_F(PluginServerTest, NameOverridesTheDefault) {
  PluginServer server(TestIdentity(), "another-file", plugins_dir());
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.socket_path(), plugins_dir() + "/another-file.sock");
  absl::StatusOr<infrakit::plugin::v1::InfoResponse> info = GetInfo(server.socket_path());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name(), "another-file");
}

TEST_F(PluginServerTest, InfoAnswersTheIdentity) {
  PluginServer server(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(server.Start().ok());
  absl::StatusOr<infrakit::plugin::v1::InfoResponse> info =
      GetInfo(server.socket_path(), kCallDeadline);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name(), "test");
  EXPECT_EQ(info->kind(), infrakit::plugin::v1::PLUGIN_KIND_INSTANCE);
  EXPECT_EQ(info->type(), "infrakit.InstancePlugin/1.0");
  EXPECT_EQ(info->binary(), "infrakit-test");
  ASSERT_EQ(info->implements_size(), 1);
  EXPECT_EQ(info->implements(0).service(), "infrakit.instance.v1.InstanceService");
  EXPECT_EQ(info->implements(0).version(), "v1");
  EXPECT_EQ(info->revision(), tools::version::Revision());
  EXPECT_EQ(info->version(), tools::version::Version());
  EXPECT_EQ(info->pid(), getpid());
}

TEST_F(PluginServerTest, HealthIsServingForTheServerAndItsServices) {
  PluginServer server(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(server.Start().ok());
  for (const std::string& service : {std::string(), std::string("infrakit.plugin.v1.PluginService"),
                                     std::string("infrakit.instance.v1.InstanceService")}) {
    grpc::StatusCode code;
    EXPECT_EQ(Check(server.socket_path(), service, &code), HealthCheckResponse::SERVING) << service;
    EXPECT_EQ(code, grpc::StatusCode::OK) << service;
  }
  grpc::StatusCode code;
  Check(server.socket_path(), "no.such.Service", &code);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
}

TEST_F(PluginServerTest, AcceptsMessagesLargerThanGrpcsDefaultLimit) {
  PluginServer server(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(server.Start().ok());
  // 8 MiB: over gRPC's 4 MiB default receive limit, so the server would answer
  // RESOURCE_EXHAUSTED without raising it. The request reaches the health service, which
  // rejects so long a service name itself.
  grpc::StatusCode code;
  Check(server.socket_path(), std::string(8 << 20, 'x'), &code);
  EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PluginServerTest, ReplacesAStaleSocket) {
  ASSERT_EQ(mkdir(plugins_dir().c_str(), 0700), 0);
  const std::string socket = plugins_dir() + "/test.sock";
  MakeStaleSocket(socket);
  ASSERT_FALSE(GetInfo(socket, absl::Seconds(1)).ok());

  PluginServer server(TestIdentity(), "", plugins_dir());
  absl::Status status = server.Start();
  ASSERT_TRUE(status.ok()) << status;
  absl::StatusOr<infrakit::plugin::v1::InfoResponse> info = GetInfo(socket, kCallDeadline);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(Mode(socket) & 0777, 0600u);
}

TEST_F(PluginServerTest, RefusesASocketALiveServerOwns) {
  PluginServer first(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(first.Start().ok());
  struct stat before;
  ASSERT_EQ(lstat(first.socket_path().c_str(), &before), 0);

  PluginServer second(TestIdentity(), "", plugins_dir());
  absl::Status status = second.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "another server owns")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), first.socket_path())) << status;

  // The first server's socket is untouched and still answers.
  struct stat after;
  ASSERT_EQ(lstat(first.socket_path().c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_TRUE(GetInfo(first.socket_path(), kCallDeadline).ok());
  // Destroying the refused server must not remove the first one's socket.
}

TEST_F(PluginServerTest, RefusedServerLeavesTheOwnersSocketWhenDestroyed) {
  PluginServer first(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(first.Start().ok());
  {
    PluginServer second(TestIdentity(), "", plugins_dir());
    ASSERT_FALSE(second.Start().ok());
    second.Shutdown();
  }
  EXPECT_TRUE(GetInfo(first.socket_path(), kCallDeadline).ok());
}

TEST_F(PluginServerTest, RefusesToReplaceSomethingThatIsNotASocket) {
  ASSERT_EQ(mkdir(plugins_dir().c_str(), 0700), 0);
  const std::string path = plugins_dir() + "/test.sock";
  std::ofstream(path) << "precious";
  PluginServer server(TestIdentity(), "", plugins_dir());
  absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "not a socket")) << status;
  std::ifstream in(path);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(PluginServerTest, ShutdownRemovesTheSocketAndStopsServing) {
  PluginServer server(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(server.Start().ok());
  const std::string socket = server.socket_path();
  server.Shutdown();
  EXPECT_FALSE(Exists(socket));
  EXPECT_FALSE(GetInfo(socket, absl::Seconds(1)).ok());
  server.Shutdown();  // idempotent

  // The name is free again.
  PluginServer next(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(next.Start().ok());
  EXPECT_TRUE(GetInfo(socket, kCallDeadline).ok());
}

TEST_F(PluginServerTest, ShutdownLeavesASocketThatIsNoLongerOurs) {
  PluginServer server(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(server.Start().ok());
  const std::string socket = server.socket_path();
  // Someone else's socket now sits at the path.
  ASSERT_EQ(unlink(socket.c_str()), 0);
  MakeStaleSocket(socket);
  server.Shutdown();
  EXPECT_TRUE(S_ISSOCK(Mode(socket)));
}

TEST_F(PluginServerTest, ShutdownEndsOpenStreams) {
  PluginServer server(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(server.Start().ok());
  auto stub = Health::NewStub(MakePluginChannel(server.socket_path()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  HealthCheckRequest request;
  auto reader = stub->Watch(&context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));  // the stream is open
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  server.Shutdown();  // must return although the client never closes its stream
  while (reader->Read(&response)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
}

TEST_F(PluginServerTest, StartTwiceFails) {
  PluginServer server(TestIdentity(), "", plugins_dir());
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.Start().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(PluginServerTest, RejectsBadNames) {
  for (const std::string& name : {std::string("a/b"), std::string(".."), std::string(".")}) {
    PluginServer server(TestIdentity(), name, plugins_dir());
    EXPECT_EQ(server.Start().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  PluginIdentity nameless = TestIdentity();
  nameless.default_name = "";
  PluginServer server(nameless, "", plugins_dir());
  EXPECT_EQ(server.Start().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PluginServerTest, RejectsASocketPathTooLongForUnixSockets) {
  PluginServer server(TestIdentity(), std::string(120, 'n'), plugins_dir());
  absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "bytes")) << status;
  EXPECT_FALSE(Exists(plugins_dir()));  // changed nothing
}

TEST(VersionJsonTest, IsTheOriginalInfraKitsJson) {
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(VersionJson(TestIdentity()), &json).ok())
      << VersionJson(TestIdentity());
  const auto& f = json.fields();
  EXPECT_EQ(f.size(), 4u);
  EXPECT_EQ(f.at("name").string_value(), "infrakit-test");
  EXPECT_EQ(f.at("type").string_value(), "infrakit.InstancePlugin/1.0");
  EXPECT_EQ(f.at("revision").string_value(), tools::version::Revision());
  EXPECT_EQ(f.at("version").string_value(), tools::version::Version());
}

}  // namespace
}  // namespace infrakit::services::runtime
