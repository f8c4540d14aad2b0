// PluginServer's metrics: the listener it starts and the gRPC calls it counts.
#include <grpcpp/client_context.h>
#include <unistd.h>

#include <string>

#include "absl/time/clock.h"
#include "client/discovery/discovery.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/runtime/plugin_server.h"
#include "tests/testing/exposition_checker.h"
#include "tests/testing/http_get.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::services::runtime {
namespace {

using ::infrakit::testing::Exposition;
using ::infrakit::testing::HttpGet;
using ::infrakit::testing::HttpResponse;
using ::infrakit::testing::ParseExposition;
using ::infrakit::testing::TempDir;

PluginIdentity TestIdentity() {
  PluginIdentity identity;
  identity.default_name = "test";
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_FLAVOR;
  identity.type = "infrakit.FlavorPlugin/1.0";
  identity.binary = "infrakit-test";
  return identity;
}

grpc::StatusCode HealthCheck(const std::string& socket, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(client::discovery::MakePluginChannel(socket));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response).error_code();
}

absl::StatusOr<Exposition> Scrape(int port) {
  absl::StatusOr<HttpResponse> r = HttpGet(port, "/metrics");
  if (!r.ok()) return r.status();
  if (r->status != 200) return absl::InternalError(r->headers);
  return ParseExposition(r->body);
}

TEST(PluginServerMetricsTest, CountsEveryCallByMethodAndCode) {
  TempDir tmp;
  PluginServer server(TestIdentity(), "", tmp.Join("plugins"));
  server.EnableMetrics("127.0.0.1:0");
  ASSERT_NE(server.metrics(), nullptr);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_GT(server.metrics_port(), 0);

  ASSERT_TRUE(client::discovery::GetInfo(server.socket_path(), absl::Seconds(10)).ok());
  ASSERT_TRUE(client::discovery::GetInfo(server.socket_path(), absl::Seconds(10)).ok());
  EXPECT_EQ(HealthCheck(server.socket_path(), "no.such.Service"), grpc::StatusCode::NOT_FOUND);

  absl::StatusOr<Exposition> e = Scrape(server.metrics_port());
  ASSERT_TRUE(e.ok()) << e.status();
  const std::map<std::string, std::string> info = {
      {"grpc_service", "infrakit.plugin.v1.PluginService"},
      {"grpc_method", "Info"},
      {"grpc_type", "unary"}};
  EXPECT_EQ(e->Sum("grpc_server_started_total", info), 2);
  std::map<std::string, std::string> ok = info;
  ok["grpc_code"] = "OK";
  EXPECT_EQ(e->Sum("grpc_server_handled_total", ok), 2);
  EXPECT_EQ(e->Sum("grpc_server_handling_seconds_count", info), 2);
  EXPECT_EQ(e->Sum("grpc_server_msg_sent_total", info), 2);
  EXPECT_EQ(e->Sum("grpc_server_handled_total",
                   {{"grpc_service", "grpc.health.v1.Health"}, {"grpc_code", "NOT_FOUND"}}),
            1);
  EXPECT_EQ(e->Sum("infrakit_plugin_info", {{"name", "test"}, {"binary", "infrakit-test"}}), 1);
  EXPECT_EQ(e->types.at("grpc_server_handling_seconds"), "histogram");

  server.Shutdown();
  EXPECT_EQ(server.metrics_port(), 0);
}

TEST(PluginServerMetricsTest, MetricsAreOffUnlessEnabled) {
  TempDir tmp;
  PluginServer server(TestIdentity(), "", tmp.Join("plugins"));
  EXPECT_EQ(server.metrics(), nullptr);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.metrics_port(), 0);
}

TEST(PluginServerMetricsTest, ABadOrBusyAddressFailsStartAndLeavesNoSocket) {
  TempDir tmp;
  PluginServer bad(TestIdentity(), "", tmp.Join("plugins"));
  bad.EnableMetrics("nowhere");
  EXPECT_EQ(bad.Start().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(access(bad.socket_path().c_str(), F_OK), 0);

  PluginServer first(TestIdentity(), "first", tmp.Join("plugins"));
  first.EnableMetrics("127.0.0.1:0");
  ASSERT_TRUE(first.Start().ok());
  PluginServer busy(TestIdentity(), "busy", tmp.Join("plugins"));
  busy.EnableMetrics("127.0.0.1:" + std::to_string(first.metrics_port()));
  EXPECT_FALSE(busy.Start().ok());
  EXPECT_NE(access(busy.socket_path().c_str(), F_OK), 0);
}

}  // namespace
}  // namespace infrakit::services::runtime
