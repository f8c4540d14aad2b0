// The engine script: what it runs, with what, and that /bin/sh accepts it.
#include "plugins/flavor/swarm/engine_init.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

SwarmProperties Properties(SwarmProperties::Role role) {
  SwarmProperties p;
  p.role = role;
  p.managers = {{"127.0.0.21", "/b/127.0.0.21/docker.sock"},
                {"127.0.0.22", "/b/127.0.0.22/docker.sock"},
                {"127.0.0.23", "/b/127.0.0.23/docker.sock"}};
  p.data_root_base = "/b";
  p.daemon_flags = {"--log-level=warn"};
  p.labels = {{"tier", "it's"}};
  return p;
}

// /bin/sh -n: the script parses.
void ExpectParses(const std::string& script) {
  infrakit::testing::TempDir dir;
  const std::string path = dir.Join("init.sh");
  std::ofstream(path) << script;
  const int status = std::system(absl::StrCat("/bin/sh -n ", path).c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << script;
}

TEST(EngineInitTest, FirstManagerInitializesOnItsAddress) {
  EngineInitParams params;
  params.manager_address = "127.0.0.21";
  params.group = "swarm-managers";
  params.action.kind = SwarmAction::Kind::kInit;
  const std::string script = EngineInit(Properties(SwarmProperties::Role::kManager), params);
  ExpectParses(script);
  EXPECT_THAT(script, HasSubstr("manager 127.0.0.21, which initializes the swarm"));
  EXPECT_THAT(script, HasSubstr("addr='127.0.0.21'"));
  EXPECT_THAT(script, HasSubstr("http://engine/v1.41/swarm/init"));
  EXPECT_THAT(script, HasSubstr("--label=\"infrakit.instance=$id\""));
  EXPECT_THAT(script, HasSubstr("'--label=infrakit.group=swarm-managers'"));
  EXPECT_THAT(script, HasSubstr("'--label=tier=it'\\''s'"));
  EXPECT_THAT(script, HasSubstr("--storage-driver=vfs"));
  EXPECT_THAT(script, HasSubstr("'--log-level=warn'"));
  // The properties' flags come after the flavor's, so they win.
  EXPECT_LT(script.find("--storage-driver=vfs"), script.find("--log-level=warn"));
  EXPECT_THAT(script, Not(HasSubstr("leases")));
}

TEST(EngineInitTest, RequestBodies) {
  SwarmAction init{SwarmAction::Kind::kInit, "", {}};
  EXPECT_EQ(
      SwarmRequestBody(init, "10.0.0.1"),
      R"({"ListenAddr":"10.0.0.1:2377","AdvertiseAddr":"10.0.0.1","DataPathAddr":"10.0.0.1"})");
  SwarmAction join{SwarmAction::Kind::kJoin, "SWMTKN-1-abc", {"10.0.0.1:2377", "10.0.0.2:2377"}};
  EXPECT_EQ(SwarmRequestBody(join, ""),
            R"({"ListenAddr":"0.0.0.0:2377","RemoteAddrs":["10.0.0.1:2377","10.0.0.2:2377"],)"
            R"("JoinToken":"SWMTKN-1-abc"})");
}

TEST(EngineInitTest, WorkerLeasesFromThePool) {
  SwarmProperties properties = Properties(SwarmProperties::Role::kWorker);
  properties.address_pool = "127.0.1.0/30";
  properties.pool_first = "127.0.1.1";
  properties.pool_last = "127.0.1.2";
  EngineInitParams params;
  params.action = {SwarmAction::Kind::kJoin, "SWMTKN-1-w", {"127.0.0.21:2377"}};
  const std::string script = EngineInit(properties, params);
  ExpectParses(script);
  EXPECT_THAT(script, HasSubstr("a worker of the swarm"));
  EXPECT_THAT(script, HasSubstr("name=\"$id\""));
  // 127.0.1.1 and 127.0.1.2 as numbers.
  EXPECT_THAT(script, HasSubstr("n=2130706689\nlast=2130706690"));
  EXPECT_THAT(script, HasSubstr("no free address in AddressPool 127.0.1.0/30"));
  EXPECT_THAT(script, HasSubstr("http://engine/v1.41/swarm/join"));
  EXPECT_THAT(script, HasSubstr("\\\"JoinToken\\\":\\\"SWMTKN-1-w\\\""));
}

TEST(EngineInitTest, WorkerWithoutPoolLetsTheEnginePick) {
  EngineInitParams params;
  params.action = {SwarmAction::Kind::kJoin, "SWMTKN-1-w", {"127.0.0.21:2377"}};
  const std::string script = EngineInit(Properties(SwarmProperties::Role::kWorker), params);
  ExpectParses(script);
  EXPECT_THAT(script, HasSubstr("addr=''\nlease=''"));
  EXPECT_THAT(script, Not(HasSubstr("leases")));
}

// Field 22 of /proc/self/stat: this process's start time, as the script's `started` reads it.
std::string OwnStartTime() {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 22; ++i) fields >> field;
  return field;
}

// The lease walk, run for real with the engine part cut off: a live holder keeps its address,
// the lease of a holder that is gone is taken back, and a full pool stops the script.
TEST(EngineInitTest, LeasesAreExclusiveAndStaleOnesAreTakenBack) {
  infrakit::testing::TempDir dir;
  SwarmProperties properties = Properties(SwarmProperties::Role::kWorker);
  properties.data_root_base = dir.path();
  properties.address_pool = "127.0.1.0/30";
  properties.pool_first = "127.0.1.1";
  properties.pool_last = "127.0.1.2";
  EngineInitParams params;
  params.action = {SwarmAction::Kind::kJoin, "SWMTKN-1-w", {"127.0.0.21:2377"}};
  std::string script = EngineInit(properties, params);
  script = script.substr(0, script.find("dir=\"$base/$name\""));
  const std::string path = dir.Join("lease.sh");
  std::ofstream(path) << script << "\necho \"$addr\" > \"$base/$id.addr\"\n";
  // Runs the lease part as instance `id`: its exit status; the address is in <id>.addr.
  auto run = [&](const std::string& id) {
    const int status = std::system(
        absl::StrCat("INFRAKIT_INSTANCE_ID=", id, " /bin/sh ", path, " 2>/dev/null").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  auto addr_of = [&](const std::string& id) {
    std::ifstream in(dir.Join(id + ".addr"));
    std::string addr;
    std::getline(in, addr);
    return addr;
  };
  // This test process holds an address: a live holder.
  auto hold = [&](const std::string& ip) {
    std::ofstream(dir.Join(".leases/" + ip + "/holder"))
        << getpid() << " " << OwnStartTime() << " the-test\n";
  };

  ASSERT_EQ(run("w1"), 0);
  EXPECT_EQ(addr_of("w1"), "127.0.1.1");
  // w1's shell is gone: its lease is stale, and the next worker takes the address back, also
  // removing what w1 left in its directory.
  ASSERT_EQ(mkdir(dir.Join("w1").c_str(), 0755), 0);
  ASSERT_EQ(run("w2"), 0);
  EXPECT_EQ(addr_of("w2"), "127.0.1.1");
  EXPECT_NE(access(dir.Join("w1").c_str(), F_OK), 0) << "w1's directory was not cleared";
  // A live holder keeps its address: the next worker gets the other one.
  hold("127.0.1.1");
  ASSERT_EQ(run("w3"), 0);
  EXPECT_EQ(addr_of("w3"), "127.0.1.2");
  // Both held: the pool is full and the script stops.
  hold("127.0.1.2");
  EXPECT_EQ(run("w4"), 1);
  EXPECT_EQ(addr_of("w4"), "");
}

}  // namespace
}  // namespace infrakit::plugins::flavor::swarm
