// InstanceService details seen from a raw gRPC stub over a real unix socket: what a client of
// the contract written in another language observes.
#include "plugins/instance/instance_service.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
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

// Reads a raw Watch until SYNCED (inclusive); returns the messages as received.
std::vector<v1::WatchResponse> ReadUntilSynced(grpc::ClientReader<v1::WatchResponse>* reader) {
  std::vector<v1::WatchResponse> messages;
  v1::WatchResponse message;
  while (reader->Read(&message)) {
    messages.push_back(message);
    bool synced = message.type() == v1::EVENT_TYPE_SYNCED;
    for (const v1::WatchResponse& e : message.events()) {
      synced = synced || e.type() == v1::EVENT_TYPE_SYNCED;
    }
    if (synced) break;
  }
  return messages;
}

TEST(InstanceServiceTest, WatchPacksWaitingEventsWhenAskedAndOnlyThen) {
  TempDir dir;
  auto fake = std::make_shared<FakeInstancePlugin>();
  InstanceService service(fake);
  auto server = TestServer::Start(dir.Join("instance.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::InstanceService::NewStub((*server)->NewChannel());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(fake->Provision(v1::ProvisionRequest()).ok());

  // Asked for up to 16 per message: the initial set (50 ADDED + SYNCED), queued at once,
  // comes in 4 messages, in order, with type and instance unset on the messages themselves.
  v1::WatchRequest packed;
  packed.set_max_events_per_response(16);
  auto context = ContextWithDeadline();
  auto reader = stub->Watch(context.get(), packed);
  std::vector<v1::WatchResponse> messages = ReadUntilSynced(reader.get());
  std::vector<int> sizes;
  std::vector<v1::WatchResponse> events;
  for (const v1::WatchResponse& m : messages) {
    EXPECT_EQ(m.type(), v1::EVENT_TYPE_UNSPECIFIED);
    EXPECT_FALSE(m.has_instance());
    sizes.push_back(m.events_size());
    events.insert(events.end(), m.events().begin(), m.events().end());
  }
  EXPECT_EQ(sizes, (std::vector<int>{16, 16, 16, 3}));
  ASSERT_EQ(events.size(), 51u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(events[i].type(), v1::EVENT_TYPE_ADDED) << i;
  EXPECT_EQ(events[50].type(), v1::EVENT_TYPE_SYNCED);
  context->TryCancel();

  // Not asked (grpcurl, older clients): one event per message, as before.
  auto plain_context = ContextWithDeadline();
  auto plain = stub->Watch(plain_context.get(), v1::WatchRequest());
  std::vector<v1::WatchResponse> singles = ReadUntilSynced(plain.get());
  ASSERT_EQ(singles.size(), 51u);
  for (const v1::WatchResponse& m : singles) EXPECT_EQ(m.events_size(), 0);
  EXPECT_EQ(singles.back().type(), v1::EVENT_TYPE_SYNCED);
  plain_context->TryCancel();
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

// A core whose batch methods answer a fixed whole-call status (OK: no results) and record that they
// ran: shows what the adapter does around them.
class BatchRecordingPlugin final : public spi::instance::InstancePlugin {
 public:
  explicit BatchRecordingPlugin(absl::Status batch_status) : batch_status_(batch_status) {}
  absl::Status Validate(const v1::ValidateRequest&) override { return absl::OkStatus(); }
  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest&) override {
    return absl::UnimplementedError("unary");
  }
  absl::Status Destroy(const v1::DestroyRequest&) override {
    return absl::UnimplementedError("unary");
  }
  absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest&) override {
    return absl::UnimplementedError("unary");
  }
  absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest&) override {
    return absl::UnimplementedError("unary");
  }
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const v1::WatchRequest&, spi::instance::WatchSink*) override {
    return absl::UnimplementedError("unary");
  }
  // No size check here on purpose: the adapter must not rely on the core's.
  absl::StatusOr<v1::BatchProvisionResponse> BatchProvision(
      const v1::BatchProvisionRequest&) override {
    ++batch_calls;
    if (batch_status_.ok()) return v1::BatchProvisionResponse();
    return batch_status_;
  }
  absl::StatusOr<v1::BatchDestroyResponse> BatchDestroy(const v1::BatchDestroyRequest&) override {
    ++batch_calls;
    if (batch_status_.ok()) return v1::BatchDestroyResponse();
    return batch_status_;
  }

  std::atomic<int> batch_calls{0};

 private:
  const absl::Status batch_status_;
};

TEST(InstanceServiceTest, BatchProvisionAnswersOneResultPerRequestInOrder) {
  TempDir dir;
  auto fake = std::make_shared<FakeInstancePlugin>();
  InstanceService service(fake);
  auto server = TestServer::Start(dir.Join("instance.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::InstanceService::NewStub((*server)->NewChannel());

  v1::BatchProvisionRequest request;
  for (int i = 0; i < 3; ++i) {
    v1::ProvisionRequest* item = request.add_requests();
    item->mutable_spec()->set_init(std::to_string(i));
    if (i == 1) {  // the fake's bad input: a non-string image
      (*item->mutable_spec()->mutable_properties()->mutable_fields())["image"].set_number_value(1);
    }
  }
  request.mutable_requests(2)->mutable_spec()->set_idempotency_key("k");
  *request.add_requests() = request.requests(2);  // a repeat inside the batch
  v1::BatchProvisionResponse response;
  auto context = ContextWithDeadline();
  grpc::Status status = stub->BatchProvision(context.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 4);
  ASSERT_TRUE(response.results(0).has_response());
  EXPECT_EQ(response.results(0).response().id(), "instance-000001");
  EXPECT_TRUE(response.results(0).response().created());
  ASSERT_TRUE(response.results(1).has_error());
  EXPECT_EQ(response.results(1).error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(response.results(1).error().message(), "properties.image: must be a string");
  ASSERT_TRUE(response.results(2).has_response());
  EXPECT_EQ(response.results(2).response().id(), "instance-000002");
  ASSERT_TRUE(response.results(3).has_response());
  EXPECT_EQ(response.results(3).response().id(), "instance-000002");
  EXPECT_FALSE(response.results(3).response().created());
  EXPECT_EQ(fake->batch_provision_calls(), 1);
  EXPECT_EQ(fake->provision_calls(), 4);
}

TEST(InstanceServiceTest, BatchDestroyAnswersOneStatusPerRequestInOrder) {
  TempDir dir;
  auto fake = std::make_shared<FakeInstancePlugin>();
  InstanceService service(fake);
  auto server = TestServer::Start(dir.Join("instance.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::InstanceService::NewStub((*server)->NewChannel());
  absl::StatusOr<v1::ProvisionResponse> a = fake->Provision(v1::ProvisionRequest());
  absl::StatusOr<v1::ProvisionResponse> b = fake->Provision(v1::ProvisionRequest());
  ASSERT_TRUE(a.ok() && b.ok());

  v1::BatchDestroyRequest request;
  request.add_requests()->set_id(b->id());
  request.add_requests()->set_id("instance-999999");
  request.add_requests()->set_id(a->id());
  v1::BatchDestroyResponse response;
  auto context = ContextWithDeadline();
  grpc::Status status = stub->BatchDestroy(context.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).code(), 0);
  EXPECT_EQ(response.results(1).code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(response.results(1).message(), "no instance instance-999999");
  EXPECT_EQ(response.results(2).code(), 0);
  absl::StatusOr<v1::DescribeResponse> left = fake->Describe(v1::DescribeRequest());
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->instances_size(), 0);
  EXPECT_EQ(fake->batch_destroy_calls(), 1);
}

TEST(InstanceServiceTest, OversizedBatchesAreRefusedBeforeTheCore) {
  TempDir dir;
  auto core = std::make_shared<BatchRecordingPlugin>(absl::OkStatus());
  InstanceService service(core);
  auto server = TestServer::Start(dir.Join("instance.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::InstanceService::NewStub((*server)->NewChannel());

  v1::BatchProvisionRequest provision;
  v1::BatchDestroyRequest destroy;
  for (size_t i = 0; i <= spi::kMaxBatchSize; ++i) {
    provision.add_requests();
    destroy.add_requests()->set_id("x");
  }
  v1::BatchProvisionResponse provisioned;
  auto context = ContextWithDeadline();
  grpc::Status status = stub->BatchProvision(context.get(), provision, &provisioned);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "requests: 1001 items; a batch carries at most 1000");
  v1::BatchDestroyResponse destroyed;
  context = ContextWithDeadline();
  status = stub->BatchDestroy(context.get(), destroy, &destroyed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(core->batch_calls.load(), 0);

  // At the limit the core is called.
  provision.mutable_requests()->RemoveLast();
  context = ContextWithDeadline();
  status = stub->BatchProvision(context.get(), provision, &provisioned);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(core->batch_calls.load(), 1);
}

TEST(InstanceServiceTest, TheCoresWholeCallErrorIsTheCallsStatus) {
  TempDir dir;
  auto core = std::make_shared<BatchRecordingPlugin>(absl::UnavailableError("cloud API down"));
  InstanceService service(core);
  auto server = TestServer::Start(dir.Join("instance.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::InstanceService::NewStub((*server)->NewChannel());
  v1::BatchProvisionRequest request;
  request.add_requests();
  v1::BatchProvisionResponse response;
  auto context = ContextWithDeadline();
  grpc::Status status = stub->BatchProvision(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "cloud API down");
  EXPECT_EQ(response.results_size(), 0);
}

// A plugin whose Provision blocks until released, and whose Describe (one instance) never does.
class BlockingProvisionPlugin final : public spi::instance::InstancePlugin {
 public:
  absl::Status Validate(const v1::ValidateRequest&) override { return absl::OkStatus(); }
  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest&) override {
    provisioning_.store(true);
    release_.WaitForNotification();
    return v1::ProvisionResponse();
  }
  absl::Status Destroy(const v1::DestroyRequest&) override { return absl::OkStatus(); }
  absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest&) override {
    v1::DescribeResponse response;
    response.add_instances()->set_id("instance-1");
    return response;
  }
  bool DescribePagedNeverBlocks() const override { return true; }
  absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest&) override {
    return v1::LabelResponse();
  }
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const v1::WatchRequest&, spi::instance::WatchSink*) override {
    return absl::UnimplementedError("no watch");
  }

  std::atomic<bool> provisioning_{false};
  absl::Notification release_;
};

TEST(InstanceServiceTest, DescribeThatNeverBlocksIsAnsweredWhileEveryWorkerIsBusy) {
  TempDir dir;
  auto core = std::make_shared<BlockingProvisionPlugin>();
  InstanceServiceOptions options;
  options.worker_threads = 1;
  InstanceService service(core, options);
  auto server = TestServer::Start(dir.Join("blocking.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  InstanceClient client((*server)->NewChannel(), kWait);

  // The only worker is held by a Provision until the end of the test.
  std::thread provision([&] { EXPECT_TRUE(client.Provision(v1::ProvisionRequest()).ok()); });
  ASSERT_TRUE(WaitFor([&] { return core->provisioning_.load(); }, kWait));

  absl::StatusOr<v1::DescribeResponse> page = client.DescribePage(v1::DescribeRequest());
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->instances_size(), 1);
  EXPECT_EQ(page->instances(0).id(), "instance-1");
  EXPECT_TRUE(core->provisioning_.load());
  EXPECT_FALSE(core->release_.HasBeenNotified());  // answered while the Provision still blocks

  core->release_.Notify();
  provision.join();
}

}  // namespace
}  // namespace infrakit::plugins::instance
