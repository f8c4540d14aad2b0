// A real Docker swarm under InfraKit: infrakit-group watches three managers (pets on
// 127.0.0.21-23) and two workers (cattle, addresses leased from 127.0.1.0/24), each instance a
// private dockerd run by infrakit-instance-process and prepared, probed and drained by
// infrakit-flavor-swarm. Everything is checked through the Engine API of the managers:
//   - the swarm forms: 5 nodes Ready, 3 managers Reachable, one leader;
//   - kill -9 of a worker's engine: the worker is replaced, its replacement joins, and the dead
//     node is removed from the swarm; kill -9 of a worker instance's own process leaves no
//     process of its engine behind;
//   - kill -9 of a manager's engine: it is replaced under its logical ID and rejoins as a
//     manager, with a manager answering (a quorum) in every sample;
//   - destroying the groups leaves no process, engine directory or lease;
//   - a rolling update of the workers drains and removes each node before its engine goes; one
//     of the managers replaces the leader last and never has two managers down.
//
// The test re-runs itself in network and mount namespaces of its own (unshare --net --mount,
// loopback up): the engines' addresses, the swarm's docker_gwbridge and ingress namespace and
// every mount dockerd makes stay there and vanish with the test. Skips where that cannot run
// (not root, no dockerd / unshare / ip, no CAP_SYS_ADMIN).
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.pb.h"
#include "plugins/flavor/swarm/engine_client.h"
#include "plugins/flavor/swarm/private_engine.h"
#include "tests/e2e/process/process_e2e.h"
#include "tests/testing/wait_for.h"

namespace infrakit::testing {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::plugins::flavor::swarm::EngineClient;
using ::infrakit::plugins::flavor::swarm::PrivateEngine;
using ::infrakit::plugins::flavor::swarm::ProcessesNaming;
using ::infrakit::plugins::flavor::swarm::SwarmNode;

constexpr char kManagers[] = "swarm-managers";
constexpr char kWorkers[] = "swarm-workers";
const std::vector<std::string> kManagerIps = {"127.0.0.21", "127.0.0.22", "127.0.0.23"};
// The environment variable that says the test already runs in its own namespaces.
constexpr char kInNamespace[] = "INFRAKIT_SWARM_E2E_NAMESPACE";
// Swarm membership changes are slow to show: a node killed with -9 is Down after ~15 s.
constexpr absl::Duration kSwarmWait = absl::Seconds(120);

std::string Label(const SwarmNode& node, const std::string& key) {
  auto it = node.engine_labels.find(key);
  return it == node.engine_labels.end() ? "" : it->second;
}

std::string Describe(const std::vector<SwarmNode>& nodes) {
  std::vector<std::string> lines;
  for (const SwarmNode& n : nodes) {
    lines.push_back(absl::StrCat(n.id, " ", Label(n, "infrakit.instance"), " ", n.role, " ",
                                 n.state, " ", n.availability, n.is_manager ? " " : "",
                                 n.reachability, n.leader ? " leader" : ""));
  }
  return absl::StrJoin(lines, "\n");
}

// Samples, every `period` until Stop(), whether some manager answers GET /nodes (a manager
// answers it only while the swarm has a leader: a Raft quorum).
class QuorumSampler {
 public:
  QuorumSampler(std::vector<std::string> sockets, absl::Duration period)
      : sockets_(std::move(sockets)), period_(period) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~QuorumSampler() { Stop(); }

  // Ends the sampling; the samples without a quorum and the number of samples.
  std::pair<int, int> Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return {without_.load(), samples_.load()};
  }

 private:
  void Loop() {
    while (!stop_) {
      const absl::Time start = absl::Now();
      bool quorum = false;
      for (const std::string& socket : sockets_) {
        if (EngineClient(socket, absl::Seconds(2)).Nodes().ok()) {
          quorum = true;
          break;
        }
      }
      ++samples_;
      if (!quorum) ++without_;
      // A fixed period: the sampler measures, it does not wait for anything.
      absl::SleepFor(period_ - (absl::Now() - start));
    }
  }

  const std::vector<std::string> sockets_;
  const absl::Duration period_;
  std::atomic<bool> stop_{false};
  std::atomic<int> samples_{0};
  std::atomic<int> without_{0};
  std::thread thread_;
};

class SwarmE2eTest : public ProcessE2eTest {
 protected:
  void SetUp() override {
    const std::string missing = PrivateEngine::Missing();
    if (!missing.empty()) GTEST_SKIP() << missing;
    if (getenv(kInNamespace) == nullptr) GTEST_SKIP() << "not in a namespace of its own";
    std::vector<std::pair<std::string, int>> addresses;
    for (const std::string& ip : kManagerIps) addresses.emplace_back(ip, 2377);
    ASSERT_TRUE(StartPlugins({}, addresses));
    swarm_ = StartPlugin("plugins/flavor/swarm/infrakit-flavor-swarm", {}, "flavor-swarm");
    ASSERT_NE(swarm_, nullptr);
    base_ = dir_.Join("swarm");
  }

  // The group config with the engines' directories under the test's scratch directory.
  gv1::GroupSpec Config(const std::string& file) {
    gv1::GroupSpec spec = LoadConfig(absl::StrCat("tests/e2e/swarm/", file));
    (*spec.mutable_flavor()->mutable_properties()->mutable_fields())["DataRootBase"]
        .set_string_value(base_);
    return spec;
  }

  std::string Socket(const std::string& name) const {
    return absl::StrCat(base_, "/", name, "/docker.sock");
  }

  // The swarm's nodes, from the first manager that answers.
  absl::StatusOr<std::vector<SwarmNode>> Nodes() {
    absl::Status last = absl::UnavailableError("no manager");
    for (const std::string& ip : kManagerIps) {
      auto nodes = EngineClient(Socket(ip), absl::Seconds(5)).Nodes();
      if (nodes.ok()) return nodes;
      last = nodes.status();
    }
    return last;
  }

  // A swarm of `managers` reachable managers with one leader and `workers` workers, every node
  // Ready and Active and one of `instances`; no other node.
  bool SwarmIs(int managers, int workers, const std::set<std::string>& instances) {
    auto nodes = Nodes();
    if (!nodes.ok()) return false;
    int m = 0, w = 0, leaders = 0;
    for (const SwarmNode& n : *nodes) {
      if (n.state != "ready" || n.availability != "active") return false;
      if (!instances.count(Label(n, "infrakit.instance"))) return false;
      if (n.is_manager && n.reachability != "reachable") return false;
      (n.is_manager ? m : w) += 1;
      leaders += n.leader ? 1 : 0;
    }
    return m == managers && w == workers && leaders == 1;
  }

  std::set<std::string> Members(const std::string& group) {
    std::set<std::string> ids;
    auto inspected = Inspect(group);
    if (!inspected.ok()) return ids;
    for (const auto& member : inspected->members()) ids.insert(member.id());
    return ids;
  }

  std::set<std::string> AllMembers() {
    std::set<std::string> all = Members(kManagers);
    for (const std::string& id : Members(kWorkers)) all.insert(id);
    return all;
  }

  // The pid of the engine in <base>/<name> (its pidfile), or 0.
  pid_t EnginePid(const std::string& name) {
    std::ifstream in(absl::StrCat(base_, "/", name, "/docker.pid"));
    pid_t pid = 0;
    in >> pid;
    return pid;
  }

  // The member of the manager group at `ip`.
  std::string ManagerInstance(const std::string& ip) {
    auto inspected = Inspect(kManagers);
    if (!inspected.ok()) return "";
    for (const auto& member : inspected->members()) {
      if (member.logical_id() == ip) return member.id();
    }
    return "";
  }

  std::string Leader() {
    auto nodes = Nodes();
    if (!nodes.ok()) return "";
    for (const SwarmNode& n : *nodes) {
      if (n.leader) return std::string(absl::StripSuffix(n.manager_addr, ":2377"));
    }
    return "";
  }

  // Watches both groups and waits for the whole swarm.
  void FormSwarm() {
    const absl::Time start = absl::Now();
    ASSERT_FALSE(Watch(Config("swarm-managers.json")).empty());
    ASSERT_FALSE(Watch(Config("swarm-workers.json")).empty());
    ASSERT_TRUE(WaitHealthy(kManagers, 3)) << AllLogs();
    ASSERT_TRUE(WaitHealthy(kWorkers, 2)) << AllLogs();
    ASSERT_TRUE(WaitFor([&] { return SwarmIs(3, 2, AllMembers()); }, kSwarmWait, kE2ePause))
        << Describe(Nodes().value_or(std::vector<SwarmNode>{})) << AllLogs();
    std::cout << "swarm of 3 + 2 formed in " << absl::Now() - start << std::endl;
  }

  std::string AllLogs() {
    return absl::StrCat(Logs(), "\n--- flavor-swarm ---\n", swarm_ ? swarm_->Stderr() : "");
  }

  std::vector<std::string> ManagerSockets() {
    std::vector<std::string> sockets;
    for (const std::string& ip : kManagerIps) sockets.push_back(Socket(ip));
    return sockets;
  }

  std::unique_ptr<PluginProcess> swarm_;
  std::string base_;
};

TEST_F(SwarmE2eTest, FormsHealsWorkersAndManagersAndLeavesNothing) {
  FormSwarm();
  if (HasFatalFailure()) return;

  // kill -9 of a worker's engine: replaced; the replacement joins; the dead node is removed.
  const std::string worker = *Members(kWorkers).begin();
  const pid_t worker_pid = EnginePid(worker);
  ASSERT_GT(worker_pid, 0) << "no engine pid for " << worker;
  ASSERT_EQ(kill(worker_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::set<std::string> ids = Members(kWorkers);
        return ids.size() == 2 && !ids.count(worker);
      },
      kSwarmWait, kE2ePause))
      << worker << " was not replaced" << AllLogs();
  ASSERT_TRUE(WaitHealthy(kWorkers, 2)) << AllLogs();
  ASSERT_TRUE(WaitFor([&] { return SwarmIs(3, 2, AllMembers()); }, kSwarmWait, kE2ePause))
      << "the dead worker's node was not removed:\n"
      << Describe(Nodes().value_or(std::vector<SwarmNode>{})) << AllLogs();

  // kill -9 of a worker instance's own process (its script, not the engine): instance-process
  // kills the rest of its process group, the engine and its containerd with it; nothing is left
  // running in the dead engine's directory, and the worker is replaced.
  const std::string second = *Members(kWorkers).begin();
  pid_t leader_pid = 0;
  for (const InstanceProcess& p : InstanceProcesses(instances_dir())) {
    if (p.instance_id == second && getpgid(p.pid) == p.pid) leader_pid = p.pid;
  }
  ASSERT_GT(leader_pid, 0) << "no process for " << second;
  const std::string second_dir = absl::StrCat(base_, "/", second, "/");
  ASSERT_FALSE(ProcessesNaming(second_dir).empty()) << "no engine runs in " << second_dir;
  ASSERT_EQ(kill(leader_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::set<std::string> ids = Members(kWorkers);
        return ids.size() == 2 && !ids.count(second) && ProcessesNaming(second_dir).empty();
      },
      kSwarmWait, kE2ePause))
      << second << " was not replaced, or left " << absl::StrJoin(ProcessesNaming(second_dir), ", ")
      << AllLogs();
  ASSERT_TRUE(WaitHealthy(kWorkers, 2)) << AllLogs();
  ASSERT_TRUE(WaitFor([&] { return SwarmIs(3, 2, AllMembers()); }, kSwarmWait, kE2ePause))
      << Describe(Nodes().value_or(std::vector<SwarmNode>{})) << AllLogs();

  // kill -9 of a manager that is not the leader: replaced under its logical ID, rejoins as a
  // manager; some manager answers (a quorum) throughout.
  const std::string leader = Leader();
  ASSERT_FALSE(leader.empty());
  const std::string victim = leader == kManagerIps[0] ? kManagerIps[1] : kManagerIps[0];
  const std::string old_instance = ManagerInstance(victim);
  const pid_t manager_pid = EnginePid(victim);
  ASSERT_GT(manager_pid, 0) << "no engine pid for manager " << victim;
  QuorumSampler sampler(ManagerSockets(), absl::Milliseconds(100));
  ASSERT_EQ(kill(manager_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string now = ManagerInstance(victim);
        return !now.empty() && now != old_instance;
      },
      kSwarmWait, kE2ePause))
      << "manager " << victim << " was not replaced" << AllLogs();
  ASSERT_TRUE(WaitHealthy(kManagers, 3)) << AllLogs();
  ASSERT_TRUE(WaitFor([&] { return SwarmIs(3, 2, AllMembers()); }, kSwarmWait, kE2ePause))
      << Describe(Nodes().value_or(std::vector<SwarmNode>{})) << AllLogs();
  const auto [without, samples] = sampler.Stop();
  EXPECT_EQ(without, 0) << without << " of " << samples << " samples without a quorum";
  EXPECT_GT(samples, 0);

  // Destroying the groups stops every engine and clears every engine's directory and lease.
  gv1::DestroyGroupRequest destroy;
  destroy.set_id(kWorkers);
  auto destroyed = groups_->DestroyGroup(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status() << AllLogs();
  watched_.erase(kWorkers);
  EXPECT_TRUE(InstancesWithProcesses(instances_dir(), kWorkers).empty());
  ASSERT_TRUE(WaitFor([&] { return SwarmIs(3, 0, AllMembers()); }, kSwarmWait, kE2ePause))
      << "the workers' nodes were not removed:\n"
      << Describe(Nodes().value_or(std::vector<SwarmNode>{})) << AllLogs();
  Destroy(kManagers);
  EXPECT_TRUE(ProcessesNaming(base_).empty()) << absl::StrJoin(ProcessesNaming(base_), ", ");
  std::vector<std::string> left;
  for (const std::string& dir : {base_, base_ + "/.leases"}) {
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != ".." && name != ".leases") left.push_back(dir + "/" + name);
      }
      closedir(d);
    }
  }
  EXPECT_TRUE(left.empty()) << absl::StrJoin(left, ", ");
}

TEST_F(SwarmE2eTest, RollingUpdatesDrainWorkersAndRollTheLeaderLast) {
  FormSwarm();
  if (HasFatalFailure()) return;

  // Workers: every old node is drained and removed by the flavor before its engine goes.
  const std::set<std::string> old_workers = Members(kWorkers);
  gv1::GroupSpec workers = Config("swarm-workers.json");
  (*workers.mutable_flavor()->mutable_properties()->mutable_fields())["Labels"]
      .mutable_struct_value()
      ->mutable_fields()
      ->at("tier")
      .set_string_value("worker-v2");
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = workers;
  gv1::UpdatePhase phase = gv1::UPDATE_PHASE_UNSPECIFIED;
  absl::Status streamed =
      groups_->UpdateGroup(update, [&](const gv1::UpdateGroupResponse& r) { phase = r.phase(); });
  ASSERT_TRUE(streamed.ok()) << streamed << AllLogs();
  ASSERT_EQ(phase, gv1::UPDATE_PHASE_COMPLETED) << AllLogs();
  const std::string log = swarm_->Stderr();
  for (const std::string& id : old_workers) {
    bool drained = false;
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      drained |= absl::StrContains(line, "drained and removed node") &&
                 absl::EndsWith(line, absl::StrCat(" of ", id));
    }
    EXPECT_TRUE(drained) << id << " was not drained and removed" << AllLogs();
    EXPECT_FALSE(Members(kWorkers).count(id));
  }
  ASSERT_TRUE(WaitFor([&] { return SwarmIs(3, 2, AllMembers()); }, kSwarmWait, kE2ePause))
      << Describe(Nodes().value_or(std::vector<SwarmNode>{})) << AllLogs();
  for (const SwarmNode& n : Nodes().value_or(std::vector<SwarmNode>{})) {
    if (!n.is_manager) {
      EXPECT_EQ(Label(n, "tier"), "worker-v2") << Describe({n});
    }
  }

  // Managers: one at a time, the leader last, never two down.
  const std::string leader = Leader();
  ASSERT_FALSE(leader.empty());
  std::map<std::string, std::string> logical_ids;  // instance ID -> logical ID
  for (const std::string& ip : kManagerIps) logical_ids[ManagerInstance(ip)] = ip;
  gv1::GroupSpec managers = Config("swarm-managers.json");
  (*managers.mutable_flavor()->mutable_properties()->mutable_fields())["Labels"]
      .mutable_struct_value()
      ->mutable_fields()
      ->at("tier")
      .set_string_value("manager-v2");
  *update.mutable_spec() = managers;
  std::vector<std::string> destroyed;
  QuorumSampler sampler(ManagerSockets(), absl::Milliseconds(100));
  streamed = groups_->UpdateGroup(update, [&](const gv1::UpdateGroupResponse& r) {
    phase = r.phase();
    absl::string_view message = r.message();
    if (r.phase() == gv1::UPDATE_PHASE_PROGRESS && absl::ConsumePrefix(&message, "destroyed ")) {
      const std::string id(message.substr(0, message.find(' ')));
      destroyed.push_back(logical_ids.count(id) ? logical_ids[id] : id);
    }
  });
  const auto [without, samples] = sampler.Stop();
  ASSERT_TRUE(streamed.ok()) << streamed << AllLogs();
  ASSERT_EQ(phase, gv1::UPDATE_PHASE_COMPLETED) << AllLogs();
  ASSERT_EQ(destroyed.size(), 3u) << absl::StrJoin(destroyed, ", ");
  EXPECT_EQ(destroyed.back(), leader) << absl::StrJoin(destroyed, ", ");
  EXPECT_EQ(without, 0) << without << " of " << samples << " samples without a quorum";
  ASSERT_TRUE(WaitFor([&] { return SwarmIs(3, 2, AllMembers()); }, kSwarmWait, kE2ePause))
      << Describe(Nodes().value_or(std::vector<SwarmNode>{})) << AllLogs();
  for (const SwarmNode& n : Nodes().value_or(std::vector<SwarmNode>{})) {
    if (n.is_manager) {
      EXPECT_EQ(Label(n, "tier"), "manager-v2") << Describe({n});
    }
  }
}

// Re-runs the test binary in new network and mount namespaces, with loopback up; returns only
// if that cannot be done (the tests then skip, saying why).
void ReRunInOwnNamespaces(char** argv) {
  if (getenv(kInNamespace) != nullptr || !PrivateEngine::Missing().empty()) return;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return;
  self[n] = '\0';
  setenv(kInNamespace, "1", 1);
  std::vector<std::string> args = {"unshare",
                                   "--net",
                                   "--mount",
                                   "--propagation",
                                   "private",
                                   "--",
                                   "/bin/sh",
                                   "-c",
                                   "ip link set lo up && exec \"$@\"",
                                   "sh",
                                   self};
  for (char** arg = argv + 1; *arg != nullptr; ++arg) args.push_back(*arg);
  std::vector<char*> c_args;
  for (std::string& arg : args) c_args.push_back(arg.data());
  c_args.push_back(nullptr);
  execvp("unshare", c_args.data());
  unsetenv(kInNamespace);
}

}  // namespace
}  // namespace infrakit::testing

int main(int argc, char** argv) {
  infrakit::testing::ReRunInOwnNamespaces(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
