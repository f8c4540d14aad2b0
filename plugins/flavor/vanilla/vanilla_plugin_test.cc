#include "plugins/flavor/vanilla/vanilla_plugin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "spec/tags.h"
#include "spi/item_status.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::flavor::vanilla {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kTutorialProperties[] = R"({
  "Size": 5,
  "UserData": [
    "sudo apt-get update -y",
    "sudo apt-get install -y nginx",
    "sudo service nginx start"
  ],
  "Labels": {
    "tier": "web",
    "project": "infrakit"
  }
})";

google::protobuf::Struct Json(const std::string& json) {
  google::protobuf::Struct out;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &out);
  EXPECT_TRUE(status.ok()) << status << " in " << json;
  return out;
}

// The spec the group hands to Prepare in the tutorial.
v1::PrepareRequest TutorialPrepare() {
  v1::PrepareRequest request;
  *request.mutable_properties() = Json(kTutorialProperties);
  auto* spec = request.mutable_spec();
  (*spec->mutable_properties()->mutable_fields())["Note"].set_string_value(
      "Instance properties version 1.0");
  (*spec->mutable_tags())[spec::kShaTag] = "Y23cKqyRpkQ_M60vIq7CufFmQWk=";
  (*spec->mutable_tags())[spec::kGroupTag] = "cattle";
  request.mutable_allocation()->set_size(5);
  request.mutable_index()->set_group("cattle");
  request.mutable_index()->set_sequence(1);
  return request;
}

v1::HealthyRequest Probe(const std::string& properties, const std::string& id,
                         const std::string& logical_id) {
  v1::HealthyRequest request;
  *request.mutable_properties() = Json(properties);
  request.mutable_instance()->set_id(id);
  request.mutable_instance()->set_logical_id(logical_id);
  return request;
}

TEST(VanillaPluginTest, PrepareGivesTheOriginalInitAndTags) {
  VanillaPlugin plugin;
  auto prepared = plugin.Prepare(TutorialPrepare());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->spec().init(),
            "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start");
  EXPECT_THAT(prepared->spec().tags(),
              UnorderedElementsAre(Pair(spec::kShaTag, "Y23cKqyRpkQ_M60vIq7CufFmQWk="),
                                   Pair(spec::kGroupTag, "cattle"), Pair("project", "infrakit"),
                                   Pair("tier", "web")));
  EXPECT_EQ(prepared->spec().properties().fields().at("Note").string_value(),
            "Instance properties version 1.0");
  EXPECT_TRUE(prepared->spec().attachments().empty());
  EXPECT_TRUE(prepared->spec().logical_id().empty());
}

TEST(VanillaPluginTest, PrepareIsDeterministic) {
  VanillaPlugin plugin;
  auto first = plugin.Prepare(TutorialPrepare());
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 10; ++i) {
    auto again = plugin.Prepare(TutorialPrepare());
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*first, *again));
  }
}

TEST(VanillaPluginTest, PrepareAppendsToAnExistingInitAndFlavorTagsWin) {
  VanillaPlugin plugin;
  v1::PrepareRequest request;
  *request.mutable_properties() = Json(R"({
    "Init": ["echo two", "echo three"],
    "Tags": {"tier": "flavor", "new": "x"},
    "Attachments": [{"ID": "vol-1", "Type": "volume"}, {"ID": "eni-1", "Type": "nic"}]
  })");
  request.mutable_spec()->set_init("echo one");
  request.mutable_spec()->set_logical_id("10.0.0.1");
  (*request.mutable_spec()->mutable_tags())["tier"] = "caller";
  (*request.mutable_spec()->mutable_tags())["keep"] = "me";
  auto* existing = request.mutable_spec()->add_attachments();
  existing->set_id("vol-1");
  existing->set_type("volume");
  auto prepared = plugin.Prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->spec().init(), "echo one\necho two\necho three");
  EXPECT_THAT(prepared->spec().tags(),
              UnorderedElementsAre(Pair("tier", "flavor"), Pair("keep", "me"), Pair("new", "x")));
  ASSERT_EQ(prepared->spec().attachments_size(), 2);
  EXPECT_EQ(prepared->spec().attachments(0).id(), "vol-1");
  EXPECT_EQ(prepared->spec().attachments(1).id(), "eni-1");
  EXPECT_EQ(prepared->spec().logical_id(), "10.0.0.1");
}

TEST(VanillaPluginTest, PrepareWithoutLinesKeepsTheInit) {
  VanillaPlugin plugin;
  v1::PrepareRequest request;
  request.mutable_spec()->set_init("echo one");
  auto prepared = plugin.Prepare(request);
  ASSERT_TRUE(prepared.ok());
  EXPECT_EQ(prepared->spec().init(), "echo one");
}

TEST(VanillaPluginTest, PrepareAndValidateCheckTheAllocation) {
  VanillaPlugin plugin;
  v1::PrepareRequest request = TutorialPrepare();
  request.mutable_allocation()->set_size(3);
  auto prepared = plugin.Prepare(request);
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(prepared.status().message(), HasSubstr("Size"));

  v1::ValidateRequest validate;
  *validate.mutable_properties() = Json(kTutorialProperties);
  validate.mutable_allocation()->set_size(5);
  EXPECT_TRUE(plugin.Validate(validate).ok());
  validate.mutable_allocation()->set_size(4);
  EXPECT_EQ(plugin.Validate(validate).code(), absl::StatusCode::kInvalidArgument);
  *validate.mutable_properties() = Json(R"({"UserData": "not a list"})");
  absl::Status bad = plugin.Validate(validate);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("UserData"));
}

TEST(VanillaPluginTest, HealthyWithoutAProbe) {
  VanillaPlugin plugin;
  auto health = plugin.Healthy(Probe(kTutorialProperties, "instance-1", ""));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->health(), v1::HEALTH_HEALTHY);
  // Nothing to probe: the verdict cannot change, callers need not ask again.
  EXPECT_TRUE(health->constant());
}

TEST(VanillaPluginTest, CommandProbe) {
  VanillaPlugin plugin;
  auto healthy = plugin.Healthy(Probe(
      R"({"HealthCheck": {"Command": "test \"$INFRAKIT_INSTANCE_ID\" = instance-1 && test \"$INFRAKIT_LOGICAL_ID\" = db-1"}})",
      "instance-1", "db-1"));
  ASSERT_TRUE(healthy.ok()) << healthy.status();
  EXPECT_EQ(healthy->health(), v1::HEALTH_HEALTHY) << healthy->reason();
  // A probe's verdict may change: worth asking again.
  EXPECT_FALSE(healthy->constant());

  auto unhealthy = plugin.Healthy(
      Probe(R"({"HealthCheck": {"Command": "echo not serving; exit 2"}})", "instance-1", ""));
  ASSERT_TRUE(unhealthy.ok()) << unhealthy.status();
  EXPECT_EQ(unhealthy->health(), v1::HEALTH_UNHEALTHY);
  EXPECT_THAT(unhealthy->reason(), HasSubstr("not serving"));

  auto slow = plugin.Healthy(Probe(
      R"({"HealthCheck": {"Command": "sleep 300", "TimeoutSeconds": 0.2}})", "instance-1", ""));
  ASSERT_TRUE(slow.ok()) << slow.status();
  EXPECT_EQ(slow->health(), v1::HEALTH_UNHEALTHY);
  EXPECT_THAT(slow->reason(), HasSubstr("timed out"));
}

// A loopback socket bound to a free port, not listening until asked: connections are refused.
class BoundSocket {
 public:
  BoundSocket() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~BoundSocket() { close(fd_); }
  void Listen() { EXPECT_EQ(listen(fd_, 4), 0); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

TEST(VanillaPluginTest, TcpProbeOnTheLogicalId) {
  BoundSocket server;
  const std::string properties =
      absl::StrCat(R"({"HealthCheck": {"TCP": "{{.LogicalID}}:)", server.port(), R"("}})");
  VanillaPlugin plugin;

  auto refused = plugin.Healthy(Probe(properties, "instance-1", "127.0.0.1"));
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->health(), v1::HEALTH_UNHEALTHY);
  EXPECT_THAT(refused->reason(), HasSubstr("refused"));

  server.Listen();
  auto healthy = plugin.Healthy(Probe(properties, "instance-1", "127.0.0.1"));
  ASSERT_TRUE(healthy.ok()) << healthy.status();
  EXPECT_EQ(healthy->health(), v1::HEALTH_HEALTHY) << healthy->reason();

  // Cattle have no logical ID: the probe cannot run.
  auto unknown = plugin.Healthy(Probe(properties, "instance-1", ""));
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(unknown->health(), v1::HEALTH_UNKNOWN);
  EXPECT_THAT(unknown->reason(), HasSubstr("logical ID"));
}

TEST(VanillaPluginTest, HttpProbeFailureIsUnhealthy) {
  BoundSocket closed;
  const std::string url = absl::StrCat("http://127.0.0.1:", closed.port(), "/health");
  VanillaPlugin plugin;
  auto health = plugin.Healthy(
      Probe(absl::StrCat(R"({"HealthCheck": {"HTTP": ")", url, R"("}})"), "instance-1", ""));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->health(), v1::HEALTH_UNHEALTHY);
  EXPECT_THAT(health->reason(), HasSubstr("GET " + url));
}

TEST(VanillaPluginTest, BadPropertiesFailTheCall) {
  VanillaPlugin plugin;
  auto health = plugin.Healthy(Probe(R"({"HealthCheck": {"Ping": "x"}})", "instance-1", ""));
  EXPECT_EQ(health.status().code(), absl::StatusCode::kInvalidArgument);
  v1::DrainRequest drain;
  *drain.mutable_properties() = Json(R"({"Bogus": 1})");
  EXPECT_EQ(plugin.Drain(drain).code(), absl::StatusCode::kInvalidArgument);
}

TEST(VanillaPluginTest, DrainIsANoOp) {
  VanillaPlugin plugin;
  v1::DrainRequest drain;
  *drain.mutable_properties() = Json(kTutorialProperties);
  drain.mutable_instance()->set_id("instance-1");
  EXPECT_TRUE(plugin.Drain(drain).ok());
}

v1::BatchHealthyRequest BatchProbe(const std::string& properties,
                                   const std::vector<std::string>& ids) {
  v1::BatchHealthyRequest request;
  *request.mutable_properties() = Json(properties);
  for (const std::string& id : ids) request.add_instances()->set_id(id);
  return request;
}

TEST(VanillaPluginBatchTest, BatchPrepareGivesPreparesSpecForEachIndex) {
  VanillaPlugin plugin;
  const v1::PrepareRequest one = TutorialPrepare();
  v1::BatchPrepareRequest request;
  *request.mutable_properties() = one.properties();
  *request.mutable_spec() = one.spec();
  *request.mutable_allocation() = one.allocation();
  for (int64_t sequence : {3, 1, 2}) {
    v1::Index* index = request.add_indexes();
    index->set_group("cattle");
    index->set_sequence(sequence);
  }
  auto batch = plugin.BatchPrepare(request);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->results_size(), 3);
  for (int i = 0; i < 3; ++i) {
    v1::PrepareRequest unary = one;
    *unary.mutable_index() = request.indexes(i);
    auto expected = plugin.Prepare(unary);
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_TRUE(batch->results(i).has_response()) << i;
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(batch->results(i).response(), *expected))
        << i;
  }
}

TEST(VanillaPluginBatchTest, BadPropertiesOrAllocationFailEachItemLikePrepare) {
  VanillaPlugin plugin;
  v1::BatchPrepareRequest request;
  *request.mutable_properties() = Json(R"({"UserData": "one string"})");
  request.add_indexes()->set_sequence(1);
  request.add_indexes()->set_sequence(2);
  auto batch = plugin.BatchPrepare(request);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->results_size(), 2);
  v1::PrepareRequest unary;
  *unary.mutable_properties() = request.properties();
  const absl::Status expected = plugin.Prepare(unary).status();
  EXPECT_EQ(expected.code(), absl::StatusCode::kInvalidArgument);
  for (const v1::PrepareResult& result : batch->results()) {
    ASSERT_TRUE(result.has_error());
    EXPECT_EQ(spi::FromItemStatus(result.error()), expected);
    EXPECT_THAT(result.error().message(), HasSubstr("UserData"));
  }

  // Properties fine, allocation not.
  *request.mutable_properties() = Json(kTutorialProperties);
  request.mutable_allocation()->set_size(3);
  batch = plugin.BatchPrepare(request);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->results_size(), 2);
  for (const v1::PrepareResult& result : batch->results()) {
    ASSERT_TRUE(result.has_error());
    EXPECT_EQ(result.error().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(result.error().message(), HasSubstr("Size"));
  }

  // And the same for the other batch methods.
  auto health = plugin.BatchHealthy(BatchProbe(R"({"HealthCheck": {"Ping": "x"}})", {"i-1"}));
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_EQ(health->results_size(), 1);
  EXPECT_EQ(spi::FromItemStatus(health->results(0).error()),
            plugin.Healthy(Probe(R"({"HealthCheck": {"Ping": "x"}})", "i-1", "")).status());
  v1::BatchDrainRequest drain;
  *drain.mutable_properties() = Json(R"({"Bogus": 1})");
  drain.add_instances()->set_id("i-1");
  drain.add_instances()->set_id("i-2");
  auto drained = plugin.BatchDrain(drain);
  ASSERT_TRUE(drained.ok()) << drained.status();
  ASSERT_EQ(drained->results_size(), 2);
  EXPECT_EQ(drained->results(1).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(drained->results(1).message(), HasSubstr("Bogus"));
}

TEST(VanillaPluginBatchTest, BatchDrainIsOkForEachInstance) {
  VanillaPlugin plugin;
  v1::BatchDrainRequest drain;
  *drain.mutable_properties() = Json(kTutorialProperties);
  drain.add_instances()->set_id("i-1");
  drain.add_instances()->set_id("i-2");
  auto drained = plugin.BatchDrain(drain);
  ASSERT_TRUE(drained.ok()) << drained.status();
  ASSERT_EQ(drained->results_size(), 2);
  EXPECT_EQ(drained->results(0).code(), 0);
  EXPECT_EQ(drained->results(1).code(), 0);
}

TEST(VanillaPluginBatchTest, BatchHealthyWithoutAProbeIsHealthyForEachInstance) {
  VanillaPlugin plugin;
  auto health = plugin.BatchHealthy(BatchProbe(kTutorialProperties, {"i-1", "i-2", "i-3"}));
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_EQ(health->results_size(), 3);
  for (const v1::HealthyResult& result : health->results()) {
    EXPECT_EQ(result.response().health(), v1::HEALTH_HEALTHY);
  }
  auto empty = plugin.BatchHealthy(BatchProbe(kTutorialProperties, {}));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->results_size(), 0);
}

TEST(VanillaPluginBatchTest, BatchHealthyGivesEachProbesVerdictInOrder) {
  VanillaPlugin plugin;
  const std::string properties = R"({"HealthCheck": {"Command":
      "test \"$INFRAKIT_INSTANCE_ID\" = ok-1 || { echo \"$INFRAKIT_INSTANCE_ID\" down; exit 1; }"}})";
  const std::vector<std::string> ids = {"bad-1", "ok-1", "bad-2"};
  auto health = plugin.BatchHealthy(BatchProbe(properties, ids));
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_EQ(health->results_size(), 3);
  EXPECT_EQ(health->results(0).response().health(), v1::HEALTH_UNHEALTHY);
  EXPECT_THAT(health->results(0).response().reason(), HasSubstr("bad-1 down"));
  EXPECT_EQ(health->results(1).response().health(), v1::HEALTH_HEALTHY)
      << health->results(1).response().reason();
  EXPECT_EQ(health->results(2).response().health(), v1::HEALTH_UNHEALTHY);
  EXPECT_THAT(health->results(2).response().reason(), HasSubstr("bad-2 down"));
  // Exactly what Healthy answers for each.
  for (int i = 0; i < 3; ++i) {
    auto unary = plugin.Healthy(Probe(properties, ids[i], ""));
    ASSERT_TRUE(unary.ok()) << unary.status();
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(health->results(i).response(), *unary))
        << i;
  }
}

// Command probes that each mark that they started (a file "started-<id>" in a scratch
// directory) and then wait until the test releases them ("release-<id>" or "release-all"), so
// the test sees how many run at once without relying on timing.
class GatedProbes {
 public:
  GatedProbes() = default;
  // Releases every probe still waiting, so a failed test still ends.
  ~GatedProbes() { ReleaseAll(); }

  std::string Properties() const {
    const std::string dir = dir_.path();
    return absl::StrCat(R"({"HealthCheck": {"TimeoutSeconds": 600, "Command": ")", "touch ", dir,
                        "/started-$INFRAKIT_INSTANCE_ID; ", "while [ ! -e ", dir,
                        "/release-$INFRAKIT_INSTANCE_ID ] && [ ! -e ", dir,
                        "/release-all ]; do sleep 0.01; done", R"("}})");
  }

  int Started() const {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      count += entry.path().filename().string().rfind("started-", 0) == 0;
    }
    return count;
  }
  bool HasStarted(const std::string& id) const {
    return std::filesystem::exists(dir_.Join("started-" + id));
  }
  void Release(const std::string& id) const { std::ofstream(dir_.Join("release-" + id)); }
  void ReleaseAll() const { std::ofstream(dir_.Join("release-all")); }

 private:
  infrakit::testing::TempDir dir_;
};

std::vector<std::string> Ids(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(absl::StrCat("i-", i));
  return ids;
}

TEST(VanillaPluginBatchTest, BatchHealthyRunsProbesConcurrentlyUpToTheBound) {
  using ::infrakit::testing::WaitFor;
  const absl::Duration kWait = absl::Seconds(30);
  // No time budget: the bound alone decides (these probes' timeout is 600 s).
  VanillaPlugin plugin(/*max_concurrent_probes=*/3, absl::InfiniteDuration());
  GatedProbes probes;
  absl::StatusOr<v1::BatchHealthyResponse> health;
  std::thread batch([&] { health = plugin.BatchHealthy(BatchProbe(probes.Properties(), Ids(7))); });
  // Ends the batch even when an assertion below fails.
  absl::Cleanup end_batch = [&] {
    probes.ReleaseAll();
    batch.join();
  };

  // Three probes wait at once (a loop would have started one)...
  ASSERT_TRUE(WaitFor([&] { return probes.Started() >= 3; }, kWait)) << probes.Started();
  // ...and the fourth starts only when one of them ends, since none can end before its release.
  EXPECT_EQ(probes.Started(), 3);
  EXPECT_TRUE(probes.HasStarted("i-0") && probes.HasStarted("i-1") && probes.HasStarted("i-2"));
  probes.Release("i-1");
  ASSERT_TRUE(WaitFor([&] { return probes.Started() >= 4; }, kWait)) << probes.Started();
  EXPECT_EQ(probes.Started(), 4);
  EXPECT_TRUE(probes.HasStarted("i-3"));

  std::move(end_batch).Invoke();
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_EQ(health->results_size(), 7);
  for (const v1::HealthyResult& result : health->results()) {
    EXPECT_EQ(result.response().health(), v1::HEALTH_HEALTHY) << result.response().reason();
  }
  EXPECT_EQ(probes.Started(), 7);
}

TEST(VanillaPluginBatchTest, LongProbeTimeoutsRunMoreAtOnceToKeepTheBatchWithinItsBudget) {
  using ::infrakit::testing::WaitFor;
  // 600 s timeouts against a 20 s budget: one round, so all 20 at once (not 16).
  VanillaPlugin plugin;
  GatedProbes probes;
  absl::StatusOr<v1::BatchHealthyResponse> health;
  std::thread batch(
      [&] { health = plugin.BatchHealthy(BatchProbe(probes.Properties(), Ids(20))); });
  absl::Cleanup end_batch = [&] {
    probes.ReleaseAll();
    batch.join();
  };
  ASSERT_TRUE(WaitFor([&] { return probes.Started() >= 20; }, absl::Seconds(30)))
      << probes.Started();
  std::move(end_batch).Invoke();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->results_size(), 20);
}

TEST(VanillaPluginBatchTest, TheDefaultBoundIsSixteenProbes) {
  using ::infrakit::testing::WaitFor;
  VanillaPlugin plugin(kDefaultMaxConcurrentProbes, absl::InfiniteDuration());
  GatedProbes probes;
  absl::StatusOr<v1::BatchHealthyResponse> health;
  std::thread batch(
      [&] { health = plugin.BatchHealthy(BatchProbe(probes.Properties(), Ids(20))); });
  absl::Cleanup end_batch = [&] {
    probes.ReleaseAll();
    batch.join();
  };
  ASSERT_TRUE(
      WaitFor([&] { return probes.Started() >= kDefaultMaxConcurrentProbes; }, absl::Seconds(30)))
      << probes.Started();
  EXPECT_EQ(probes.Started(), kDefaultMaxConcurrentProbes);
  std::move(end_batch).Invoke();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->results_size(), 20);
  EXPECT_EQ(probes.Started(), 20);
}

TEST(VanillaPluginBatchTest, OversizedBatchesFailAsAWhole) {
  VanillaPlugin plugin;
  v1::BatchHealthyRequest request = BatchProbe(kTutorialProperties, Ids(1001));
  EXPECT_EQ(plugin.BatchHealthy(request).status().code(), absl::StatusCode::kInvalidArgument);
  v1::BatchPrepareRequest prepare;
  for (int i = 0; i < 1001; ++i) prepare.add_indexes()->set_sequence(i);
  EXPECT_EQ(plugin.BatchPrepare(prepare).status().code(), absl::StatusCode::kInvalidArgument);
  v1::BatchDrainRequest drain;
  for (int i = 0; i < 1001; ++i) drain.add_instances()->set_id(absl::StrCat("i-", i));
  EXPECT_EQ(plugin.BatchDrain(drain).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infrakit::plugins::flavor::vanilla
