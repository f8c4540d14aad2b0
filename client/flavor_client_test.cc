// FlavorClient against FlavorService over a real unix socket, with a fake core behind it.
#include "client/flavor_client.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/discovery/channel.h"
#include "client/testing/fake_flavor_plugin.h"
#include "client/testing/test_server.h"
#include "gtest/gtest.h"
#include "plugins/flavor/flavor_service.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::client {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using ::infrakit::client::testing::FakeFlavorPlugin;
using ::infrakit::client::testing::TestServer;
using ::infrakit::plugins::flavor::FlavorService;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kWait = absl::Seconds(20);

class FlavorClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_shared<FakeFlavorPlugin>();
    service_ = std::make_unique<FlavorService>(fake_);
    auto server = TestServer::Start(dir_.Join("flavor.sock"), {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<FlavorClient>(server_->NewChannel());
  }

  TempDir dir_;
  std::shared_ptr<FakeFlavorPlugin> fake_;
  std::unique_ptr<FlavorService> service_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<FlavorClient> client_;
};

TEST_F(FlavorClientTest, EveryCallRoundTrips) {
  v1::ValidateRequest validate;
  validate.mutable_allocation()->set_size(3);
  EXPECT_TRUE(client_->Validate(validate).ok());

  v1::PrepareRequest prepare;
  prepare.mutable_spec()->set_init("echo first");
  (*prepare.mutable_spec()->mutable_tags())["infrakit.group"] = "web";
  (*prepare.mutable_spec()->mutable_tags())["infrakit.flavor"] = "caller";
  prepare.mutable_allocation()->set_size(3);
  prepare.mutable_index()->set_group("web");
  prepare.mutable_index()->set_sequence(7);
  absl::StatusOr<v1::PrepareResponse> prepared = client_->Prepare(prepare);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->spec().init(), "echo first\necho web-7");
  EXPECT_EQ(prepared->spec().tags().at("infrakit.group"), "web");
  EXPECT_EQ(prepared->spec().tags().at("infrakit.flavor"), "fake");

  v1::HealthyRequest healthy;
  healthy.mutable_instance()->set_id("instance-1");
  absl::StatusOr<v1::HealthyResponse> verdict = client_->Healthy(healthy);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->health(), v1::HEALTH_UNKNOWN);
  EXPECT_EQ(verdict->reason(), "no verdict yet");
  fake_->SetHealth("instance-1", v1::HEALTH_UNHEALTHY, "connection refused");
  verdict = client_->Healthy(healthy);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->health(), v1::HEALTH_UNHEALTHY);
  EXPECT_EQ(verdict->reason(), "connection refused");

  v1::DrainRequest drain;
  drain.mutable_instance()->set_id("instance-1");
  EXPECT_TRUE(client_->Drain(drain).ok());
  EXPECT_EQ(fake_->drained(), std::vector<std::string>{"instance-1"});
}

TEST_F(FlavorClientTest, ErrorCodesAndMessagesPassThrough) {
  absl::Status empty = client_->Validate(v1::ValidateRequest());
  EXPECT_EQ(empty, absl::InvalidArgumentError("allocation: neither size nor logical_ids is set"));
  v1::ValidateRequest negative;
  negative.mutable_allocation()->set_size(-1);
  EXPECT_EQ(client_->Validate(negative),
            absl::InvalidArgumentError("allocation.size: must be >= 0"));
  EXPECT_EQ(client_->Healthy(v1::HealthyRequest()).status(),
            absl::InvalidArgumentError("instance.id: empty"));
}

TEST_F(FlavorClientTest, BlockedHealthCheckHitsTheDeadline) {
  FlavorClient impatient(server_->NewChannel(), absl::Milliseconds(200));
  fake_->BlockCalls();
  v1::HealthyRequest healthy;
  healthy.mutable_instance()->set_id("instance-1");
  EXPECT_EQ(impatient.Healthy(healthy).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(WaitFor([&] { return fake_->blocked_calls() == 1; }, kWait));
  fake_->UnblockCalls();
  EXPECT_TRUE(client_->Healthy(healthy).ok());
}

TEST_F(FlavorClientTest, OtherCallsProceedWhileOneHealthCheckBlocks) {
  // Several workers: one blocked health probe must not stall the service.
  fake_->BlockCalls();
  FlavorClient impatient(server_->NewChannel(), absl::Milliseconds(200));
  v1::HealthyRequest healthy;
  healthy.mutable_instance()->set_id("instance-1");
  EXPECT_EQ(impatient.Healthy(healthy).status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(WaitFor([&] { return fake_->blocked_calls() == 1; }, kWait));
  EXPECT_EQ(impatient.Healthy(healthy).status().code(), absl::StatusCode::kDeadlineExceeded);
  // Both calls reached the core at once: they run on different workers.
  EXPECT_TRUE(WaitFor([&] { return fake_->blocked_calls() == 2; }, kWait));
  fake_->UnblockCalls();
}

TEST(FlavorClientStandaloneTest, UnreachablePluginIsUnavailable) {
  TempDir dir;
  FlavorClient client(discovery::MakePluginChannel(dir.Join("gone.sock")));
  EXPECT_EQ(client.Validate(v1::ValidateRequest()).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace infrakit::client
