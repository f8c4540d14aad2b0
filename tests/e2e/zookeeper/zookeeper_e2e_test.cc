// A real ZooKeeper 3.8 ensemble under InfraKit: infrakit-group watches three members on
// 127.0.0.61-63 and a group of one observer on 127.0.0.64, run by infrakit-instance-process and
// prepared and probed by infrakit-flavor-zookeeper. Data written through one member is read
// through another and through the observer (which the members' config does not list); the
// leader, killed with SIGKILL, is replaced under its logical ID, rejoins, and the data is still
// there, also through the observer; destroying the groups leaves no server process and no data
// directory. A config change rolls the members one at a time, the leader last, with the
// ensemble's quorum sampled throughout; a follower killed with SIGKILL is replaced while the
// ensemble keeps taking writes.
//
// Needs Debian's `zookeeper` package (scripts/setup.sh installs it): the servers and the
// ZooKeeper CLI (zkCli.sh) used to write and read a znode.
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
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

// Whether the member at `ip` serves as leader or follower (and so takes part in a quorum: a
// write through any member that serves is committed).
bool Serves(const std::string& ip) {
  auto answer =
      plugins::flavor::zookeeper::AskFourLetterWord(ip, 2181, "srvr", absl::Milliseconds(500));
  if (!answer.ok()) return false;
  auto state = plugins::flavor::zookeeper::ParseSrvr(*answer);
  return state.ok() && state->serving && (state->mode == "leader" || state->mode == "follower");
}

// One look at the ensemble: which members serve, at what time.
struct QuorumSample {
  absl::Time time;
  std::vector<bool> serving;  // per kMembers
  int count = 0;
};

// Asks every member `srvr` every `period` on its own thread, from construction until Stop().
// zkCli.sh starts a JVM per call (~1 s), too slow to see an election; a member serving as
// leader or follower is writable through the quorum, so the number serving tells whether the
// ensemble takes writes.
class QuorumSampler {
 public:
  explicit QuorumSampler(absl::Duration period) : period_(period) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~QuorumSampler() { Stop(); }

  // Ends the sampling; returns every sample, oldest first.
  std::vector<QuorumSample> Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    absl::MutexLock lock(&mu_);
    return samples_;
  }

 private:
  void Loop() {
    while (!stop_) {
      QuorumSample sample;
      sample.time = absl::Now();
      for (const std::string& ip : kMembers) {
        sample.serving.push_back(Serves(ip));
        sample.count += sample.serving.back() ? 1 : 0;
      }
      {
        absl::MutexLock lock(&mu_);
        samples_.push_back(sample);
      }
      // A fixed period: the sampler measures, it does not wait for anything.
      absl::SleepFor(period_ - (absl::Now() - sample.time));
    }
  }

  const absl::Duration period_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<QuorumSample> samples_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

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

TEST_F(ZookeeperE2eTest, ConfigChangeRollsMemberByMemberLeaderLastAndAFollowerIsReplaced) {
  gv1::GroupSpec spec = LoadConfig("tests/e2e/zookeeper/zk-e2e.json");
  ASSERT_FALSE(Watch(spec).empty());
  ASSERT_TRUE(WaitHealthy(kGroup, 3)) << AllLogs();
  Ran created = ZkCli(kMembers[0], "create /infrakit-roll before");
  ASSERT_TRUE(absl::StrContains(created.output, "Created /infrakit-roll")) << created.output;

  std::string leader;
  ASSERT_TRUE(WaitFor([&] { return !(leader = Leader()).empty(); }, kE2eWait, kE2ePause));
  const int leader_index =
      static_cast<int>(std::find(kMembers.begin(), kMembers.end(), leader) - kMembers.begin());
  auto before = Inspect(kGroup);
  ASSERT_TRUE(before.ok()) << before.status();
  std::map<std::string, std::string> logical_ids;  // instance ID -> logical ID
  for (const auto& member : before->members()) {
    logical_ids[member.id()] = member.logical_id();
    if (member.logical_id() == leader) {
      EXPECT_EQ(member.role(), "leader") << before->DebugString();
    }
  }

  // The changed config: every member must be replaced.
  (*spec.mutable_flavor()->mutable_properties()->mutable_fields())["TickTime"].set_number_value(
      600);
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = spec;
  std::vector<std::string> destroyed;  // logical IDs, in the order the update destroyed them
  std::vector<std::string> progress;
  gv1::UpdatePhase last_phase = gv1::UPDATE_PHASE_UNSPECIFIED;
  QuorumSampler sampler(absl::Milliseconds(50));
  absl::Status streamed = groups_->UpdateGroup(update, [&](const gv1::UpdateGroupResponse& r) {
    progress.push_back(r.message());
    last_phase = r.phase();
    absl::string_view message = r.message();
    if (r.phase() == gv1::UPDATE_PHASE_PROGRESS && absl::ConsumePrefix(&message, "destroyed ")) {
      const std::string id(message.substr(0, message.find(' ')));
      destroyed.push_back(logical_ids.count(id) ? logical_ids[id] : id);
    }
  });
  const std::vector<QuorumSample> samples = sampler.Stop();
  ASSERT_TRUE(streamed.ok()) << streamed << AllLogs();
  ASSERT_EQ(last_phase, gv1::UPDATE_PHASE_COMPLETED) << absl::StrJoin(progress, "\n") << AllLogs();

  // One member at a time, the leader last.
  ASSERT_EQ(destroyed.size(), 3) << absl::StrJoin(progress, "\n");
  EXPECT_EQ(std::set<std::string>(destroyed.begin(), destroyed.end()).size(), 3)
      << absl::StrJoin(destroyed, ", ");
  EXPECT_EQ(destroyed.back(), leader) << absl::StrJoin(destroyed, ", ");

  // The quorum, sample by sample. Until the old leader stops serving, only followers go, one at
  // a time: at least 2 of 3 serve in every sample. Once the leader goes, the other two elect a
  // new one: fewer than 2 may serve then, but only within 5 s of the first sample without the
  // old leader; every later sample has a quorum again.
  ASSERT_FALSE(samples.empty());
  constexpr absl::Duration kElectionBound = absl::Seconds(5);
  size_t leader_gone = samples.size();
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!samples[i].serving[leader_index]) {
      leader_gone = i;
      break;
    }
  }
  ASSERT_LT(leader_gone, samples.size()) << "the old leader served throughout the update";
  absl::Duration outage;  // samples below a quorum, each counted for the period up to the next
  for (size_t i = 0; i < samples.size(); ++i) {
    const QuorumSample& s = samples[i];
    if (s.count >= 2) continue;
    const absl::Duration since = s.time - samples[leader_gone].time;
    EXPECT_TRUE(i >= leader_gone && since <= kElectionBound)
        << "only " << s.count << " of 3 serving at sample " << i << " of " << samples.size() << ", "
        << absl::FormatDuration(since) << " after the old leader " << leader << " stopped serving";
    if (i + 1 < samples.size()) outage += samples[i + 1].time - s.time;
  }
  EXPECT_LE(outage, kElectionBound);
  RecordProperty("below_quorum_ms", absl::StrCat(absl::ToInt64Milliseconds(outage)));
  EXPECT_GE(samples.back().count, 2);

  // Every member on the new config and HEALTHY; the data survived the roll.
  ASSERT_TRUE(WaitHealthy(kGroup, 3)) << AllLogs();
  auto after = Inspect(kGroup);
  ASSERT_TRUE(after.ok()) << after.status();
  for (const auto& member : after->members()) {
    EXPECT_FALSE(member.outdated()) << member.DebugString();
    EXPECT_EQ(logical_ids.count(member.id()), 0) << "not replaced: " << member.DebugString();
  }
  Ran read = ZkCli(leader, "get /infrakit-roll");
  EXPECT_EQ(LastLine(read.output), "before") << read.output;
  created = ZkCli(kMembers[2], "create /infrakit-rolled after");
  EXPECT_TRUE(absl::StrContains(created.output, "Created /infrakit-rolled")) << created.output;

  // kill -9 of a follower: the ensemble keeps taking writes (the leader and the other follower
  // are a quorum); the group replaces the follower under its logical ID and it rejoins.
  ASSERT_TRUE(WaitFor([&] { return !(leader = Leader()).empty(); }, kE2eWait, kE2ePause));
  const std::string follower = leader == kMembers[0] ? kMembers[1] : kMembers[0];
  const auto [old_instance, pid] = MemberProcess(follower);
  ASSERT_NE(pid, 0) << "no process for the follower " << follower;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  created = ZkCli(leader, "create /infrakit-follower-down written");
  EXPECT_TRUE(absl::StrContains(created.output, "Created /infrakit-follower-down"))
      << created.output;
  std::string replacement;
  ASSERT_TRUE(WaitFor(
      [&] {
        replacement = MemberProcess(follower).first;
        return !replacement.empty() && replacement != old_instance;
      },
      kE2eWait, kE2ePause))
      << "the follower " << follower << " (" << old_instance << ") was not replaced" << AllLogs();
  ASSERT_TRUE(WaitHealthy(kGroup, 3)) << AllLogs();
  auto healed = Inspect(kGroup);
  ASSERT_TRUE(healed.ok()) << healed.status();
  bool found = false;
  for (const auto& member : healed->members()) {
    if (member.logical_id() != follower) continue;
    found = true;
    EXPECT_EQ(member.id(), replacement) << healed->DebugString();
    EXPECT_FALSE(member.outdated()) << healed->DebugString();
  }
  EXPECT_TRUE(found) << healed->DebugString();
  read = ZkCli(follower, "get /infrakit-follower-down");
  EXPECT_EQ(LastLine(read.output), "written") << read.output;
  created = ZkCli(follower, "create /infrakit-follower-back again");
  EXPECT_TRUE(absl::StrContains(created.output, "Created /infrakit-follower-back"))
      << created.output;
}

}  // namespace
}  // namespace infrakit::testing
