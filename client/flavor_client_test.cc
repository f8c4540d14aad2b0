// FlavorClient against FlavorService over a real unix socket, with a fake core behind it.
#include "client/flavor_client.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "client/discovery/channel.h"
#include "client/testing/fake_flavor_plugin.h"
#include "client/testing/test_server.h"
#include "gtest/gtest.h"
#include "infrakit/flavor/v1/flavor.grpc.pb.h"
#include "plugins/flavor/flavor_service.h"
#include "spec/tags.h"
#include "spi/item_status.h"
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

// A core that answers a limit on members down at once, as an ensemble's flavor does.
class LimitingPlugin final : public spi::flavor::FlavorPlugin {
 public:
  absl::Status Validate(const v1::ValidateRequest& request) override {
    return ValidateAllocation(request).status();
  }
  absl::StatusOr<v1::ValidateResponse> ValidateAllocation(const v1::ValidateRequest&) override {
    v1::ValidateResponse response;
    response.set_max_unavailable(2);
    return response;
  }
  absl::StatusOr<v1::PrepareResponse> Prepare(const v1::PrepareRequest&) override {
    return v1::PrepareResponse();
  }
  absl::StatusOr<v1::HealthyResponse> Healthy(const v1::HealthyRequest&) override {
    return v1::HealthyResponse();
  }
  absl::Status Drain(const v1::DrainRequest&) override { return absl::OkStatus(); }
};

TEST_F(FlavorClientTest, ValidateAllocationCarriesTheResponse) {
  FlavorService service(std::make_shared<LimitingPlugin>());
  auto server = TestServer::Start(dir_.Join("limiting.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  FlavorClient client((*server)->NewChannel());
  absl::StatusOr<v1::ValidateResponse> response = client.ValidateAllocation(v1::ValidateRequest());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->max_unavailable(), 2);
  EXPECT_TRUE(client.Validate(v1::ValidateRequest()).ok());
  // A core without limits answers none.
  v1::ValidateRequest sized;
  sized.mutable_allocation()->set_size(3);
  response = client_->ValidateAllocation(sized);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->max_unavailable(), 0);
}

TEST_F(FlavorClientTest, EveryCallRoundTrips) {
  v1::ValidateRequest validate;
  validate.mutable_allocation()->set_size(3);
  EXPECT_TRUE(client_->Validate(validate).ok());

  v1::PrepareRequest prepare;
  prepare.mutable_spec()->set_init("echo first");
  (*prepare.mutable_spec()->mutable_tags())[spec::kGroupTag] = "web";
  (*prepare.mutable_spec()->mutable_tags())["infrakit.flavor"] = "caller";
  prepare.mutable_allocation()->set_size(3);
  prepare.mutable_index()->set_group("web");
  prepare.mutable_index()->set_sequence(7);
  absl::StatusOr<v1::PrepareResponse> prepared = client_->Prepare(prepare);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->spec().init(), "echo first\necho web-7");
  EXPECT_EQ(prepared->spec().tags().at(spec::kGroupTag), "web");
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

v1::BatchPrepareRequest ThreeIndexes() {
  v1::BatchPrepareRequest request;
  request.mutable_spec()->set_init("echo first");
  request.mutable_allocation()->set_size(3);
  for (int64_t sequence : {4, 1, 8}) {
    v1::Index* index = request.add_indexes();
    index->set_group("web");
    index->set_sequence(sequence);
  }
  return request;
}

TEST_F(FlavorClientTest, BatchCallsUseTheBatchRpcs) {
  const v1::BatchPrepareRequest request = ThreeIndexes();
  absl::StatusOr<v1::BatchPrepareResponse> prepared = client_->BatchPrepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_EQ(prepared->results_size(), 3);
  for (int i = 0; i < 3; ++i) {
    v1::PrepareRequest one;
    *one.mutable_spec() = request.spec();
    *one.mutable_allocation() = request.allocation();
    *one.mutable_index() = request.indexes(i);
    absl::StatusOr<v1::PrepareResponse> unary = client_->Prepare(one);
    ASSERT_TRUE(unary.ok()) << unary.status();
    EXPECT_EQ(prepared->results(i).response().spec().init(), unary->spec().init()) << i;
  }
  EXPECT_EQ(fake_->batch_prepare_calls(), 1);

  fake_->SetHealth("instance-2", v1::HEALTH_UNHEALTHY, "down");
  v1::BatchHealthyRequest healthy;
  healthy.add_instances()->set_id("instance-1");
  healthy.add_instances()->set_id("instance-2");
  absl::StatusOr<v1::BatchHealthyResponse> health = client_->BatchHealthy(healthy);
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_EQ(health->results_size(), 2);
  EXPECT_EQ(health->results(0).response().health(), v1::HEALTH_UNKNOWN);
  EXPECT_EQ(health->results(1).response().health(), v1::HEALTH_UNHEALTHY);
  EXPECT_EQ(health->results(1).response().reason(), "down");
  EXPECT_EQ(fake_->batch_healthy_calls(), 1);

  v1::BatchDrainRequest drain;
  drain.add_instances()->set_id("instance-2");
  drain.add_instances()->set_id("instance-1");
  absl::StatusOr<v1::BatchDrainResponse> drained = client_->BatchDrain(drain);
  ASSERT_TRUE(drained.ok()) << drained.status();
  ASSERT_EQ(drained->results_size(), 2);
  EXPECT_TRUE(spi::FromItemStatus(drained->results(0)).ok());
  EXPECT_TRUE(spi::FromItemStatus(drained->results(1)).ok());
  EXPECT_EQ(fake_->drained(), (std::vector<std::string>{"instance-2", "instance-1"}));
  EXPECT_EQ(fake_->batch_drain_calls(), 1);
}

TEST_F(FlavorClientTest, OversizedBatchesFailBeforeAnyCall) {
  v1::BatchPrepareRequest prepare;
  v1::BatchHealthyRequest healthy;
  v1::BatchDrainRequest drain;
  for (int i = 0; i <= static_cast<int>(spi::kMaxBatchSize); ++i) {
    prepare.add_indexes()->set_sequence(i);
    healthy.add_instances()->set_id(absl::StrCat("instance-", i));
    drain.add_instances()->set_id(absl::StrCat("instance-", i));
  }
  EXPECT_EQ(client_->BatchPrepare(prepare).status(),
            absl::InvalidArgumentError("indexes: 1001 items; a batch carries at most 1000"));
  EXPECT_EQ(client_->BatchHealthy(healthy).status(),
            absl::InvalidArgumentError("instances: 1001 items; a batch carries at most 1000"));
  EXPECT_EQ(client_->BatchDrain(drain).status(),
            absl::InvalidArgumentError("instances: 1001 items; a batch carries at most 1000"));
  EXPECT_EQ(fake_->batch_prepare_calls(), 0);
  EXPECT_EQ(fake_->batch_healthy_calls(), 0);
  EXPECT_EQ(fake_->batch_drain_calls(), 0);
  EXPECT_TRUE(fake_->drained().empty());
}

// A flavor plugin from before the batch RPCs: serves only the unary methods, so gRPC answers
// the batch ones UNIMPLEMENTED. Answers at once (no blocking work in the reactor). Thread-safe.
class LegacyFlavorService : public v1::FlavorService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Prepare(grpc::CallbackServerContext* context,
                                    const v1::PrepareRequest* request,
                                    v1::PrepareResponse* response) override {
    Count(absl::StrCat("Prepare ", request->index().sequence()));
    response->mutable_spec()->set_init(absl::StrCat("legacy ", request->index().sequence()));
    return Finish(context, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* Healthy(grpc::CallbackServerContext* context,
                                    const v1::HealthyRequest* request,
                                    v1::HealthyResponse* response) override {
    Count(absl::StrCat("Healthy ", request->instance().id()));
    if (request->instance().id().empty()) {
      return Finish(context,
                    grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "instance.id: empty"));
    }
    response->set_health(v1::HEALTH_HEALTHY);
    response->set_reason(request->instance().id());
    return Finish(context, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* Drain(grpc::CallbackServerContext* context,
                                  const v1::DrainRequest* request,
                                  v1::DrainResponse* /*response*/) override {
    Count(absl::StrCat("Drain ", request->instance().id()));
    return Finish(context, grpc::Status::OK);
  }

  // Every call that reached the service, in order, e.g. "Prepare 4".
  std::vector<std::string> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 protected:
  void Count(std::string call) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(std::move(call));
  }
  static grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context,
                                          grpc::Status status) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(std::move(status));
    return reactor;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

// The same, but it sees (and counts) the batch calls it refuses, as a third-party plugin that
// answers UNIMPLEMENTED by itself would.
class CountingLegacyFlavorService final : public LegacyFlavorService {
 public:
  grpc::ServerUnaryReactor* BatchPrepare(grpc::CallbackServerContext* context,
                                         const v1::BatchPrepareRequest*,
                                         v1::BatchPrepareResponse*) override {
    Count("BatchPrepare");
    return Finish(context, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no batches here"));
  }
  grpc::ServerUnaryReactor* BatchHealthy(grpc::CallbackServerContext* context,
                                         const v1::BatchHealthyRequest*,
                                         v1::BatchHealthyResponse*) override {
    Count("BatchHealthy");
    return Finish(context, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no batches here"));
  }
  grpc::ServerUnaryReactor* BatchDrain(grpc::CallbackServerContext* context,
                                       const v1::BatchDrainRequest*,
                                       v1::BatchDrainResponse*) override {
    Count("BatchDrain");
    return Finish(context, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no batches here"));
  }
};

TEST(FlavorClientFallbackTest, APluginWithoutBatchRpcsGetsOneUnaryCallPerItem) {
  TempDir dir;
  LegacyFlavorService service;
  auto server = TestServer::Start(dir.Join("legacy.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  FlavorClient client((*server)->NewChannel());

  absl::StatusOr<v1::BatchPrepareResponse> prepared = client.BatchPrepare(ThreeIndexes());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_EQ(prepared->results_size(), 3);
  EXPECT_EQ(prepared->results(0).response().spec().init(), "legacy 4");
  EXPECT_EQ(prepared->results(1).response().spec().init(), "legacy 1");
  EXPECT_EQ(prepared->results(2).response().spec().init(), "legacy 8");

  v1::BatchHealthyRequest healthy;
  healthy.add_instances()->set_id("instance-1");
  healthy.add_instances();  // No ID: that item alone fails, as Healthy would.
  absl::StatusOr<v1::BatchHealthyResponse> health = client.BatchHealthy(healthy);
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_EQ(health->results_size(), 2);
  EXPECT_EQ(health->results(0).response().reason(), "instance-1");
  EXPECT_EQ(spi::FromItemStatus(health->results(1).error()),
            absl::InvalidArgumentError("instance.id: empty"));

  v1::BatchDrainRequest drain;
  drain.add_instances()->set_id("instance-2");
  drain.add_instances()->set_id("instance-1");
  absl::StatusOr<v1::BatchDrainResponse> drained = client.BatchDrain(drain);
  ASSERT_TRUE(drained.ok()) << drained.status();
  ASSERT_EQ(drained->results_size(), 2);
  EXPECT_EQ(drained->results(0).code(), 0);
  EXPECT_EQ(drained->results(1).code(), 0);

  EXPECT_EQ(service.calls(),
            (std::vector<std::string>{"Prepare 4", "Prepare 1", "Prepare 8", "Healthy instance-1",
                                      "Healthy ", "Drain instance-2", "Drain instance-1"}));
}

TEST(FlavorClientFallbackTest, UnimplementedIsRememberedPerMethod) {
  TempDir dir;
  CountingLegacyFlavorService service;
  auto server = TestServer::Start(dir.Join("legacy.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  FlavorClient client((*server)->NewChannel());

  v1::BatchPrepareRequest prepare = ThreeIndexes();
  prepare.mutable_indexes()->DeleteSubrange(1, 2);
  ASSERT_TRUE(client.BatchPrepare(prepare).ok());
  ASSERT_TRUE(client.BatchPrepare(prepare).ok());
  // Only the first batch was offered to the server; the second went straight to Prepare.
  EXPECT_EQ(service.calls(), (std::vector<std::string>{"BatchPrepare", "Prepare 4", "Prepare 4"}));

  // The other methods have not learnt anything yet: each tries its RPC once.
  v1::BatchHealthyRequest healthy;
  healthy.add_instances()->set_id("instance-1");
  ASSERT_TRUE(client.BatchHealthy(healthy).ok());
  ASSERT_TRUE(client.BatchHealthy(healthy).ok());
  v1::BatchDrainRequest drain;
  drain.add_instances()->set_id("instance-1");
  ASSERT_TRUE(client.BatchDrain(drain).ok());
  ASSERT_TRUE(client.BatchDrain(drain).ok());
  EXPECT_EQ(service.calls(),
            (std::vector<std::string>{"BatchPrepare", "Prepare 4", "Prepare 4", "BatchHealthy",
                                      "Healthy instance-1", "Healthy instance-1", "BatchDrain",
                                      "Drain instance-1", "Drain instance-1"}));

  // Another client (e.g. after the plugin was upgraded and restarted) asks again.
  FlavorClient fresh((*server)->NewChannel());
  ASSERT_TRUE(fresh.BatchPrepare(prepare).ok());
  EXPECT_EQ(service.calls().size(), 11u);
  EXPECT_EQ(service.calls()[9], "BatchPrepare");
}

// Answers every batch with one result, whatever the number of items.
class MiscountingFlavorService final : public v1::FlavorService::CallbackService {
 public:
  grpc::ServerUnaryReactor* BatchPrepare(grpc::CallbackServerContext* context,
                                         const v1::BatchPrepareRequest*,
                                         v1::BatchPrepareResponse* response) override {
    response->add_results()->mutable_response();
    return Ok(context);
  }
  grpc::ServerUnaryReactor* BatchHealthy(grpc::CallbackServerContext* context,
                                         const v1::BatchHealthyRequest*,
                                         v1::BatchHealthyResponse* response) override {
    response->add_results()->mutable_response();
    return Ok(context);
  }
  grpc::ServerUnaryReactor* BatchDrain(grpc::CallbackServerContext* context,
                                       const v1::BatchDrainRequest*,
                                       v1::BatchDrainResponse* response) override {
    response->add_results();
    return Ok(context);
  }

 private:
  static grpc::ServerUnaryReactor* Ok(grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

TEST(FlavorClientStandaloneTest, AResultCountOtherThanTheItemCountIsInternal) {
  TempDir dir;
  MiscountingFlavorService service;
  auto server = TestServer::Start(dir.Join("miscount.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  FlavorClient client((*server)->NewChannel());

  EXPECT_EQ(client.BatchPrepare(ThreeIndexes()).status(),
            absl::InternalError("BatchPrepare: the plugin answered 1 results for 3 items"));
  v1::BatchHealthyRequest healthy;
  healthy.add_instances()->set_id("instance-1");
  healthy.add_instances()->set_id("instance-2");
  EXPECT_EQ(client.BatchHealthy(healthy).status(),
            absl::InternalError("BatchHealthy: the plugin answered 1 results for 2 items"));
  EXPECT_EQ(client.BatchDrain(v1::BatchDrainRequest()).status(),
            absl::InternalError("BatchDrain: the plugin answered 1 results for 0 items"));
}

TEST(FlavorClientStandaloneTest, AResultWithoutOutcomeIsInternal) {
  TempDir dir;
  // Answers one result per item, the second of them empty.
  class HollowFlavorService final : public v1::FlavorService::CallbackService {
   public:
    grpc::ServerUnaryReactor* BatchPrepare(grpc::CallbackServerContext* context,
                                           const v1::BatchPrepareRequest* request,
                                           v1::BatchPrepareResponse* response) override {
      for (int i = 0; i < request->indexes_size(); ++i) {
        v1::PrepareResult* result = response->add_results();
        if (i != 1) result->mutable_response();
      }
      return Ok(context);
    }
    grpc::ServerUnaryReactor* BatchHealthy(grpc::CallbackServerContext* context,
                                           const v1::BatchHealthyRequest* request,
                                           v1::BatchHealthyResponse* response) override {
      for (int i = 0; i < request->instances_size(); ++i) {
        v1::HealthyResult* result = response->add_results();
        if (i != 1) result->mutable_error()->set_code(3);
      }
      return Ok(context);
    }

   private:
    static grpc::ServerUnaryReactor* Ok(grpc::CallbackServerContext* context) {
      grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
  } service;
  auto server = TestServer::Start(dir.Join("hollow.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  FlavorClient client((*server)->NewChannel());

  EXPECT_EQ(client.BatchPrepare(ThreeIndexes()).status(),
            absl::InternalError("BatchPrepare: the plugin answered result 1 with neither outcome"));
  v1::BatchHealthyRequest healthy;
  healthy.add_instances()->set_id("instance-1");
  healthy.add_instances()->set_id("instance-2");
  EXPECT_EQ(client.BatchHealthy(healthy).status(),
            absl::InternalError("BatchHealthy: the plugin answered result 1 with neither outcome"));
}

constexpr char kNamedUnavailable[] = "plugin \"flavor-fake\" is unavailable: ";

TEST_F(FlavorClientTest, PluginStoppingUnderAHealthCheckIsUnavailableNamingIt) {
  FlavorClient named(server_->NewChannel(), kDefaultCallDeadline, "flavor-fake");
  fake_->BlockCalls();
  v1::BatchHealthyRequest healthy;
  healthy.add_instances()->set_id("instance-1");
  absl::Status status;
  absl::Notification answered;
  std::thread call([&] {
    status = named.BatchHealthy(healthy).status();
    answered.Notify();
  });
  const bool reached_core = WaitFor([&] { return fake_->blocked_calls() == 1; }, kWait);
  // The plugin stops while a probe runs: the server cancels what is still open after the grace
  // period (and finishes stopping once the core lets go).
  std::thread stop([&] { server_->Shutdown(absl::Milliseconds(50)); });
  const bool ended = answered.WaitForNotificationWithTimeout(kWait);
  fake_->UnblockCalls();
  stop.join();
  call.join();
  ASSERT_TRUE(reached_core);
  ASSERT_TRUE(ended) << "the call did not end when the plugin stopped";
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), kNamedUnavailable)) << status;
}

TEST_F(FlavorClientTest, PluginWhoseSocketIsGoneIsUnavailableNamingIt) {
  FlavorClient named(server_->NewChannel(), kDefaultCallDeadline, "flavor-fake");
  v1::ValidateRequest validate;
  validate.mutable_allocation()->set_size(1);
  ASSERT_TRUE(named.Validate(validate).ok());
  server_->Shutdown();
  unlink(server_->socket_path().c_str());  // A plugin that stops removes its socket.
  v1::BatchDrainRequest drain;
  drain.add_instances()->set_id("instance-1");
  v1::HealthyRequest healthy;
  healthy.mutable_instance()->set_id("instance-1");
  for (const absl::Status& status : {named.Validate(validate), named.Healthy(healthy).status(),
                                     named.BatchDrain(drain).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_TRUE(absl::StartsWith(status.message(), kNamedUnavailable)) << status;
  }
}

TEST_F(FlavorClientTest, NamedClientThatGetsNoAnswerInTimeSaysWhichPlugin) {
  FlavorClient impatient(server_->NewChannel(), absl::Milliseconds(200), "flavor-fake");
  fake_->BlockCalls();
  v1::HealthyRequest healthy;
  healthy.mutable_instance()->set_id("instance-1");
  const absl::Status status = impatient.Healthy(healthy).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), "plugin \"flavor-fake\" did not answer in time: "))
      << status;
  EXPECT_TRUE(WaitFor([&] { return fake_->blocked_calls() == 1; }, kWait));
  fake_->UnblockCalls();
}

TEST_F(FlavorClientTest, NamedClientPassesThePluginsOwnErrorsThrough) {
  FlavorClient named(server_->NewChannel(), kDefaultCallDeadline, "flavor-fake");
  v1::ValidateRequest validate;
  validate.mutable_allocation()->set_size(-1);
  const absl::Status status = named.Validate(validate);
  EXPECT_EQ(status, client_->Validate(validate));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

TEST(FlavorClientStandaloneTest, UnreachablePluginIsUnavailable) {
  TempDir dir;
  FlavorClient client(discovery::MakePluginChannel(dir.Join("gone.sock")));
  EXPECT_EQ(client.Validate(v1::ValidateRequest()).code(), absl::StatusCode::kUnavailable);
  // A batch call that cannot be made fails as a whole (no fallback: that is not UNIMPLEMENTED).
  v1::BatchDrainRequest drain;
  drain.add_instances()->set_id("instance-1");
  EXPECT_EQ(client.BatchDrain(drain).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace infrakit::client
