#include "tests/conformance/flavor_conformance.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "client/discovery/channel.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"

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
}

void FlavorConformanceTest::TearDown() {
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
  (*spec->mutable_tags())["infrakit.group"] = "conformance";
  (*spec->mutable_tags())["infrakit.config_sha"] = "Y23cKqyRpkQ_M60vIq7CufFmQWk=";
  (*spec->mutable_tags())["conformance.caller-only"] = "kept";
  if (plugin().allocation.has_logical_ids() && plugin().allocation.logical_ids().ids_size() > 0) {
    spec->set_logical_id(plugin().allocation.logical_ids().ids(0));
    (*spec->mutable_tags())["infrakit.logical_id"] = spec->logical_id();
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

}  // namespace infrakit::tests::conformance
