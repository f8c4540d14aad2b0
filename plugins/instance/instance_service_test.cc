// InstanceService details seen from a raw gRPC stub over a real unix socket: what a client of
// the contract written in another language observes.
#include "plugins/instance/instance_service.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/instance_client.h"
#include "client/testing/fake_instance_plugin.h"
#include "client/testing/test_server.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::client::InstanceClient;
using ::infrakit::client::testing::FakeInstancePlugin;
using ::infrakit::client::testing::TestServer;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kWait = absl::Seconds(20);

// A plugin that subscribes watches but never sends anything, and has no other method.
class SilentPlugin final : public spi::instance::InstancePlugin {
 public:
  absl::Status Validate(const v1::ValidateRequest&) override { return Unimplemented(); }
  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest&) override {
    return Unimplemented();
  }
  absl::Status Destroy(const v1::DestroyRequest&) override { return Unimplemented(); }
  absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest&) override {
    return Unimplemented();
  }
  absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest&) override {
    return Unimplemented();
  }
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const v1::WatchRequest&, spi::instance::WatchSink*) override {
    return std::make_unique<spi::instance::WatchHandle>();
  }

 private:
  static absl::Status Unimplemented() { return absl::UnimplementedError("silent plugin"); }
};

std::unique_ptr<grpc::ClientContext> ContextWithDeadline() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  return context;
}

TEST(InstanceServiceTest, WatchSendsTheSubscribedMetadataBeforeAnyEvent) {
  TempDir dir;
  InstanceService service(std::make_shared<SilentPlugin>());
  auto server = TestServer::Start(dir.Join("silent.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::InstanceService::NewStub((*server)->NewChannel());

  auto context = ContextWithDeadline();
  auto reader = stub->Watch(context.get(), v1::WatchRequest());
  reader->WaitForInitialMetadata();  // Returns when metadata arrived or the call failed.
  const auto& metadata = context->GetServerInitialMetadata();
  auto it = metadata.find(kWatchSubscribedMetadataKey);
  ASSERT_NE(it, metadata.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "subscribed");

  // And so the typed client's Watch returns without any event.
  InstanceClient client((*server)->NewChannel(), kWait);
  class NoSink : public spi::instance::WatchSink {
    void OnEvent(const v1::WatchResponse&) override {}
    void OnDone(const absl::Status&) override {}
  } sink;
  auto handle = client.Watch(v1::WatchRequest(), &sink);
  EXPECT_TRUE(handle.ok()) << handle.status();
  context->TryCancel();
}

TEST(InstanceServiceTest, UnimplementedFromTheCorePassesThrough) {
  TempDir dir;
  InstanceService service(std::make_shared<SilentPlugin>());
  auto server = TestServer::Start(dir.Join("silent.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  InstanceClient client((*server)->NewChannel());
  absl::StatusOr<v1::DescribeResponse> listed = client.Describe(v1::DescribeRequest());
  EXPECT_EQ(listed.status(), absl::UnimplementedError("silent plugin"));
  EXPECT_EQ(client.Destroy(v1::DestroyRequest()), absl::UnimplementedError("silent plugin"));
}

TEST(InstanceServiceTest, SlowWatchClientGetsResourceExhaustedInsteadOfUnboundedMemory) {
  TempDir dir;
  auto fake = std::make_shared<FakeInstancePlugin>();
  InstanceServiceOptions options;
  options.max_watch_backlog = 10;
  InstanceService service(fake, options);
  auto server = TestServer::Start(dir.Join("instance.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::InstanceService::NewStub((*server)->NewChannel());

  v1::ProvisionRequest provision;
  absl::StatusOr<v1::ProvisionResponse> created = fake->Provision(provision);
  ASSERT_TRUE(created.ok()) << created.status();

  auto context = ContextWithDeadline();
  auto reader = stub->Watch(context.get(), v1::WatchRequest());  // Not read for now.
  ASSERT_TRUE(WaitFor([&] { return fake->open_watches() == 1; }, kWait));

  // Far more than HTTP/2 flow control and socket buffers hold: the writes stall and the
  // server's queue passes its bound.
  constexpr int kLabels = 300;
  const std::string big(256 << 10, 'x');
  for (int i = 0; i < kLabels; ++i) {
    v1::LabelRequest label;
    label.set_id(created->id());
    (*label.mutable_labels())["payload"] = big + std::to_string(i);
    ASSERT_TRUE(fake->Label(label).ok());
  }
  // The server gave up the subscription without the client doing anything.
  EXPECT_TRUE(WaitFor([&] { return fake->destroyed_handles() == 1; }, kWait));
  EXPECT_EQ(fake->open_watches(), 0);

  int received = 0;
  v1::WatchResponse event;
  while (reader->Read(&event)) ++received;
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_LT(received, kLabels + 2);  // ADDED + SYNCED + labels, had nothing been dropped.
}

}  // namespace
}  // namespace infrakit::plugins::instance
