// The default batch methods of FlavorPlugin: one unary call per item, in order, each item's
// outcome kept, and the batch size limit checked before any item runs.
#include "spi/flavor/flavor_plugin.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace infrakit::spi::flavor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Implements only the unary methods, recording every call; items whose ID (or sequence) says
// "bad" fail, so per-item errors can be checked. Used from one thread only.
class RecordingPlugin final : public FlavorPlugin {
 public:
  absl::Status Validate(const v1::ValidateRequest& /*request*/) override {
    return absl::OkStatus();
  }

  absl::StatusOr<v1::PrepareResponse> Prepare(const v1::PrepareRequest& request) override {
    calls.push_back(
        absl::StrCat("prepare ", request.index().group(), "-", request.index().sequence()));
    if (request.index().sequence() < 0) {
      return absl::InvalidArgumentError("index.sequence: must be >= 0");
    }
    v1::PrepareResponse response;
    *response.mutable_spec() = request.spec();
    response.mutable_spec()->set_init(
        absl::StrCat(request.spec().init(), " #", request.index().sequence()));
    (*response.mutable_spec()->mutable_tags())["size"] = absl::StrCat(request.allocation().size());
    (*response.mutable_spec()->mutable_tags())["property"] =
        request.properties().fields().at("p").string_value();
    return response;
  }

  absl::StatusOr<v1::HealthyResponse> Healthy(const v1::HealthyRequest& request) override {
    calls.push_back(absl::StrCat("healthy ", request.instance().id()));
    if (request.instance().id() == "bad") return absl::InvalidArgumentError("instance.id: bad");
    v1::HealthyResponse response;
    response.set_health(request.properties().fields().count("down") > 0 ? v1::HEALTH_UNHEALTHY
                                                                        : v1::HEALTH_HEALTHY);
    response.set_reason(request.instance().id());
    return response;
  }

  absl::Status Drain(const v1::DrainRequest& request) override {
    calls.push_back(absl::StrCat("drain ", request.instance().id()));
    if (request.instance().id() == "bad") return absl::NotFoundError("bad: no such instance");
    return absl::OkStatus();
  }

  std::vector<std::string> calls;
};

v1::Index Index(const std::string& group, int64_t sequence) {
  v1::Index index;
  index.set_group(group);
  index.set_sequence(sequence);
  return index;
}

TEST(FlavorPluginBatchTest, BatchPrepareCallsPrepareForEachIndexInOrder) {
  RecordingPlugin plugin;
  v1::BatchPrepareRequest request;
  (*request.mutable_properties()->mutable_fields())["p"].set_string_value("v");
  request.mutable_spec()->set_init("echo");
  request.mutable_allocation()->set_size(3);
  *request.add_indexes() = Index("web", 3);
  *request.add_indexes() = Index("web", -1);
  *request.add_indexes() = Index("web", 1);

  absl::StatusOr<v1::BatchPrepareResponse> response = plugin.BatchPrepare(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(plugin.calls, ElementsAre("prepare web-3", "prepare web--1", "prepare web-1"));
  ASSERT_EQ(response->results_size(), 3);
  ASSERT_TRUE(response->results(0).has_response());
  EXPECT_EQ(response->results(0).response().spec().init(), "echo #3");
  EXPECT_EQ(response->results(0).response().spec().tags().at("size"), "3");
  EXPECT_EQ(response->results(0).response().spec().tags().at("property"), "v");
  ASSERT_TRUE(response->results(1).has_error());
  EXPECT_EQ(response->results(1).error().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(response->results(1).error().message(), "index.sequence: must be >= 0");
  ASSERT_TRUE(response->results(2).has_response());
  EXPECT_EQ(response->results(2).response().spec().init(), "echo #1");
}

TEST(FlavorPluginBatchTest, BatchHealthyCallsHealthyForEachInstanceInOrder) {
  RecordingPlugin plugin;
  v1::BatchHealthyRequest request;
  (*request.mutable_properties()->mutable_fields())["down"].set_bool_value(true);
  request.add_instances()->set_id("i-2");
  request.add_instances()->set_id("bad");
  request.add_instances()->set_id("i-1");

  absl::StatusOr<v1::BatchHealthyResponse> response = plugin.BatchHealthy(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(plugin.calls, ElementsAre("healthy i-2", "healthy bad", "healthy i-1"));
  ASSERT_EQ(response->results_size(), 3);
  EXPECT_EQ(response->results(0).response().health(), v1::HEALTH_UNHEALTHY);
  EXPECT_EQ(response->results(0).response().reason(), "i-2");
  ASSERT_TRUE(response->results(1).has_error());
  EXPECT_EQ(FromItemStatus(response->results(1).error()),
            absl::InvalidArgumentError("instance.id: bad"));
  EXPECT_EQ(response->results(2).response().reason(), "i-1");
}

TEST(FlavorPluginBatchTest, BatchDrainCallsDrainForEachInstanceInOrder) {
  RecordingPlugin plugin;
  v1::BatchDrainRequest request;
  request.add_instances()->set_id("i-1");
  request.add_instances()->set_id("bad");
  request.add_instances()->set_id("i-3");

  absl::StatusOr<v1::BatchDrainResponse> response = plugin.BatchDrain(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(plugin.calls, ElementsAre("drain i-1", "drain bad", "drain i-3"));
  ASSERT_EQ(response->results_size(), 3);
  EXPECT_TRUE(FromItemStatus(response->results(0)).ok());
  EXPECT_EQ(FromItemStatus(response->results(1)), absl::NotFoundError("bad: no such instance"));
  EXPECT_TRUE(FromItemStatus(response->results(2)).ok());
}

TEST(FlavorPluginBatchTest, EmptyBatchesGiveEmptyResults) {
  RecordingPlugin plugin;
  absl::StatusOr<v1::BatchPrepareResponse> prepared =
      plugin.BatchPrepare(v1::BatchPrepareRequest());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->results_size(), 0);
  absl::StatusOr<v1::BatchHealthyResponse> health = plugin.BatchHealthy(v1::BatchHealthyRequest());
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->results_size(), 0);
  absl::StatusOr<v1::BatchDrainResponse> drained = plugin.BatchDrain(v1::BatchDrainRequest());
  ASSERT_TRUE(drained.ok()) << drained.status();
  EXPECT_EQ(drained->results_size(), 0);
  EXPECT_TRUE(plugin.calls.empty());
}

TEST(FlavorPluginBatchTest, TheLimitIsAcceptedAndOneMoreFailsBeforeAnyItemRuns) {
  RecordingPlugin plugin;
  v1::BatchPrepareRequest prepare;
  (*prepare.mutable_properties()->mutable_fields())["p"].set_string_value("v");
  v1::BatchHealthyRequest healthy;
  v1::BatchDrainRequest drain;
  for (size_t i = 0; i < kMaxBatchSize; ++i) {
    *prepare.add_indexes() = Index("web", static_cast<int64_t>(i));
    healthy.add_instances()->set_id(absl::StrCat("i-", i));
    drain.add_instances()->set_id(absl::StrCat("i-", i));
  }
  absl::StatusOr<v1::BatchPrepareResponse> full = plugin.BatchPrepare(prepare);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->results_size(), static_cast<int>(kMaxBatchSize));

  *prepare.add_indexes() = Index("web", 1000);
  healthy.add_instances()->set_id("i-1000");
  drain.add_instances()->set_id("i-1000");
  plugin.calls.clear();
  absl::Status too_many = plugin.BatchPrepare(prepare).status();
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.message(), HasSubstr("indexes"));
  EXPECT_THAT(too_many.message(), HasSubstr("1001"));
  too_many = plugin.BatchHealthy(healthy).status();
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.message(), HasSubstr("instances"));
  too_many = plugin.BatchDrain(drain).status();
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.message(), HasSubstr("instances"));
  EXPECT_TRUE(plugin.calls.empty());
}

}  // namespace
}  // namespace infrakit::spi::flavor
