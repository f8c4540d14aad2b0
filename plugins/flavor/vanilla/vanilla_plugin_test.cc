#include "plugins/flavor/vanilla/vanilla_plugin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::flavor::vanilla {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kSeedProperties[] = R"({
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

// The spec the group hands to Prepare in the seed's tutorial.
v1::PrepareRequest SeedPrepare() {
  v1::PrepareRequest request;
  *request.mutable_properties() = Json(kSeedProperties);
  auto* spec = request.mutable_spec();
  (*spec->mutable_properties()->mutable_fields())["Note"].set_string_value(
      "Instance properties version 1.0");
  (*spec->mutable_tags())["infrakit.config_sha"] = "Y23cKqyRpkQ_M60vIq7CufFmQWk=";
  (*spec->mutable_tags())["infrakit.group"] = "cattle";
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

TEST(VanillaPluginTest, PrepareGivesTheSeedsInitAndTags) {
  VanillaPlugin plugin;
  auto prepared = plugin.Prepare(SeedPrepare());
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->spec().init(),
            "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start");
  EXPECT_THAT(prepared->spec().tags(),
              UnorderedElementsAre(Pair("infrakit.config_sha", "Y23cKqyRpkQ_M60vIq7CufFmQWk="),
                                   Pair("infrakit.group", "cattle"), Pair("project", "infrakit"),
                                   Pair("tier", "web")));
  EXPECT_EQ(prepared->spec().properties().fields().at("Note").string_value(),
            "Instance properties version 1.0");
  EXPECT_TRUE(prepared->spec().attachments().empty());
  EXPECT_TRUE(prepared->spec().logical_id().empty());
}

TEST(VanillaPluginTest, PrepareIsDeterministic) {
  VanillaPlugin plugin;
  auto first = plugin.Prepare(SeedPrepare());
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 10; ++i) {
    auto again = plugin.Prepare(SeedPrepare());
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
  v1::PrepareRequest request = SeedPrepare();
  request.mutable_allocation()->set_size(3);
  auto prepared = plugin.Prepare(request);
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(prepared.status().message(), HasSubstr("Size"));

  v1::ValidateRequest validate;
  *validate.mutable_properties() = Json(kSeedProperties);
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
  auto health = plugin.Healthy(Probe(kSeedProperties, "instance-1", ""));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->health(), v1::HEALTH_HEALTHY);
}

TEST(VanillaPluginTest, CommandProbe) {
  VanillaPlugin plugin;
  auto healthy = plugin.Healthy(Probe(
      R"({"HealthCheck": {"Command": "test \"$INFRAKIT_INSTANCE_ID\" = instance-1 && test \"$INFRAKIT_LOGICAL_ID\" = db-1"}})",
      "instance-1", "db-1"));
  ASSERT_TRUE(healthy.ok()) << healthy.status();
  EXPECT_EQ(healthy->health(), v1::HEALTH_HEALTHY) << healthy->reason();

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
  *drain.mutable_properties() = Json(kSeedProperties);
  drain.mutable_instance()->set_id("instance-1");
  EXPECT_TRUE(plugin.Drain(drain).ok());
}

}  // namespace
}  // namespace infrakit::plugins::flavor::vanilla
