// SwarmPlugin without engines: what it checks, what it prepares when no swarm exists yet, and
// its verdicts when no manager answers (swarm_plugin_engine_test and tests/e2e/swarm have the
// real engines).
#include "plugins/flavor/swarm/swarm_plugin.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

using ::testing::HasSubstr;

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &out).ok()) << text;
  return out;
}

class SwarmPluginTest : public ::testing::Test {
 protected:
  // Properties of `role` with three managers whose engines' sockets (under the scratch
  // directory) do not exist.
  google::protobuf::Struct Properties(const std::string& role, int managers = 3) {
    std::string list = "\"127.0.0.21\"";
    if (managers >= 3) list += ", \"127.0.0.22\", \"127.0.0.23\"";
    if (managers == 5) list += ", \"127.0.0.24\", \"127.0.0.25\"";
    return Json(absl::StrCat(R"({"Role": ")", role, R"(", "Managers": [)", list,
                             R"(], "DataRootBase": ")", dir_.path(), "\"}"));
  }

  v1::Allocation Pets(std::vector<std::string> ids) {
    v1::Allocation allocation;
    for (const std::string& id : ids) allocation.mutable_logical_ids()->add_ids(id);
    return allocation;
  }

  infrakit::testing::TempDir dir_;
  SwarmPlugin plugin_{SwarmPlugin::Options{absl::Seconds(1), absl::Seconds(1), absl::Seconds(1)}};
};

TEST_F(SwarmPluginTest, ManagersMayLoseLessThanHalf) {
  for (const auto& [count, want] : std::vector<std::pair<int, int>>{{1, 0}, {3, 1}, {5, 2}}) {
    v1::ValidateRequest request;
    *request.mutable_properties() = Properties("manager", count);
    *request.mutable_allocation() = Pets({"127.0.0.21"});
    auto validated = plugin_.ValidateAllocation(request);
    ASSERT_TRUE(validated.ok()) << validated.status();
    EXPECT_EQ(validated->max_unavailable(), want) << count << " managers";
  }
  v1::ValidateRequest workers;
  *workers.mutable_properties() = Properties("worker");
  workers.mutable_allocation()->set_size(2);
  auto validated = plugin_.ValidateAllocation(workers);
  ASSERT_TRUE(validated.ok()) << validated.status();
  EXPECT_EQ(validated->max_unavailable(), 0);
}

TEST_F(SwarmPluginTest, ManagersArePetsAmongManagers) {
  v1::ValidateRequest request;
  *request.mutable_properties() = Properties("manager");
  request.mutable_allocation()->set_size(3);
  absl::Status status = plugin_.Validate(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("Allocation: managers are pets"));

  *request.mutable_allocation() = Pets({"127.0.0.21", "127.0.0.99"});
  status = plugin_.Validate(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("Allocation.LogicalIDs: \"127.0.0.99\" is not one of Managers"));

  *request.mutable_properties() = Json(R"({"Role": "boss", "Managers": ["127.0.0.21"]})");
  status = plugin_.Validate(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("Role: \"boss\""));
}

TEST_F(SwarmPluginTest, FirstManagerOfNoSwarmInitializesIt) {
  v1::PrepareRequest request;
  *request.mutable_properties() = Properties("manager");
  *request.mutable_allocation() = Pets({"127.0.0.21", "127.0.0.22", "127.0.0.23"});
  request.mutable_spec()->set_logical_id("127.0.0.21");
  request.mutable_spec()->set_init("echo caller");
  (*request.mutable_spec()->mutable_tags())["infrakit.group"] = "managers";
  auto prepared = plugin_.Prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_THAT(prepared->spec().init(), HasSubstr("echo caller\n# flavor-swarm"));
  EXPECT_THAT(prepared->spec().init(), HasSubstr("manager 127.0.0.21, which initializes"));
  EXPECT_THAT(prepared->spec().init(), HasSubstr("--label=infrakit.group=managers"));
  EXPECT_EQ(prepared->spec().tags().at("infrakit.group"), "managers");
  EXPECT_EQ(prepared->spec().logical_id(), "127.0.0.21");
}

TEST_F(SwarmPluginTest, OthersWaitForTheFirstManager) {
  v1::PrepareRequest request;
  *request.mutable_properties() = Properties("manager");
  *request.mutable_allocation() = Pets({"127.0.0.21", "127.0.0.22", "127.0.0.23"});
  request.mutable_spec()->set_logical_id("127.0.0.22");
  auto prepared = plugin_.Prepare(request);
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(prepared.status().message()),
              HasSubstr("nothing to join yet (the first manager, 127.0.0.21, initializes"));
  EXPECT_THAT(std::string(prepared.status().message()),
              HasSubstr(absl::StrCat("127.0.0.21: ", dir_.path(), "/127.0.0.21/docker.sock")));

  request.mutable_spec()->set_logical_id("127.0.0.99");
  EXPECT_EQ(plugin_.Prepare(request).status().code(), absl::StatusCode::kInvalidArgument);

  v1::PrepareRequest worker;
  *worker.mutable_properties() = Properties("worker");
  worker.mutable_allocation()->set_size(2);
  EXPECT_EQ(plugin_.Prepare(worker).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(SwarmPluginTest, NoManagerAnswersIsUnknownAndNothingToDrain) {
  v1::HealthyRequest request;
  *request.mutable_properties() = Properties("worker");
  request.mutable_instance()->set_id("instance-1");
  auto verdict = plugin_.Healthy(request);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->health(), v1::HEALTH_UNKNOWN);
  EXPECT_THAT(verdict->reason(), HasSubstr("no manager of the swarm answers (127.0.0.21: "));

  v1::DrainRequest drain;
  *drain.mutable_properties() = Properties("worker");
  drain.mutable_instance()->set_id("instance-1");
  EXPECT_TRUE(plugin_.Drain(drain).ok());
  *drain.mutable_properties() = Json(R"({"Role": "worker"})");
  EXPECT_EQ(plugin_.Drain(drain).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infrakit::plugins::flavor::swarm
