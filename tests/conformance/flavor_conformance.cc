#include "tests/conformance/flavor_conformance.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/discovery/channel.h"
#include "client/unary_call.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "spec/tags.h"
#include "spi/item_status.h"

namespace infrakit::tests::conformance {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

google::protobuf::Struct Json(const std::string& json) {
  google::protobuf::Struct out;
  const auto parsed = google::protobuf::util::JsonStringToMessage(json, &out);
  EXPECT_TRUE(parsed.ok()) << "not a JSON object: " << json << ": " << parsed;
  return out;
}

}  // namespace

void FlavorConformanceTest::SetUp() {
  const FlavorPluginUnderTest& p = plugin();
  PluginLaunch launch;
  launch.binary = p.binary;
  launch.plugin_name = p.plugin_name;
  launch.args = p.args;
  launch.env = p.env;
  launch.deadline = p.deadline;
  absl::StatusOr<std::unique_ptr<RunningPlugin>> running = RunningPlugin::Start(launch);
  ASSERT_TRUE(running.ok()) << running.status();
  running_ = *std::move(running);
  client_ = std::make_unique<client::FlavorClient>(
      client::discovery::MakePluginChannel(running_->socket()), p.deadline);
  stub_ = v1::FlavorService::NewStub(client::discovery::MakePluginChannel(running_->socket()));
}

std::unique_ptr<grpc::ClientContext> FlavorConformanceTest::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  client::SetDeadline(context.get(), plugin().deadline);
  return context;
}

void FlavorConformanceTest::TearDown() {
  stub_.reset();
  client_.reset();
  if (running_ == nullptr) return;
  const absl::Status stopped = running_->Stop(plugin().deadline);
  EXPECT_TRUE(stopped.ok()) << stopped;
  if (HasFailure()) ADD_FAILURE() << "plugin stderr:\n" << running_->Stderr();
}

v1::PrepareRequest FlavorConformanceTest::PrepareRequest() const {
  v1::PrepareRequest request;
  *request.mutable_properties() = Json(plugin().valid_properties);
  *request.mutable_allocation() = plugin().allocation;
  request.mutable_index()->set_group("conformance");
  request.mutable_index()->set_sequence(7);
  auto* spec = request.mutable_spec();
  (*spec->mutable_properties()->mutable_fields())["Note"].set_string_value("from the caller");
  (*spec->mutable_tags())[spec::kGroupTag] = "conformance";
  (*spec->mutable_tags())[spec::kShaTag] = "Y23cKqyRpkQ_M60vIq7CufFmQWk=";
  (*spec->mutable_tags())["conformance.caller-only"] = "kept";
  if (plugin().allocation.has_logical_ids() && plugin().allocation.logical_ids().ids_size() > 0) {
    spec->set_logical_id(plugin().allocation.logical_ids().ids(0));
    (*spec->mutable_tags())[spec::kLogicalIdTag] = spec->logical_id();
  }
  return request;
}

TEST_P(FlavorConformanceTest, ValidateAcceptsValidProperties) {
  v1::ValidateRequest request;
  *request.mutable_properties() = Json(plugin().valid_properties);
  *request.mutable_allocation() = plugin().allocation;
  const absl::Status status = client_->Validate(request);
  EXPECT_TRUE(status.ok()) << status;
}

TEST_P(FlavorConformanceTest, ValidateRejectsInvalidPropertiesNamingTheField) {
  ASSERT_FALSE(plugin().invalid_properties.empty())
      << "describe at least one invalid property set for the plugin";
  for (const auto& [json, field] : plugin().invalid_properties) {
    v1::ValidateRequest request;
    *request.mutable_properties() = Json(json);
    *request.mutable_allocation() = plugin().allocation;
    const absl::Status status = client_->Validate(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(field)) << json;
  }
}

TEST_P(FlavorConformanceTest, PrepareIsDeterministic) {
  absl::StatusOr<v1::PrepareResponse> first = client_->Prepare(PrepareRequest());
  ASSERT_TRUE(first.ok()) << first.status();
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<v1::PrepareResponse> again = client_->Prepare(PrepareRequest());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*first, *again))
        << first->DebugString() << "\nthen\n"
        << again->DebugString();
  }
}

TEST_P(FlavorConformanceTest, PrepareKeepsTheCallersTagsPropertiesAndLogicalId) {
  const v1::PrepareRequest request = PrepareRequest();
  absl::StatusOr<v1::PrepareResponse> prepared = client_->Prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  for (const auto& [key, value] : request.spec().tags()) {
    EXPECT_EQ(prepared->spec().tags().count(key), 1) << "dropped the caller's tag " << key;
  }
  EXPECT_THAT(prepared->spec().tags(), Contains(Pair("conformance.caller-only", "kept")));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(prepared->spec().properties(),
                                                                 request.spec().properties()))
      << prepared->spec().properties().DebugString();
  EXPECT_EQ(prepared->spec().logical_id(), request.spec().logical_id());
}

TEST_P(FlavorConformanceTest, PrepareRejectsInvalidProperties) {
  ASSERT_FALSE(plugin().invalid_properties.empty());
  v1::PrepareRequest request = PrepareRequest();
  *request.mutable_properties() = Json(plugin().invalid_properties.front().first);
  EXPECT_EQ(client_->Prepare(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(FlavorConformanceTest, HealthyGivesTheExpectedVerdicts) {
  if (!plugin().health_cases) GTEST_SKIP() << "no health cases described";
  for (const FlavorPluginUnderTest::HealthCase& c : plugin().health_cases(scratch())) {
    v1::HealthyRequest request;
    *request.mutable_properties() = Json(c.properties);
    request.mutable_instance()->set_id(c.instance_id);
    request.mutable_instance()->set_logical_id(c.logical_id);
    absl::StatusOr<v1::HealthyResponse> health = client_->Healthy(request);
    ASSERT_TRUE(health.ok()) << c.name << ": " << health.status();
    EXPECT_EQ(health->health(), c.expected)
        << c.name << ": got " << v1::Health_Name(health->health()) << " (" << health->reason()
        << ")";
    if (c.expected != v1::HEALTH_HEALTHY) {
      EXPECT_FALSE(health->reason().empty()) << c.name << ": no reason";
    }
    EXPECT_THAT(health->reason(), HasSubstr(c.reason_contains)) << c.name;
  }
}

TEST_P(FlavorConformanceTest, DrainWithValidPropertiesIsOk) {
  v1::DrainRequest request;
  *request.mutable_properties() = Json(plugin().valid_properties);
  request.mutable_instance()->set_id("instance-1");
  const absl::Status status = client_->Drain(request);
  EXPECT_TRUE(status.ok()) << status;
}

namespace {

// A BatchPrepare request built from `one` (properties, spec, allocation) for `sequences`.
v1::BatchPrepareRequest BatchOf(const v1::PrepareRequest& one,
                                const std::vector<int64_t>& sequences) {
  v1::BatchPrepareRequest request;
  *request.mutable_properties() = one.properties();
  *request.mutable_spec() = one.spec();
  *request.mutable_allocation() = one.allocation();
  for (int64_t sequence : sequences) {
    v1::Index* index = request.add_indexes();
    index->set_group(one.index().group());
    index->set_sequence(sequence);
  }
  return request;
}

}  // namespace

TEST_P(FlavorConformanceTest, BatchPrepareGivesPreparesSpecForEachIndexInOrder) {
  const v1::PrepareRequest one = PrepareRequest();
  const v1::BatchPrepareRequest request = BatchOf(one, {9, 7, 8});
  v1::BatchPrepareResponse response;
  const grpc::Status status = stub_->BatchPrepare(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  ASSERT_EQ(response.results_size(), 3);
  for (int i = 0; i < 3; ++i) {
    v1::PrepareRequest unary = one;
    *unary.mutable_index() = request.indexes(i);
    absl::StatusOr<v1::PrepareResponse> expected = client_->Prepare(unary);
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_TRUE(response.results(i).has_response())
        << "item " << i << ": " << response.results(i).DebugString();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(response.results(i).response(),
                                                                   *expected))
        << "item " << i << ": " << response.results(i).response().DebugString()
        << "\nPrepare: " << expected->DebugString();
  }
}

TEST_P(FlavorConformanceTest, BatchCallsWithoutItemsAnswerNoResults) {
  v1::BatchPrepareRequest prepare = BatchOf(PrepareRequest(), {});
  v1::BatchPrepareResponse prepared;
  grpc::Status status = stub_->BatchPrepare(Context().get(), prepare, &prepared);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(prepared.results_size(), 0);

  v1::BatchHealthyRequest healthy;
  *healthy.mutable_properties() = Json(plugin().valid_properties);
  v1::BatchHealthyResponse health;
  status = stub_->BatchHealthy(Context().get(), healthy, &health);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(health.results_size(), 0);

  v1::BatchDrainRequest drain;
  *drain.mutable_properties() = Json(plugin().valid_properties);
  v1::BatchDrainResponse drained;
  status = stub_->BatchDrain(Context().get(), drain, &drained);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(drained.results_size(), 0);
}

TEST_P(FlavorConformanceTest, BatchCallsOverTheLimitAreInvalidArgument) {
  const int too_many = static_cast<int>(spi::kMaxBatchSize) + 1;
  std::vector<int64_t> sequences;
  for (int i = 0; i < too_many; ++i) sequences.push_back(i);
  v1::BatchPrepareRequest prepare = BatchOf(PrepareRequest(), sequences);
  v1::BatchPrepareResponse prepared;
  grpc::Status status = stub_->BatchPrepare(Context().get(), prepare, &prepared);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();

  v1::BatchHealthyRequest healthy;
  v1::BatchDrainRequest drain;
  *healthy.mutable_properties() = Json(plugin().valid_properties);
  *drain.mutable_properties() = Json(plugin().valid_properties);
  for (int i = 0; i < too_many; ++i) {
    healthy.add_instances()->set_id(absl::StrCat("instance-", i));
    drain.add_instances()->set_id(absl::StrCat("instance-", i));
  }
  v1::BatchHealthyResponse health;
  status = stub_->BatchHealthy(Context().get(), healthy, &health);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  v1::BatchDrainResponse drained;
  status = stub_->BatchDrain(Context().get(), drain, &drained);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
}

TEST_P(FlavorConformanceTest, BatchPrepareWithInvalidPropertiesFailsEachItemNamingTheField) {
  ASSERT_FALSE(plugin().invalid_properties.empty());
  const auto& [json, field] = plugin().invalid_properties.front();
  v1::PrepareRequest one = PrepareRequest();
  *one.mutable_properties() = Json(json);
  v1::BatchPrepareResponse response;
  const grpc::Status status = stub_->BatchPrepare(Context().get(), BatchOf(one, {7, 8}), &response);
  ASSERT_TRUE(status.ok()) << "bad properties fail each item, not the call: " << status.error_code()
                           << ": " << status.error_message();
  ASSERT_EQ(response.results_size(), 2);
  for (const v1::PrepareResult& result : response.results()) {
    ASSERT_TRUE(result.has_error()) << json << ": " << result.DebugString();
    EXPECT_EQ(result.error().code(), static_cast<int>(absl::StatusCode::kInvalidArgument))
        << json << ": " << result.error().message();
    EXPECT_THAT(result.error().message(), HasSubstr(field)) << json;
  }
}

TEST_P(FlavorConformanceTest, BatchHealthyGivesEachInstanceHealthysVerdict) {
  if (!plugin().health_cases) GTEST_SKIP() << "no health cases described";
  for (const FlavorPluginUnderTest::HealthCase& c : plugin().health_cases(scratch())) {
    v1::BatchHealthyRequest request;
    *request.mutable_properties() = Json(c.properties);
    auto* first = request.add_instances();
    first->set_id(c.instance_id);
    first->set_logical_id(c.logical_id);
    auto* second = request.add_instances();
    second->set_id("conformance-other");
    second->set_logical_id(c.logical_id);
    v1::BatchHealthyResponse response;
    const grpc::Status status = stub_->BatchHealthy(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << c.name << ": " << status.error_code() << ": "
                             << status.error_message();
    ASSERT_EQ(response.results_size(), 2) << c.name;
    for (int i = 0; i < 2; ++i) {
      v1::HealthyRequest unary;
      *unary.mutable_properties() = request.properties();
      *unary.mutable_instance() = request.instances(i);
      absl::StatusOr<v1::HealthyResponse> expected = client_->Healthy(unary);
      ASSERT_TRUE(expected.ok()) << c.name << ": " << expected.status();
      ASSERT_TRUE(response.results(i).has_response())
          << c.name << " item " << i << ": " << response.results(i).DebugString();
      const v1::HealthyResponse& verdict = response.results(i).response();
      EXPECT_EQ(verdict.health(), expected->health())
          << c.name << " item " << i << ": got " << v1::Health_Name(verdict.health()) << " ("
          << verdict.reason() << "), Healthy says " << v1::Health_Name(expected->health()) << " ("
          << expected->reason() << ")";
      if (verdict.health() != v1::HEALTH_HEALTHY) {
        EXPECT_FALSE(verdict.reason().empty()) << c.name << " item " << i << ": no reason";
      }
    }
    EXPECT_EQ(response.results(0).response().health(), c.expected) << c.name;
    EXPECT_THAT(response.results(0).response().reason(), HasSubstr(c.reason_contains)) << c.name;
  }
}

TEST_P(FlavorConformanceTest, BatchDrainOfTwoInstancesIsOkForEach) {
  v1::BatchDrainRequest request;
  *request.mutable_properties() = Json(plugin().valid_properties);
  request.add_instances()->set_id("instance-1");
  request.add_instances()->set_id("instance-2");
  v1::BatchDrainResponse response;
  const grpc::Status status = stub_->BatchDrain(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  ASSERT_EQ(response.results_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(spi::FromItemStatus(response.results(i)).ok())
        << "item " << i << ": " << spi::FromItemStatus(response.results(i));
  }
}

}  // namespace infrakit::tests::conformance
