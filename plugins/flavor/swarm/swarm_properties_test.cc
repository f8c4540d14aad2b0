#include "plugins/flavor/swarm/swarm_properties.h"

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

using ::testing::HasSubstr;

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &out).ok()) << text;
  return out;
}

TEST(SwarmPropertiesTest, DefaultsWithTheRequiredKeysOnly) {
  auto parsed = ParseSwarmProperties(Json(R"({"Role": "worker", "Managers": ["127.0.0.21"]})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->role, SwarmProperties::Role::kWorker);
  ASSERT_EQ(parsed->managers.size(), 1u);
  EXPECT_EQ(parsed->managers[0].address, "127.0.0.21");
  EXPECT_EQ(parsed->managers[0].socket, "/var/lib/infrakit-swarm/127.0.0.21/docker.sock");
  EXPECT_EQ(parsed->data_root_base, "/var/lib/infrakit-swarm");
  EXPECT_TRUE(parsed->daemon_flags.empty());
  EXPECT_TRUE(parsed->labels.empty());
}

TEST(SwarmPropertiesTest, EveryKeyCaseInsensitively) {
  auto parsed = ParseSwarmProperties(Json(R"({
    "role": "Manager",
    "MANAGERS": ["127.0.0.21", {"address": "127.0.0.22"},
                 {"Address": "127.0.0.23", "socket": "/run/m3/docker.sock"}],
    "datarootbase": "/tmp/swarm/", "DaemonFlags": ["--log-level=warn", "--debug"],
    "labels": {"tier": "swarm", "zone": ""}})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->role, SwarmProperties::Role::kManager);
  EXPECT_EQ(parsed->data_root_base, "/tmp/swarm");
  ASSERT_EQ(parsed->managers.size(), 3u);
  EXPECT_EQ(parsed->managers[0].address, "127.0.0.21");
  EXPECT_EQ(parsed->managers[0].socket, "/tmp/swarm/127.0.0.21/docker.sock");
  EXPECT_EQ(parsed->managers[1].address, "127.0.0.22");
  EXPECT_EQ(parsed->managers[1].socket, "/tmp/swarm/127.0.0.22/docker.sock");
  EXPECT_EQ(parsed->managers[2].address, "127.0.0.23");
  EXPECT_EQ(parsed->managers[2].socket, "/run/m3/docker.sock");
  EXPECT_EQ(parsed->daemon_flags, (std::vector<std::string>{"--log-level=warn", "--debug"}));
  EXPECT_EQ(parsed->labels.at("tier"), "swarm");
  EXPECT_EQ(parsed->labels.at("zone"), "");
}

TEST(SwarmPropertiesTest, FiveManagers) {
  auto parsed = ParseSwarmProperties(Json(R"({"Role": "worker", "Managers":
      ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24", "127.0.0.25"]})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->managers.size(), 5u);
}

TEST(SwarmPropertiesTest, EveryRefusalNamesItsField) {
  const std::string m = R"("Managers": ["127.0.0.21"])";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"Role": "worker", "Bogus": 1, )" + m + "}", "Bogus: unknown key"},
      {R"({"Role": "worker", "role": "manager", )" + m + "}", "Role: given twice"},
      {"{" + m + "}", "Role: required"},
      {R"({"Role": "worker"})", "Managers: required"},
      {R"({"Role": "boss", )" + m + "}", "Role: \"boss\" is not \"manager\" or \"worker\""},
      {R"({"Role": 1, )" + m + "}", "Role: want a string"},
      {R"({"Role": "worker", "Managers": "127.0.0.21"})", "Managers: want a list"},
      {R"({"Role": "worker", "Managers": []})", "Managers: 0 managers; want 1, 3 or 5"},
      {R"({"Role": "worker", "Managers": ["127.0.0.21", "127.0.0.22"]})",
       "Managers: 2 managers; want 1, 3 or 5"},
      {R"({"Role": "worker", "Managers": ["127.0.0.21", "127.0.0.22", "127.0.0.23",
           "127.0.0.24", "127.0.0.25", "127.0.0.26", "127.0.0.27"]})",
       "Managers: 7 managers; want 1, 3 or 5"},
      {R"({"Role": "worker", "Managers": ["127.0.0.21", {"Socket": "/run/m2.sock"},
           "127.0.0.23"]})",
       "Managers[1].Address: required"},
      {R"({"Role": "worker", "Managers": [{}]})", "Managers[0].Address: required"},
      {R"({"Role": "worker", "Managers": ["manager-1"]})",
       "Managers[0]: \"manager-1\" is not an IPv4 address"},
      {R"({"Role": "worker", "Managers": [{"Address": "::1"}]})",
       "Managers[0].Address: \"::1\" is not an IPv4 address"},
      {R"({"Role": "worker", "Managers": [{"Address": 3}]})", "Managers[0].Address: want a string"},
      {R"({"Role": "worker", "Managers": [{"Address": "127.0.0.21", "Port": 2377}]})",
       "Managers[0].Port: unknown key"},
      {R"({"Role": "worker", "Managers": [{"Address": "127.0.0.21", "address": "127.0.0.22"}]})",
       "Managers[0].Address: given twice"},
      {R"({"Role": "worker", "Managers": [{"Address": "127.0.0.21", "Socket": "m1.sock"}]})",
       "Managers[0].Socket: \"m1.sock\" is not an absolute path"},
      {R"({"Role": "worker", "Managers": [7]})", "Managers[0]: want an IPv4 address or an object"},
      {R"({"Role": "worker", "Managers": ["127.0.0.21", "127.0.0.22", "127.0.0.21"]})",
       "Managers[2]: \"127.0.0.21\" given twice"},
      {R"({"Role": "worker", "DataRootBase": "var/swarm", )" + m + "}",
       "DataRootBase: \"var/swarm\" is not an absolute path"},
      {R"({"Role": "worker", "DataRootBase": "/a b", )" + m + "}", "DataRootBase: \"/a b\" has"},
      {R"({"Role": "worker", "DataRootBase": ")" + std::string(45, 'x').replace(0, 1, "/") +
           R"(", )" + m + "}",
       "DataRootBase: \"/xxx"},
      {R"({"Role": "worker", "DataRootBase": 1, )" + m + "}", "DataRootBase: want a string"},
      {R"({"Role": "worker", "DaemonFlags": "--debug", )" + m + "}", "DaemonFlags: want a list"},
      {R"({"Role": "worker", "DaemonFlags": ["--debug", 1], )" + m + "}",
       "DaemonFlags[1]: want a string"},
      {R"({"Role": "worker", "DaemonFlags": ["debug"], )" + m + "}",
       "DaemonFlags[0]: \"debug\" is not a dockerd flag"},
      {R"({"Role": "worker", "DaemonFlags": ["--log-level warn"], )" + m + "}",
       "DaemonFlags[0]: \"--log-level warn\" has whitespace"},
      {R"({"Role": "worker", "DaemonFlags": ["--data-root=/x"], )" + m + "}",
       "DaemonFlags[0]: \"--data-root=/x\": the flavor sets --data-root"},
      {R"({"Role": "worker", "DaemonFlags": ["--debug", "-Hunix:///x.sock"], )" + m + "}",
       "DaemonFlags[1]: \"-Hunix:///x.sock\": the flavor sets -H"},
      {R"({"Role": "worker", "DaemonFlags": ["--pidfile"], )" + m + "}",
       "DaemonFlags[0]: \"--pidfile\": the flavor sets --pidfile"},
      {R"({"Role": "worker", "Labels": ["a=b"], )" + m + "}", "Labels: want an object"},
      {R"({"Role": "worker", "Labels": {"a": 1}, )" + m + "}", "Labels.a: want a string"},
      {R"({"Role": "worker", "Labels": {"a=b": "c"}, )" + m + "}", "Labels.a=b: a label name"},
      {R"({"Role": "worker", "Labels": {"": "c"}, )" + m + "}", "Labels: empty label name"},
      {R"({"Role": "worker", "Labels": {"infrakit.instance": "x"}, )" + m + "}",
       "Labels.infrakit.instance: set by the flavor itself"},
      {R"({"Role": "worker", "Labels": {"infrakit.group": "x"}, )" + m + "}",
       "Labels.infrakit.group: set by the flavor itself"},
      {R"({"Role": "worker", "AddressPool": 1, )" + m + "}", "AddressPool: want an IPv4 CIDR"},
      {R"({"Role": "worker", "AddressPool": "127.0.1.0", )" + m + "}",
       "AddressPool: \"127.0.1.0\" is not an IPv4 CIDR"},
      {R"({"Role": "worker", "AddressPool": "127.0.1.0/x", )" + m + "}",
       "AddressPool: \"127.0.1.0/x\" is not an IPv4 CIDR"},
      {R"({"Role": "worker", "AddressPool": "10.0.0.0/8", )" + m + "}",
       "AddressPool: \"10.0.0.0/8\": want a prefix of /20 to /32"},
      {R"({"Role": "manager", "AddressPool": "127.0.1.0/24", )" + m + "}",
       "AddressPool: for workers only"},
  };
  for (const auto& [json, want] : cases) {
    auto parsed = ParseSwarmProperties(Json(json));
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(want)) << json;
  }
}

TEST(SwarmPropertiesTest, TheLongestDataRootBaseStillFitsASocketPath) {
  const std::string base = "/" + std::string(kMaxDataRootBase - 1, 'b');
  auto parsed = ParseSwarmProperties(
      Json(R"({"Role": "worker", "Managers": ["127.0.0.21"], "DataRootBase": ")" + base + "\"}"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  // containerd's longest socket under the exec root <base>/<instance>/x, for a 31-character ID.
  EXPECT_LE(absl::StrCat(parsed->data_root_base, "/", std::string(31, 'i'),
                         "/x/containerd/containerd.sock.ttrpc")
                .size(),
            107u);
  auto too_long = ParseSwarmProperties(Json(R"({"Role": "worker", "Managers": ["127.0.0.21"],
      "DataRootBase": ")" + base + "b\"}"));
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(std::string(too_long.status().message()),
              HasSubstr("at most 40 (the engines' sockets under"));
}

TEST(SwarmPropertiesTest, AddressPoolHosts) {
  const std::string m = R"("Managers": ["127.0.0.21"])";
  for (const auto& [pool, first, last] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"127.0.1.0/24", "127.0.1.1", "127.0.1.254"},
           {"127.0.1.77/24", "127.0.1.1", "127.0.1.254"},
           {"127.0.16.0/20", "127.0.16.1", "127.0.31.254"},
           {"127.0.1.8/31", "127.0.1.8", "127.0.1.9"},
           {"127.0.1.9/32", "127.0.1.9", "127.0.1.9"}}) {
    auto parsed = ParseSwarmProperties(
        Json(R"({"Role": "worker", "AddressPool": ")" + pool + "\", " + m + "}"));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->address_pool, pool);
    EXPECT_EQ(parsed->pool_first, first) << pool;
    EXPECT_EQ(parsed->pool_last, last) << pool;
  }
}

TEST(SwarmPropertiesTest, KeysAreTheDocumentedOnes) {
  EXPECT_EQ(SwarmPropertyKeys(),
            (std::vector<std::string>{"Role", "Managers", "DataRootBase", "DaemonFlags", "Labels",
                                      "AddressPool"}));
}

}  // namespace
}  // namespace infrakit::plugins::flavor::swarm
