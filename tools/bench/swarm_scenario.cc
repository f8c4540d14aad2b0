#include "tools/bench/swarm_scenario.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "infrakit/group/v1/group.pb.h"
#include "plugins/flavor/swarm/engine_client.h"
#include "plugins/flavor/swarm/private_engine.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::tools::bench {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::plugins::flavor::swarm::EngineClient;
using ::infrakit::plugins::flavor::swarm::PrivateEngine;
using ::infrakit::plugins::flavor::swarm::ProcessesNaming;
using ::infrakit::plugins::flavor::swarm::SwarmNode;

constexpr char kSection[] = "swarm";
constexpr char kManagers[] = "swarm-managers";
constexpr char kWorkers[] = "swarm-workers";
const char* const kManagerIps[] = {"127.0.0.21", "127.0.0.22", "127.0.0.23"};
// Set in the environment of the benchmark re-executed in its own namespaces.
constexpr char kInNamespace[] = "INFRAKIT_BENCH_SWARM_NAMESPACE";
// How often the waits poll the groups and the Engine API, and the quorum sampler's period.
constexpr absl::Duration kPoll = absl::Milliseconds(100);
// Generous: a killed node is Down only after swarm's heartbeat period; a wait that passes this
// fails the scenario.
constexpr absl::Duration kWait = absl::Seconds(180);

// The group configs of tests/e2e/swarm (pets on 127.0.0.21-23, cattle leased from
// 127.0.1.0/24), with the engines' directories under `base` and the managers' `tier` label.
std::string ManagersConfig(const std::string& base, const std::string& tier) {
  return absl::StrCat(R"({"ID": ")", kManagers, R"(", "Properties": {
    "LogicalIDs": ["127.0.0.21", "127.0.0.22", "127.0.0.23"],
    "Instance": {"Plugin": "instance-process", "Properties": {"StopGraceSeconds": 15}},
    "Flavor": {"Plugin": "flavor-swarm", "Properties": {
      "Role": "manager", "Managers": ["127.0.0.21", "127.0.0.22", "127.0.0.23"],
      "DaemonFlags": ["--log-level=warn"], "DataRootBase": ")",
                      base, R"(", "Labels": {"tier": ")", tier, R"("}}}}})");
}

std::string WorkersConfig(const std::string& base) {
  return absl::StrCat(R"({"ID": ")", kWorkers, R"(", "Properties": {
    "Size": 2,
    "Instance": {"Plugin": "instance-process", "Properties": {"StopGraceSeconds": 15}},
    "Flavor": {"Plugin": "flavor-swarm", "Properties": {
      "Role": "worker", "Managers": ["127.0.0.21", "127.0.0.22", "127.0.0.23"],
      "AddressPool": "127.0.1.0/24", "DaemonFlags": ["--log-level=warn"], "DataRootBase": ")",
                      base, R"(", "Labels": {"tier": "worker"}}}}})");
}

std::string Label(const SwarmNode& node, const std::string& key) {
  auto it = node.engine_labels.find(key);
  return it == node.engine_labels.end() ? "" : it->second;
}

// Samples, every kPoll until Stop(), whether some manager answers GET /nodes (a manager answers
// it only while the swarm has a leader: a Raft quorum).
class QuorumSampler {
 public:
  explicit QuorumSampler(std::vector<std::string> sockets) : sockets_(std::move(sockets)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~QuorumSampler() { Stop(); }

  // Ends the sampling; returns the samples without a quorum and the number of samples.
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
      absl::SleepFor(kPoll - (absl::Now() - start));
    }
  }

  const std::vector<std::string> sockets_;
  std::atomic<bool> stop_{false};
  std::atomic<int> samples_{0};
  std::atomic<int> without_{0};
  std::thread thread_;
};

// Polls every condition every kPoll until all have held once; returns, for each, the first
// time it was seen to hold. DEADLINE_EXCEEDED naming `what` after kWait.
absl::StatusOr<std::vector<absl::Time>> AwaitAll(const std::string& what,
                                                 const std::vector<std::function<bool()>>& conds) {
  const absl::Time deadline = absl::Now() + kWait;
  std::vector<std::optional<absl::Time>> seen(conds.size());
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < conds.size(); ++i) {
      if (!seen[i].has_value() && conds[i]()) seen[i] = absl::Now();
      all = all && seen[i].has_value();
    }
    if (all) break;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("not within ", absl::FormatDuration(kWait), ": ", what));
    }
    absl::SleepFor(kPoll);
  }
  std::vector<absl::Time> times;
  for (const auto& t : seen) times.push_back(*t);
  return times;
}

// The three plugins in a scratch plugins directory, the engines' directories under it.
class Swarm {
 public:
  ~Swarm() {
    if (groups_ != nullptr) {
      for (const char* id : {kWorkers, kManagers}) {
        gv1::DestroyGroupRequest destroy;
        destroy.set_id(id);
        (void)groups_->DestroyGroup(destroy);
      }
    }
    groups_.reset();
    group_.reset();
    // Whatever engine (or its containerd) the destroys left.
    for (pid_t pid : ProcessesNaming(base())) kill(pid, SIGKILL);
  }

  absl::Status Start(const Binaries& binaries) {
    const std::string plugins = dir_.path();
    for (const std::string& d : {instances_dir(), base()}) {
      if (mkdir(d.c_str(), 0700) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", d));
    }
    process_ = std::make_unique<testing::PluginProcess>(
        binaries.instance_process,
        std::vector<std::string>{"--plugins-dir", plugins, "--dir", instances_dir()}, plugins);
    flavor_ = std::make_unique<testing::PluginProcess>(
        binaries.flavor_swarm, std::vector<std::string>{"--plugins-dir", plugins}, plugins);
    group_ = std::make_unique<testing::PluginProcess>(
        binaries.group,
        std::vector<std::string>{"--plugins-dir", plugins, "--state-dir", dir_.Join("state")},
        plugins);
    for (auto [process, socket] :
         {std::pair{process_.get(), "instance-process.sock"},
          std::pair{flavor_.get(), "flavor-swarm.sock"}, std::pair{group_.get(), "group.sock"}}) {
      if (absl::Status s = process->Start(); !s.ok()) return s;
      if (absl::Status s = process->WaitReady(dir_.Join(socket), absl::Seconds(30)); !s.ok()) {
        return s;
      }
    }
    groups_ = std::make_unique<client::GroupClient>(
        client::discovery::MakePluginChannel(dir_.Join("group.sock")), absl::Seconds(60));
    return absl::OkStatus();
  }

  std::string instances_dir() const { return dir_.Join("instances"); }
  std::string base() const { return dir_.Join("swarm"); }
  client::GroupClient& groups() { return *groups_; }

  std::string Socket(const std::string& name) const {
    return absl::StrCat(base(), "/", name, "/docker.sock");
  }
  std::vector<std::string> ManagerSockets() const {
    std::vector<std::string> sockets;
    for (const char* ip : kManagerIps) sockets.push_back(Socket(ip));
    return sockets;
  }

  // The swarm's nodes, from the first manager that answers.
  absl::StatusOr<std::vector<SwarmNode>> Nodes() const {
    absl::Status last = absl::UnavailableError("no manager");
    for (const std::string& socket : ManagerSockets()) {
      auto nodes = EngineClient(socket, absl::Seconds(5)).Nodes();
      if (nodes.ok()) return nodes;
      last = nodes.status();
    }
    return last;
  }

  // Whether the group has `count` members, all HEALTHY.
  bool Healthy(const std::string& id, int count) {
    gv1::InspectGroupRequest request;
    request.set_id(id);
    auto group = groups_->InspectGroup(request);
    return group.ok() && group->members_size() == count && group->status().healthy() == count;
  }

  std::set<std::string> Members(const std::string& id) {
    std::set<std::string> ids;
    gv1::InspectGroupRequest request;
    request.set_id(id);
    auto group = groups_->InspectGroup(request);
    if (!group.ok()) return ids;
    for (const auto& member : group->members()) ids.insert(member.id());
    return ids;
  }

  std::set<std::string> AllMembers() {
    std::set<std::string> all = Members(kManagers);
    for (const std::string& id : Members(kWorkers)) all.insert(id);
    return all;
  }

  // The pid of the engine of instance `id` (its pidfile), or 0.
  pid_t EnginePid(const std::string& id) const {
    std::ifstream in(absl::StrCat(base(), "/", id, "/docker.pid"));
    pid_t pid = 0;
    in >> pid;
    return pid;
  }

  // The last lines of each plugin's stderr.
  std::string Logs() const {
    std::string out;
    for (const testing::PluginProcess* p : {process_.get(), flavor_.get(), group_.get()}) {
      if (p != nullptr) absl::StrAppend(&out, "\n--- ", p->stderr_path(), " ---\n", Tail(*p));
    }
    return out;
  }

 private:
  static std::string Tail(const testing::PluginProcess& p) {
    const std::string all = p.Stderr();
    return all.size() <= 3000 ? all : all.substr(all.size() - 3000);
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PluginProcess> process_;
  std::unique_ptr<testing::PluginProcess> flavor_;
  std::unique_ptr<testing::PluginProcess> group_;
  std::unique_ptr<client::GroupClient> groups_;
};

// Ready (and Active) nodes whose engine belongs to one of `instances`.
int ReadyOf(const std::vector<SwarmNode>& nodes, const std::set<std::string>& instances) {
  int ready = 0;
  for (const SwarmNode& n : nodes) {
    if (n.state == "ready" && n.availability == "active" &&
        instances.count(Label(n, "infrakit.instance"))) {
      ++ready;
    }
  }
  return ready;
}

// A swarm of 3 reachable managers with one leader and 2 workers, every node Ready and Active
// and one of `instances`; no other node.
bool Formed(const std::vector<SwarmNode>& nodes, const std::set<std::string>& instances) {
  int managers = 0, workers = 0, leaders = 0;
  for (const SwarmNode& n : nodes) {
    if (n.is_manager && n.reachability != "reachable") return false;
    (n.is_manager ? managers : workers) += 1;
    leaders += n.leader ? 1 : 0;
  }
  return managers == 3 && workers == 2 && leaders == 1 && ReadyOf(nodes, instances) == 5;
}

void AddSeconds(Report* report, const std::string& metric, absl::Duration d,
                const std::string& note = "") {
  report->AddDuration(kSection, metric, d, "s", std::nullopt, note);
}

// `group watch` of both groups until the swarm is formed and both groups are all HEALTHY.
absl::Status Form(Swarm& swarm, Report* report) {
  const absl::Time start = absl::Now();
  for (const std::string& text :
       {ManagersConfig(swarm.base(), "manager"), WorkersConfig(swarm.base())}) {
    auto spec = client::config::ParseGroupConfig(text);
    if (!spec.ok()) return spec.status();
    gv1::WatchGroupRequest watch;
    *watch.mutable_spec() = *spec;
    if (auto w = swarm.groups().WatchGroup(watch); !w.ok()) return w.status();
  }
  auto times =
      AwaitAll("a swarm of 3 + 2, every member HEALTHY",
               {[&] {
                  auto nodes = swarm.Nodes();
                  return nodes.ok() && Formed(*nodes, swarm.AllMembers());
                },
                [&] { return swarm.Healthy(kManagers, 3) && swarm.Healthy(kWorkers, 2); }});
  if (!times.ok()) return times.status();
  AddSeconds(report, "watch 3 + 2 -> swarm formed (5 Ready, 3 Reachable, 1 leader)",
             (*times)[0] - start, "GET /nodes polled every 100 ms");
  AddSeconds(report, "watch 3 + 2 -> 3 + 2 HEALTHY in the groups", (*times)[1] - start);
  return absl::OkStatus();
}

// kill -9 of a worker's dockerd until its replacement's node is Ready and until the dead node
// is gone from the node list.
absl::Status HealWorker(Swarm& swarm, Report* report) {
  const std::set<std::string> workers = swarm.Members(kWorkers);
  if (workers.empty()) return absl::InternalError("no worker");
  const std::string worker = *workers.begin();
  const pid_t pid = swarm.EnginePid(worker);
  if (pid <= 0) return absl::InternalError(absl::StrCat("no engine pid for ", worker));
  const absl::Time killed = absl::Now();
  if (kill(pid, SIGKILL) != 0) return absl::ErrnoToStatus(errno, "kill");
  auto times = AwaitAll(absl::StrCat("the worker ", worker, " replaced and its node removed"),
                        {[&] {
                           const std::set<std::string> now = swarm.Members(kWorkers);
                           if (now.size() != 2 || now.count(worker)) return false;
                           auto nodes = swarm.Nodes();
                           return nodes.ok() && ReadyOf(*nodes, swarm.AllMembers()) == 5;
                         },
                         [&] {
                           auto nodes = swarm.Nodes();
                           if (!nodes.ok()) return false;
                           for (const SwarmNode& n : *nodes) {
                             if (Label(n, "infrakit.instance") == worker) return false;
                           }
                           return true;
                         }});
  if (!times.ok()) return times.status();
  AddSeconds(report, "worker kill -9 -> replacement's node Ready (5 Ready live)",
             (*times)[0] - killed);
  AddSeconds(report, "worker kill -9 -> dead node removed from the node list",
             (*times)[1] - killed);
  // Untimed: the groups settled before the update.
  auto settled =
      AwaitAll("both groups HEALTHY after the heal",
               {[&] { return swarm.Healthy(kManagers, 3) && swarm.Healthy(kWorkers, 2); }});
  return settled.ok() ? absl::OkStatus() : settled.status();
}

// A rolling update of the managers (their `tier` label changed) until COMPLETED, sampling the
// quorum.
absl::Status RollManagers(Swarm& swarm, Report* report) {
  auto spec = client::config::ParseGroupConfig(ManagersConfig(swarm.base(), "manager-v2"));
  if (!spec.ok()) return spec.status();
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = *spec;
  gv1::UpdatePhase phase = gv1::UPDATE_PHASE_UNSPECIFIED;
  std::string last;
  QuorumSampler sampler(swarm.ManagerSockets());
  const absl::Time start = absl::Now();
  const absl::Status streamed =
      swarm.groups().UpdateGroup(update, [&](const gv1::UpdateGroupResponse& r) {
        phase = r.phase();
        last = r.message();
      });
  const absl::Time end = absl::Now();
  const auto [without, samples] = sampler.Stop();
  if (!streamed.ok()) return streamed;
  if (phase != gv1::UPDATE_PHASE_COMPLETED) {
    return absl::InternalError(absl::StrCat("the rolling update ended with: ", last));
  }
  AddSeconds(report, "rolling update of 3 managers (Labels changed): -> COMPLETED", end - start);
  Row row;
  row.section = kSection;
  row.metric = "rolling update: 100 ms samples without a quorum (no GET /nodes)";
  row.value = without;
  row.unit = "samples";
  row.note = absl::StrCat("of ", samples, " samples");
  report->Add(std::move(row));
  return absl::OkStatus();
}

}  // namespace

void ReRunInOwnNamespacesForSwarm(char** argv) {
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
  std::cout << std::flush;
  std::cerr << "bench: swarm: re-running in network and mount namespaces of its own\n";
  execvp("unshare", c_args.data());
  unsetenv(kInNamespace);
}

absl::Status RunSwarm(const Binaries& binaries, const BenchOptions& options, Report* report) {
  std::string why = PrivateEngine::Missing();
  if (why.empty() && getenv(kInNamespace) == nullptr) {
    why = "not in network and mount namespaces of its own (the re-run under unshare failed)";
  }
  if (!why.empty()) {
    why = absl::StrCat("swarm: skipped: ", why);
    std::cerr << "bench: " << why << "\n";
    report->AddContext(why);
    return absl::OkStatus();
  }
  report->AddContext("swarm: the benchmark runs in network and mount namespaces of its own");
  Swarm swarm;
  if (absl::Status s = swarm.Start(binaries); !s.ok()) return s;
  for (auto step : {&Form, &HealWorker, &RollManagers}) {
    if (absl::Status s = step(swarm, report); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(s.message(), swarm.Logs()));
    }
  }
  return absl::OkStatus();
}

}  // namespace infrakit::tools::bench
