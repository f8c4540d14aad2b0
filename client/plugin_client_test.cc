#include "client/plugin_client.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "client/discovery/channel.h"
#include "client/testing/fake_flavor_plugin.h"
#include "client/testing/test_server.h"
#include "gtest/gtest.h"
#include "infrakit/plugin/v1/plugin.grpc.pb.h"
#include "plugins/flavor/flavor_service.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::client {
namespace {

namespace v1 = ::infrakit::plugin::v1;
using ::infrakit::client::testing::FakeFlavorPlugin;
using ::infrakit::client::testing::TestServer;
using ::infrakit::testing::TempDir;

class InfoService final : public v1::PluginService::CallbackService {
  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* context, const v1::InfoRequest*,
                                 v1::InfoResponse* response) override {
    response->set_name("flavor-fake");
    response->set_kind(v1::PLUGIN_KIND_FLAVOR);
    response->set_type("infrakit.FlavorPlugin/1.0");
    auto* implementation = response->add_implements();
    implementation->set_service("infrakit.flavor.v1.FlavorService");
    implementation->set_version("v1");
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

TEST(PluginClientTest, InfoRoundTrips) {
  TempDir dir;
  InfoService service;
  auto server = TestServer::Start(dir.Join("flavor-fake.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  PluginClient client((*server)->NewChannel());
  absl::StatusOr<v1::InfoResponse> info = client.Info();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name(), "flavor-fake");
  EXPECT_EQ(info->kind(), v1::PLUGIN_KIND_FLAVOR);
  ASSERT_EQ(info->implements_size(), 1);
  EXPECT_EQ(info->implements(0).service(), "infrakit.flavor.v1.FlavorService");
}

TEST(PluginClientTest, ServerWithoutPluginServiceIsUnimplemented) {
  TempDir dir;
  plugins::flavor::FlavorService service(std::make_shared<FakeFlavorPlugin>());
  auto server = TestServer::Start(dir.Join("bare.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(PluginClient((*server)->NewChannel()).Info().status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(PluginClientTest, NothingListeningIsUnavailable) {
  TempDir dir;
  EXPECT_EQ(
      PluginClient(discovery::MakePluginChannel(dir.Join("none.sock"))).Info().status().code(),
      absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace infrakit::client
