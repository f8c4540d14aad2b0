// A real ZooKeeper 3.8 ensemble under InfraKit: infrakit-group watches three members on
// 127.0.0.61-63 and a group of one observer on 127.0.0.64, run by infrakit-instance-process and
// prepared and probed by infrakit-flavor-zookeeper. Data written through one member is read
// through another and through the observer (which the members' config does not list); the
// leader, killed with SIGKILL, is replaced under its logical ID, rejoins, and the data is still
// there, also through the observer; destroying the groups leaves no server process and no data
// directory.
//
// Needs Debian's `zookeeper` package (scripts/setup.sh installs it): the servers and the
// ZooKeeper CLI (zkCli.sh) used to write and read a znode.
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.pb.h"
#include "plugins/flavor/zookeeper/srvr_probe.h"
#include "tests/e2e/process/process_e2e.h"
#include "tests/testing/wait_for.h"

namespace infrakit::testing {
namespace {

namespace gv1 = ::infrakit::group::v1;

constexpr char kGroup[] = "zk-e2e";
constexpr char kObservers[] = "zk-e2e-observers";
constexpr char kObserver[] = "127.0.0.64";
const std::vector<std::string> kMembers = {"127.0.0.61", "127.0.0.62", "127.0.0.63"};
constexpr char kZkCli[] = "/usr/share/zookeeper/bin/zkCli.sh";

// Runs `command` with /bin/sh; its exit status and its output (stdout and stderr).
struct Ran {
  int status = -1;
  std::string output;
};
Ran Run(const std::string& command) {
  Ran ran;
  FILE* pipe = popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return ran;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) ran.output.append(buffer, n);
  ran.status = pclose(pipe);
  return ran;
}

// The ZooKeeper CLI against one member, bounded so that a member that does not answer fails the
// test instead of hanging it.
Ran ZkCli(const std::string& ip, const std::string& args) {
  return Run(absl::StrCat("timeout 30 ", kZkCli, " -server ", ip, ":2181 ", args));
}

// The last non-empty line of `text`.
std::string LastLine(const std::string& text) {
  std::string last;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) last = std::string(line);
  }
  return last;
}

// The member that answers srvr with "Mode: leader", or "".
std::string Leader() {
  for (const std::string& ip : kMembers) {
    auto answer = plugins::flavor::zookeeper::AskFourLetterWord(ip, 2181, "srvr", absl::Seconds(1));
    if (!answer.ok()) continue;
    auto state = plugins::flavor::zookeeper::ParseSrvr(*answer);
    if (state.ok() && state->mode == "leader") return ip;
  }
  return "";
}

class ZookeeperE2eTest : public ProcessE2eTest {
 protected:
  void SetUp() override {
    if (access(kZkCli, X_OK) != 0 || access("/usr/share/java/zookeeper.jar", R_OK) != 0) {
      GTEST_SKIP() << "Debian's zookeeper package is not installed (scripts/setup.sh installs it)";
    }
    std::vector<std::pair<std::string, int>> addresses;
    for (const std::string& ip : {kMembers[0], kMembers[1], kMembers[2], std::string(kObserver)}) {
      for (int port : {2181, 2888, 3888}) addresses.emplace_back(ip, port);
    }
    ASSERT_TRUE(StartPlugins({}, addresses));
    zookeeper_ =
        StartPlugin("plugins/flavor/zookeeper/infrakit-flavor-zookeeper", {}, "flavor-zookeeper");
    ASSERT_NE(zookeeper_, nullptr);
  }

  // The instance of the member at `ip` that has a process, and that process's pid (the
  // instance's leader: the java server itself), or {"", 0}.
  std::pair<std::string, pid_t> MemberProcess(const std::string& ip) {
    for (const InstanceProcess& p : InstanceProcesses(instances_dir())) {
      if (p.logical_id == ip && getpgid(p.pid) == p.pid) return {p.instance_id, p.pid};
    }
    return {"", 0};
  }

  std::string AllLogs() {
    return absl::StrCat(Logs(), "\n--- flavor-zookeeper ---\n",
                        zookeeper_ ? zookeeper_->Stderr() : "");
  }

  std::unique_ptr<PluginProcess> zookeeper_;
};

TEST_F(ZookeeperE2eTest, EnsembleServesSurvivesItsLeadersDeathAndGoesAway) {
  ASSERT_FALSE(Watch(LoadConfig("tests/e2e/zookeeper/zk-e2e.json")).empty());
  ASSERT_TRUE(WaitHealthy(kGroup, 3)) << AllLogs();

  // Written through one member, read through another.
  Ran created = ZkCli(kMembers[0], "create /infrakit-e2e hello");
  ASSERT_TRUE(absl::StrContains(created.output, "Created /infrakit-e2e")) << created.output;
  Ran read = ZkCli(kMembers[2], "get /infrakit-e2e");
  EXPECT_EQ(LastLine(read.output), "hello") << read.output;

  // An observer joins the running ensemble and serves the same data.
  ASSERT_FALSE(Watch(LoadConfig("tests/e2e/zookeeper/zk-e2e-observers.json")).empty());
  ASSERT_TRUE(WaitHealthy(kObservers, 1)) << AllLogs();
  read = ZkCli(kObserver, "get /infrakit-e2e");
  EXPECT_EQ(LastLine(read.output), "hello") << read.output;

  // kill -9 of the leader: the group replaces it under the same logical ID and it rejoins.
  std::string leader;
  ASSERT_TRUE(WaitFor([&] { return !(leader = Leader()).empty(); }, kE2eWait, kE2ePause));
  const auto [old_instance, pid] = MemberProcess(leader);
  ASSERT_NE(pid, 0) << "no process for the leader " << leader;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  std::string replacement;
  ASSERT_TRUE(WaitFor(
      [&] {
        replacement = MemberProcess(leader).first;
        return !replacement.empty() && replacement != old_instance;
      },
      kE2eWait, kE2ePause))
      << "the leader " << leader << " (" << old_instance << ") was not replaced" << AllLogs();
  ASSERT_TRUE(WaitHealthy(kGroup, 3)) << AllLogs();
  auto group = Inspect(kGroup);
  ASSERT_TRUE(group.ok()) << group.status();
  std::set<std::string> ids;
  for (const auto& member : group->members()) ids.insert(member.id());
  EXPECT_EQ(ids.count(replacement), 1) << group->DebugString();
  EXPECT_EQ(ids.count(old_instance), 0) << group->DebugString();

  // The replaced member has the data (synced from the new leader); the observer follows the new
  // leader: a write through it reaches the members.
  read = ZkCli(leader, "get /infrakit-e2e");
  EXPECT_EQ(LastLine(read.output), "hello") << read.output;
  ASSERT_TRUE(WaitHealthy(kObservers, 1)) << AllLogs();
  created = ZkCli(kObserver, "create /infrakit-e2e-observer seen");
  EXPECT_TRUE(absl::StrContains(created.output, "Created /infrakit-e2e-observer"))
      << created.output;
  read = ZkCli(leader, "get /infrakit-e2e-observer");
  EXPECT_EQ(LastLine(read.output), "seen") << read.output;

  // Destroying the groups stops every server and deletes every instance's directory (its data).
  gv1::DestroyGroupRequest destroy;
  destroy.set_id(kObservers);
  auto destroyed = groups_->DestroyGroup(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status() << AllLogs();
  watched_.erase(kObservers);
  EXPECT_TRUE(InstancesWithProcesses(instances_dir(), kObservers).empty());
  EXPECT_FALSE(Listening(kObserver, 2181));
  Destroy(kGroup);
  std::vector<std::string> left;
  if (DIR* dir = opendir(instances_dir().c_str())) {
    while (dirent* e = readdir(dir)) {
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") {
        left.push_back(e->d_name);
      }
    }
    closedir(dir);
  }
  EXPECT_TRUE(left.empty()) << "left in " << instances_dir() << ": " << absl::StrJoin(left, ", ");
  for (const std::string& ip : kMembers) EXPECT_FALSE(Listening(ip, 2181)) << ip;
}

}  // namespace
}  // namespace infrakit::testing
