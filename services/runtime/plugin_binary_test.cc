// The runtime as users meet it: a real plugin binary (testdata/infrakit-test-plugin) on a real
// socket, stopped by signals, asked for its version, explored with gRPC server reflection.
#include <grpcpp/client_context.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "client/discovery/discovery.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tools/version/version_info.h"

namespace infrakit::services::runtime {
namespace {

using ::grpc::reflection::v1alpha::ServerReflection;
using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;
using ::infrakit::client::discovery::GetInfo;
using ::infrakit::client::discovery::MakePluginChannel;
using ::infrakit::testing::DescribeExit;
using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::TempDir;

constexpr char kBinary[] = "services/runtime/testdata/infrakit-test-plugin";
constexpr absl::Duration kReady = absl::Seconds(30);
constexpr absl::Duration kExit = absl::Seconds(30);

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

class PluginBinaryTest : public ::testing::Test {
 protected:
  std::unique_ptr<PluginProcess> StartPlugin(std::vector<std::string> args) {
    auto p = std::make_unique<PluginProcess>(kBinary, std::move(args), tmp_.path());
    absl::Status s = p->Start();
    EXPECT_TRUE(s.ok()) << s;
    return p;
  }
  std::string dir() const { return tmp_.Join("plugins"); }
  std::string socket() const { return dir() + "/test-plugin.sock"; }

  TempDir tmp_;
};

class SignalTest : public PluginBinaryTest, public ::testing::WithParamInterface<int> {};

TEST_P(SignalTest, ServesUntilTheSignalThenRemovesItsSocketAndExitsZero) {
  auto plugin = StartPlugin({"--plugins-dir", dir(), "--log=1", "--greeting=hello", "extra"});
  absl::Status ready = plugin->WaitReady(socket(), kReady);
  ASSERT_TRUE(ready.ok()) << ready;

  absl::StatusOr<infrakit::plugin::v1::InfoResponse> info = GetInfo(socket());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name(), "test-plugin");
  EXPECT_EQ(info->binary(), "infrakit-test-plugin");
  EXPECT_EQ(info->type(), "infrakit.TestPlugin/1.0");
  EXPECT_EQ(info->kind(), infrakit::plugin::v1::PLUGIN_KIND_FLAVOR);
  EXPECT_EQ(info->pid(), plugin->pid());
  EXPECT_EQ(info->revision(), tools::version::Revision());

  const std::string log = plugin->Stderr();
  EXPECT_TRUE(absl::StrContains(log, "Listening on: unix://" + socket())) << log;
  EXPECT_TRUE(absl::StrContains(log, "greeting=hello args=extra")) << log;
  EXPECT_TRUE(absl::StrContains(log, "verbose logging on")) << log;  // --log=1 sets FLAGS_v

  ASSERT_TRUE(plugin->Signal(GetParam()).ok());
  absl::StatusOr<int> status = plugin->Wait(kExit);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << DescribeExit(*status) << "\n"
                                                               << plugin->Stderr();
  EXPECT_FALSE(Exists(socket()));
}

INSTANTIATE_TEST_SUITE_P(TermAndInt, SignalTest, ::testing::Values(SIGTERM, SIGINT));

TEST_F(PluginBinaryTest, SecondServerUnderTheSameNameExitsNonZeroWithAClearMessage) {
  auto first = StartPlugin({"--plugins-dir", dir()});
  ASSERT_TRUE(first->WaitReady(socket(), kReady).ok()) << first->Stderr();

  auto second = StartPlugin({"--plugins-dir", dir()});
  absl::StatusOr<int> status = second->Wait(kExit);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << DescribeExit(*status);
  const std::string log = second->Stderr();
  EXPECT_TRUE(absl::StrContains(log, "another server owns " + socket())) << log;

  // The first still serves.
  absl::StatusOr<infrakit::plugin::v1::InfoResponse> info = GetInfo(socket());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->pid(), first->pid());
}

TEST_F(PluginBinaryTest, ReplacesTheSocketOfAKilledServer) {
  auto crashed = StartPlugin({"--plugins-dir", dir()});
  ASSERT_TRUE(crashed->WaitReady(socket(), kReady).ok()) << crashed->Stderr();
  crashed->Kill();  // SIGKILL: no chance to remove the socket
  ASSERT_TRUE(Exists(socket()));

  auto next = StartPlugin({"--plugins-dir", dir()});
  ASSERT_TRUE(next->WaitReady(socket(), kReady).ok()) << next->Stderr();
  absl::StatusOr<infrakit::plugin::v1::InfoResponse> info = GetInfo(socket());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->pid(), next->pid());
  EXPECT_TRUE(absl::StrContains(next->Stderr(), "Replacing stale socket")) << next->Stderr();
}

TEST_F(PluginBinaryTest, NameFlagAndPluginsDirFromTheEnvironment) {
  auto plugin = std::make_unique<PluginProcess>(
      kBinary, std::vector<std::string>{"--name", "another"}, tmp_.path());
  plugin->SetEnv("INFRAKIT_PLUGINS_DIR", dir());
  ASSERT_TRUE(plugin->Start().ok());
  ASSERT_TRUE(plugin->WaitReady(dir() + "/another.sock", kReady).ok()) << plugin->Stderr();
  absl::StatusOr<infrakit::plugin::v1::InfoResponse> info = GetInfo(dir() + "/another.sock");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name(), "another");
}

class VersionTest : public PluginBinaryTest,
                    public ::testing::WithParamInterface<std::vector<std::string>> {};

TEST_P(VersionTest, PrintsTheOriginalInfraKitsJsonAndExitsZero) {
  auto plugin = StartPlugin(GetParam());
  absl::StatusOr<int> status = plugin->Wait(kExit);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << DescribeExit(*status);
  google::protobuf::Struct json;
  const std::string out = plugin->Stdout();
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &json).ok()) << out;
  const auto& f = json.fields();
  ASSERT_EQ(f.size(), 4u) << out;
  EXPECT_EQ(f.at("name").string_value(), "infrakit-test-plugin");
  EXPECT_EQ(f.at("type").string_value(), "infrakit.TestPlugin/1.0");
  EXPECT_EQ(f.at("revision").string_value(), tools::version::Revision());
  EXPECT_EQ(f.at("revision").string_value().size(), 40u) << out;
  EXPECT_EQ(f.at("version").string_value(), tools::version::Version());
  EXPECT_FALSE(Exists(socket()));  // printing the version serves nothing
}

INSTANTIATE_TEST_SUITE_P(FlagAndVerb, VersionTest,
                         ::testing::Values(std::vector<std::string>{"--version"},
                                           std::vector<std::string>{"version"}));

TEST_F(PluginBinaryTest, UnknownFlagExitsNonZero) {
  auto plugin = StartPlugin({"--no-such-flag=1", "--plugins-dir", dir()});
  absl::StatusOr<int> status = plugin->Wait(kExit);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << DescribeExit(*status);
  EXPECT_TRUE(absl::StrContains(plugin->Stderr(), "no_such_flag") ||
              absl::StrContains(plugin->Stderr(), "no-such-flag"))
      << plugin->Stderr();
}

// One request on a ServerReflectionInfo stream.
absl::StatusOr<ServerReflectionResponse> Reflect(const std::string& socket,
                                                 const ServerReflectionRequest& request) {
  auto stub = ServerReflection::NewStub(MakePluginChannel(socket));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto stream = stub->ServerReflectionInfo(&context);
  ServerReflectionResponse response;
  bool got = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  if (!got) return absl::InternalError("no reflection response");
  return response;
}

// The file descriptor reflection returns for `symbol`, and the files it came with.
absl::StatusOr<std::vector<google::protobuf::FileDescriptorProto>> FilesContaining(
    const std::string& socket, const std::string& symbol) {
  ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  absl::StatusOr<ServerReflectionResponse> response = Reflect(socket, request);
  if (!response.ok()) return response.status();
  if (response->has_error_response()) {
    return absl::NotFoundError(response->error_response().error_message());
  }
  std::vector<google::protobuf::FileDescriptorProto> files;
  for (const std::string& bytes : response->file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(bytes)) return absl::InternalError("bad FileDescriptorProto");
    files.push_back(file);
  }
  return files;
}

TEST_F(PluginBinaryTest, ReflectionListsAndResolvesEveryService) {
  auto plugin = StartPlugin({"--plugins-dir", dir()});
  ASSERT_TRUE(plugin->WaitReady(socket(), kReady).ok()) << plugin->Stderr();

  ServerReflectionRequest list;
  list.set_list_services("*");
  absl::StatusOr<ServerReflectionResponse> listed = Reflect(socket(), list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> services;
  for (const auto& s : listed->list_services_response().service()) services.push_back(s.name());
  EXPECT_THAT(services,
              ::testing::IsSupersetOf({"infrakit.plugin.v1.PluginService", "grpc.health.v1.Health",
                                       "grpc.reflection.v1alpha.ServerReflection"}));

  // Every listed service resolves (grpcurl describes and calls it).
  for (const std::string& service : services) {
    absl::StatusOr<std::vector<google::protobuf::FileDescriptorProto>> files =
        FilesContaining(socket(), service);
    EXPECT_TRUE(files.ok() && !files->empty()) << service << ": " << files.status();
  }

  struct Case {
    std::string method;
    std::string file;
    std::string service;
  };
  for (const Case& c :
       {Case{"infrakit.plugin.v1.PluginService.Info", "infrakit/plugin/v1/plugin.proto",
             "PluginService"},
        Case{"grpc.health.v1.Health.Check", "grpc/health/v1/health.proto", "Health"}}) {
    absl::StatusOr<std::vector<google::protobuf::FileDescriptorProto>> files =
        FilesContaining(socket(), c.method);
    ASSERT_TRUE(files.ok()) << c.method << ": " << files.status();
    ASSERT_FALSE(files->empty());
    const google::protobuf::FileDescriptorProto& file = files->front();
    EXPECT_EQ(file.name(), c.file);
    bool found = false;
    for (const auto& service : file.service()) {
      if (service.name() != c.service) continue;
      for (const auto& method : service.method()) {
        found = found || absl::EndsWith(c.method, "." + method.name());
      }
    }
    EXPECT_TRUE(found) << c.method << " not in " << file.name();
  }

  ServerReflectionRequest unknown;
  unknown.set_file_containing_symbol("no.such.Service");
  absl::StatusOr<ServerReflectionResponse> missing = Reflect(socket(), unknown);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_TRUE(missing->has_error_response());
}

}  // namespace
}  // namespace infrakit::services::runtime
