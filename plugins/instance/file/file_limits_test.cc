// The request limits (spi/request_limits.h) through the real gRPC surface of instance-file: each
// is accepted at the limit and refused one byte (or item) above it with INVALID_ARGUMENT naming
// the field, before the core does anything (no file is written).
#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "client/testing/test_server.h"
#include "gtest/gtest.h"
#include "plugins/instance/file/file_plugin.h"
#include "plugins/instance/file/file_plugin_test_util.h"
#include "plugins/instance/instance_service.h"
#include "spi/item_status.h"
#include "spi/request_limits.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::instance::file {
namespace {

using ::infrakit::client::testing::TestServer;

class FileLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeDir();
    auto core = FilePlugin::Create(dir_ + "/instances");
    ASSERT_TRUE(core.ok()) << core.status();
    service_ = std::make_unique<InstanceService>(
        std::shared_ptr<spi::instance::InstancePlugin>(*std::move(core)));
    auto server = TestServer::Start(socket_dir_.Join("file.sock"), {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::InstanceService::NewStub(server_->NewChannel());
  }

  grpc::Status Provision(const v1::Spec& spec) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kDeadline));
    v1::ProvisionRequest request;
    *request.mutable_spec() = spec;
    v1::ProvisionResponse response;
    return stub_->Provision(&context, request, &response);
  }

  // Provision of the spec `make(limit)` succeeds; of `make(limit + 1)` fails INVALID_ARGUMENT
  // naming `field`, with no new file.
  void ExpectBoundary(const std::function<v1::Spec(size_t)>& make, size_t limit,
                      const std::string& field) {
    const grpc::Status at = Provision(make(limit));
    EXPECT_TRUE(at.ok()) << field << ": " << at.error_message();
    const size_t files = InstanceFiles(dir_ + "/instances").size();
    const grpc::Status above = Provision(make(limit + 1));
    EXPECT_EQ(above.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_TRUE(absl::StrContains(above.error_message(), field)) << above.error_message();
    EXPECT_EQ(InstanceFiles(dir_ + "/instances").size(), files);
  }

  std::string dir_;
  infrakit::testing::TempDir socket_dir_;  // short: a socket path has at most 107 bytes
  std::unique_ptr<InstanceService> service_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<v1::InstanceService::Stub> stub_;
};

TEST_F(FileLimitsTest, SpecLimitsAtTheBoundary) {
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        (*spec.mutable_tags())[std::string(n, 'k')] = "v";
        return spec;
      },
      spi::kMaxTagKeyBytes, "spec.tags");
  // What used to reach instance-process's exec as a 2 MB environment variable.
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        (*spec.mutable_tags())["big"] = std::string(n, 'v');
        return spec;
      },
      spi::kMaxTagValueBytes, "spec.tags[\"big\"]");
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        for (size_t i = 0; i < n; ++i) (*spec.mutable_tags())[std::to_string(i)] = "v";
        return spec;
      },
      spi::kMaxTags, "spec.tags");
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        spec.set_init(std::string(n, '#'));
        return spec;
      },
      spi::kMaxInitBytes, "spec.init");
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        spec.set_logical_id(std::string(n, 'l'));
        return spec;
      },
      spi::kMaxIdBytes, "spec.logical_id");
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        // A struct of one string field of `m` bytes encodes in m + 14 bytes (for m >= 16384:
        // field tags and lengths); sized so that the whole is exactly n bytes.
        google::protobuf::Struct& properties = *spec.mutable_properties();
        std::string& note = *(*properties.mutable_fields())["Note"].mutable_string_value();
        note.assign(n, 'p');
        note.resize(n - (properties.ByteSizeLong() - n), 'p');
        EXPECT_EQ(properties.ByteSizeLong(), n);
        return spec;
      },
      spi::kMaxPropertiesBytes, "spec.properties");
}

TEST_F(FileLimitsTest, IdsAndBatchSizesAtTheBoundary) {
  auto destroy = [&](size_t n) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kDeadline));
    v1::DestroyRequest request;
    request.set_id(std::string(n, 'i'));
    v1::DestroyResponse response;
    return stub_->Destroy(&context, request, &response);
  };
  EXPECT_EQ(destroy(spi::kMaxIdBytes).error_code(), grpc::StatusCode::NOT_FOUND);
  const grpc::Status above = destroy(spi::kMaxIdBytes + 1);
  EXPECT_EQ(above.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(above.error_message(), "id: 257 bytes")) << above.error_message();

  auto batch_destroy = [&](size_t n) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kDeadline));
    v1::BatchDestroyRequest request;
    for (size_t i = 0; i < n; ++i) request.add_requests()->set_id("none");
    v1::BatchDestroyResponse response;
    return stub_->BatchDestroy(&context, request, &response);
  };
  EXPECT_TRUE(batch_destroy(spi::kMaxBatchSize).ok());
  EXPECT_EQ(batch_destroy(spi::kMaxBatchSize + 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kDeadline));
  v1::BatchProvisionRequest batch;
  batch.add_requests();
  (*batch.add_requests()->mutable_spec()->mutable_tags())["k"] =
      std::string(spi::kMaxTagValueBytes + 1, 'v');
  v1::BatchProvisionResponse response;
  const grpc::Status refused = stub_->BatchProvision(&context, batch, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "requests[1].spec.tags[\"k\"]"))
      << refused.error_message();
  EXPECT_TRUE(InstanceFiles(dir_ + "/instances").empty()) << "checked before any work";
}

}  // namespace
}  // namespace infrakit::plugins::instance::file
