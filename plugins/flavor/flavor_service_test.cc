// FlavorService's batch methods seen from a raw gRPC stub over a real unix socket: what a client
// of the contract written in another language observes.
#include "plugins/flavor/flavor_service.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/testing/fake_flavor_plugin.h"
#include "client/testing/test_server.h"
#include "gtest/gtest.h"
#include "spi/item_status.h"
#include "spi/request_limits.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::flavor {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using ::infrakit::client::testing::FakeFlavorPlugin;
using ::infrakit::client::testing::TestServer;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kWait = absl::Seconds(20);

// A core whose batch calls fail as a whole with a status the test chooses.
class FailingBatchPlugin final : public spi::flavor::FlavorPlugin {
 public:
  explicit FailingBatchPlugin(absl::Status status) : status_(std::move(status)) {}
  absl::Status Validate(const v1::ValidateRequest&) override { return absl::OkStatus(); }
  absl::StatusOr<v1::PrepareResponse> Prepare(const v1::PrepareRequest&) override {
    return v1::PrepareResponse();
  }
  absl::StatusOr<v1::HealthyResponse> Healthy(const v1::HealthyRequest&) override {
    return v1::HealthyResponse();
  }
  absl::Status Drain(const v1::DrainRequest&) override { return absl::OkStatus(); }
  absl::StatusOr<v1::BatchPrepareResponse> BatchPrepare(const v1::BatchPrepareRequest&) override {
    return status_;
  }
  absl::StatusOr<v1::BatchHealthyResponse> BatchHealthy(const v1::BatchHealthyRequest&) override {
    return status_;
  }
  absl::StatusOr<v1::BatchDrainResponse> BatchDrain(const v1::BatchDrainRequest&) override {
    return status_;
  }

 private:
  const absl::Status status_;
};

// A core with a limit on members down at once: what an ensemble's flavor answers.
class LimitingPlugin final : public spi::flavor::FlavorPlugin {
 public:
  absl::Status Validate(const v1::ValidateRequest& request) override {
    return ValidateAllocation(request).status();
  }
  absl::StatusOr<v1::ValidateResponse> ValidateAllocation(
      const v1::ValidateRequest& request) override {
    if (!request.allocation().has_logical_ids()) {
      return absl::InvalidArgumentError("Allocation: want logical IDs");
    }
    v1::ValidateResponse response;
    response.set_max_unavailable((request.allocation().logical_ids().ids_size() - 1) / 2);
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

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(absl::Duration deadline = kWait) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return context;
}

class FlavorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Serve(fake_); }

  void Serve(std::shared_ptr<spi::flavor::FlavorPlugin> core) {
    server_.reset();
    service_ = std::make_unique<FlavorService>(std::move(core));
    auto server = TestServer::Start(dir_.Join("flavor.sock"), {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::FlavorService::NewStub(server_->NewChannel());
  }

  TempDir dir_;
  std::shared_ptr<FakeFlavorPlugin> fake_ = std::make_shared<FakeFlavorPlugin>();
  std::unique_ptr<FlavorService> service_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<v1::FlavorService::Stub> stub_;
};

TEST_F(FlavorServiceTest, ValidateAnswersTheCoresLimits) {
  Serve(std::make_shared<LimitingPlugin>());
  v1::ValidateRequest request;
  for (const char* ip : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}) {
    request.mutable_allocation()->mutable_logical_ids()->add_ids(ip);
  }
  v1::ValidateResponse response;
  ASSERT_TRUE(stub_->Validate(ContextWithDeadline().get(), request, &response).ok());
  EXPECT_EQ(response.max_unavailable(), 2);
  request.mutable_allocation()->set_size(5);
  EXPECT_EQ(stub_->Validate(ContextWithDeadline().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(FlavorServiceTest, ValidateOfACoreWithoutLimitsAnswersNone) {
  v1::ValidateResponse response;
  v1::ValidateRequest request;
  request.mutable_allocation()->set_size(3);
  ASSERT_TRUE(stub_->Validate(ContextWithDeadline().get(), request, &response).ok());
  EXPECT_EQ(response.max_unavailable(), 0);
}

TEST_F(FlavorServiceTest, BatchPrepareAnswersWhatPrepareWouldForEachIndexInOrder) {
  v1::BatchPrepareRequest request;
  request.mutable_spec()->set_init("echo first");
  (*request.mutable_spec()->mutable_tags())["keep"] = "me";
  request.mutable_allocation()->set_size(3);
  for (int64_t sequence : {5, 2, 9}) {
    v1::Index* index = request.add_indexes();
    index->set_group("web");
    index->set_sequence(sequence);
  }
  v1::BatchPrepareResponse response;
  grpc::Status status = stub_->BatchPrepare(ContextWithDeadline().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 3);
  const std::vector<std::string> lines = {"echo web-5", "echo web-2", "echo web-9"};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(response.results(i).has_response()) << i;
    EXPECT_EQ(response.results(i).response().spec().init(), "echo first\n" + lines[i]);
    EXPECT_EQ(response.results(i).response().spec().tags().at("keep"), "me");
  }
  EXPECT_EQ(fake_->batch_prepare_calls(), 1);
}

TEST_F(FlavorServiceTest, BatchHealthyKeepsPerItemErrorsInsideTheResponse) {
  fake_->SetHealth("instance-2", v1::HEALTH_HEALTHY, "");
  v1::BatchHealthyRequest request;
  request.add_instances()->set_id("instance-1");
  request.add_instances();  // No ID: that item alone fails.
  request.add_instances()->set_id("instance-2");
  v1::BatchHealthyResponse response;
  grpc::Status status = stub_->BatchHealthy(ContextWithDeadline().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).response().health(), v1::HEALTH_UNKNOWN);
  ASSERT_TRUE(response.results(1).has_error());
  EXPECT_EQ(spi::FromItemStatus(response.results(1).error()),
            absl::InvalidArgumentError("instance.id: empty"));
  EXPECT_EQ(response.results(2).response().health(), v1::HEALTH_HEALTHY);
  EXPECT_EQ(fake_->batch_healthy_calls(), 1);
}

TEST_F(FlavorServiceTest, BatchDrainDrainsInOrder) {
  v1::BatchDrainRequest request;
  request.add_instances()->set_id("instance-2");
  request.add_instances()->set_id("instance-1");
  v1::BatchDrainResponse response;
  grpc::Status status = stub_->BatchDrain(ContextWithDeadline().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).code(), 0);
  EXPECT_EQ(response.results(1).code(), 0);
  EXPECT_EQ(fake_->drained(), (std::vector<std::string>{"instance-2", "instance-1"}));
  EXPECT_EQ(fake_->batch_drain_calls(), 1);
}

TEST_F(FlavorServiceTest, OversizedBatchesAreRejectedWithoutReachingTheCore) {
  v1::BatchPrepareRequest prepare;
  v1::BatchHealthyRequest healthy;
  v1::BatchDrainRequest drain;
  for (int i = 0; i <= static_cast<int>(spi::kMaxBatchSize); ++i) {
    prepare.add_indexes()->set_sequence(i);
    healthy.add_instances()->set_id(absl::StrCat("instance-", i));
    drain.add_instances()->set_id(absl::StrCat("instance-", i));
  }
  v1::BatchPrepareResponse prepared;
  grpc::Status status = stub_->BatchPrepare(ContextWithDeadline().get(), prepare, &prepared);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("indexes: 1001 items"), std::string::npos)
      << status.error_message();
  v1::BatchHealthyResponse health;
  status = stub_->BatchHealthy(ContextWithDeadline().get(), healthy, &health);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("instances: 1001 items"), std::string::npos)
      << status.error_message();
  v1::BatchDrainResponse drained;
  status = stub_->BatchDrain(ContextWithDeadline().get(), drain, &drained);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("instances: 1001 items"), std::string::npos)
      << status.error_message();

  EXPECT_EQ(fake_->batch_prepare_calls(), 0);
  EXPECT_EQ(fake_->batch_healthy_calls(), 0);
  EXPECT_EQ(fake_->batch_drain_calls(), 0);
  EXPECT_TRUE(fake_->drained().empty());
}

TEST_F(FlavorServiceTest, AWholeCallErrorOfTheCoreIsTheCallsStatus) {
  Serve(std::make_shared<FailingBatchPlugin>(absl::FailedPreconditionError("not ready")));
  v1::BatchPrepareResponse prepared;
  grpc::Status status =
      stub_->BatchPrepare(ContextWithDeadline().get(), v1::BatchPrepareRequest(), &prepared);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "not ready");
  v1::BatchHealthyResponse health;
  status = stub_->BatchHealthy(ContextWithDeadline().get(), v1::BatchHealthyRequest(), &health);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::BatchDrainResponse drained;
  status = stub_->BatchDrain(ContextWithDeadline().get(), v1::BatchDrainRequest(), &drained);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(FlavorServiceTest, ABlockedBatchRunsOnAWorkerAndHitsTheCallersDeadline) {
  fake_->BlockCalls();
  v1::BatchHealthyRequest request;
  request.add_instances()->set_id("instance-1");
  v1::BatchHealthyResponse response;
  grpc::Status status =
      stub_->BatchHealthy(ContextWithDeadline(absl::Milliseconds(200)).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The batch reached the core on a worker while gRPC's threads stayed free to time it out.
  EXPECT_TRUE(WaitFor([&] { return fake_->blocked_calls() == 1; }, kWait));
  fake_->UnblockCalls();
  status = stub_->BatchHealthy(ContextWithDeadline().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// The request limits (spi/request_limits.h) at their boundaries through the gRPC surface:
// accepted at the limit, INVALID_ARGUMENT naming the field one byte (or item) above.
TEST_F(FlavorServiceTest, RequestLimitsAtTheBoundary) {
  auto prepare = [&](const v1::PrepareRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::PrepareResponse response;
    return stub_->Prepare(&context, request, &response);
  };
  v1::PrepareRequest request;
  request.mutable_allocation()->set_size(1);
  (*request.mutable_spec()->mutable_tags())["k"] = std::string(spi::kMaxTagValueBytes, 'v');
  grpc::Status status = prepare(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
  (*request.mutable_spec()->mutable_tags())["k"] = std::string(spi::kMaxTagValueBytes + 1, 'v');
  status = prepare(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("spec.tags[\"k\"]"), std::string::npos)
      << status.error_message();

  request.mutable_spec()->clear_tags();
  request.mutable_spec()->set_init(std::string(spi::kMaxInitBytes, '#'));
  status = prepare(request);
  EXPECT_TRUE(status.ok()) << status.error_message();
  request.mutable_spec()->set_init(std::string(spi::kMaxInitBytes + 1, '#'));
  status = prepare(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("spec.init"), std::string::npos) << status.error_message();

  auto healthy = [&](size_t id_bytes) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::HealthyRequest one;
    one.mutable_instance()->set_id(std::string(id_bytes, 'i'));
    v1::HealthyResponse response;
    return stub_->Healthy(&context, one, &response);
  };
  status = healthy(spi::kMaxIdBytes);
  EXPECT_NE(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  status = healthy(spi::kMaxIdBytes + 1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("instance.id"), std::string::npos)
      << status.error_message();
}

}  // namespace
}  // namespace infrakit::plugins::flavor
