#include "tools/bench/zookeeper_scenario.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "infrakit/group/v1/group.pb.h"
#include "plugins/flavor/zookeeper/srvr_probe.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::tools::bench {
namespace {

namespace gv1 = ::infrakit::group::v1;

constexpr char kSection[] = "zookeeper";
constexpr char kGroup[] = "zk-bench";
constexpr char kJar[] = "/usr/share/java/zookeeper.jar";
constexpr char kZkCli[] = "/usr/share/zookeeper/bin/zkCli.sh";
const char* const kMembers[] = {"127.0.0.71", "127.0.0.72", "127.0.0.73"};
constexpr absl::Duration kPeriod = absl::Milliseconds(50);
// Generous: a JVM starts in seconds on a quiet machine; a wait that passes this fails.
constexpr absl::Duration kWait = absl::Seconds(120);

std::string Config(int tick_time) {
  return absl::StrCat(R"({"ID": ")", kGroup, R"(", "Properties": {
    "LogicalIDs": [")",
                      kMembers[0], R"(", ")", kMembers[1], R"(", ")", kMembers[2], R"("],
    "Instance": {"Plugin": "instance-process", "Properties": {"StopGraceSeconds": 5}},
    "Flavor": {"Plugin": "flavor-zookeeper", "Properties": {
      "TickTime": )",
                      tick_time, R"(, "InitLimit": 20, "SyncLimit": 10, "JvmHeapMB": 64}}}})");
}

// The member's `srvr` mode when it serves as leader or follower, else "".
std::string Mode(const std::string& ip) {
  auto answer =
      plugins::flavor::zookeeper::AskFourLetterWord(ip, 2181, "srvr", absl::Milliseconds(500));
  if (!answer.ok()) return "";
  auto state = plugins::flavor::zookeeper::ParseSrvr(*answer);
  if (!state.ok() || !state->serving) return "";
  return state->mode == "leader" || state->mode == "follower" ? state->mode : "";
}

struct Sample {
  absl::Time time;
  int serving = 0;
  bool leader = false;
};

// Asks every member `srvr` every kPeriod on its own thread until destroyed.
class Sampler {
 public:
  Sampler() : thread_([this] { Loop(); }) {}
  ~Sampler() {
    stop_ = true;
    thread_.join();
  }
  std::vector<Sample> Samples() {
    absl::MutexLock lock(&mu_);
    return samples_;
  }

 private:
  void Loop() {
    while (!stop_) {
      Sample sample;
      sample.time = absl::Now();
      for (const char* ip : kMembers) {
        const std::string mode = Mode(ip);
        if (!mode.empty()) ++sample.serving;
        if (mode == "leader") sample.leader = true;
      }
      {
        absl::MutexLock lock(&mu_);
        samples_.push_back(sample);
      }
      absl::SleepFor(kPeriod - (absl::Now() - sample.time));
    }
  }

  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<Sample> samples_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// The first sample at or after `from` satisfying `pred`, or nullptr.
template <typename Pred>
const Sample* First(const std::vector<Sample>& samples, absl::Time from, Pred pred) {
  for (const Sample& s : samples) {
    if (s.time >= from && pred(s)) return &s;
  }
  return nullptr;
}

// The longest run of samples in [from, to] with fewer than 2 members serving, from its first
// sample to the next sample with 2 or more.
absl::Duration LongestOutage(const std::vector<Sample>& samples, absl::Time from, absl::Time to) {
  absl::Duration longest;
  const Sample* start = nullptr;
  for (const Sample& s : samples) {
    if (s.time < from || s.time > to) continue;
    if (s.serving < 2) {
      if (start == nullptr) start = &s;
    } else if (start != nullptr) {
      longest = std::max(longest, s.time - start->time);
      start = nullptr;
    }
  }
  if (start != nullptr) longest = std::max(longest, to - start->time);
  return longest;
}

// The pid of the java server of the member `ip` (the leader of its instance's process group)
// and its instance ID, from the environment instance-process gives it; {0, ""} if none.
std::pair<pid_t, std::string> MemberProcess(const std::string& instances_dir,
                                            const std::string& ip) {
  const std::string dir_var = absl::StrCat("INFRAKIT_INSTANCE_DIR=", instances_dir, "/");
  std::pair<pid_t, std::string> found = {0, ""};
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* e = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/environ"), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    bool ours = false, member = false;
    std::string id;
    for (absl::string_view var : absl::StrSplit(text.str(), '\0')) {
      if (absl::StartsWith(var, dir_var)) ours = true;
      if (var == absl::StrCat("INFRAKIT_LOGICAL_ID=", ip)) member = true;
      if (absl::ConsumePrefix(&var, "INFRAKIT_INSTANCE_ID=")) id = std::string(var);
    }
    if (ours && member && getpgid(pid) == pid) found = {pid, id};
  }
  closedir(proc);
  return found;
}

// Kills every process group left under `instances_dir` (after a failure).
void KillLeftovers(const std::string& instances_dir) {
  for (const char* ip : kMembers) {
    const pid_t pid = MemberProcess(instances_dir, ip).first;
    if (pid != 0) kill(-pid, SIGKILL);
  }
}

// Polls `condition` every 20 ms until it holds (returns the time) or kWait passes.
template <typename Cond>
absl::StatusOr<absl::Time> Await(const std::string& what, Cond condition) {
  const absl::Time deadline = absl::Now() + kWait;
  for (;;) {
    if (condition()) return absl::Now();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("not within ", absl::FormatDuration(kWait), ": ", what));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

class Ensemble {
 public:
  ~Ensemble() {
    if (groups_ != nullptr) {
      gv1::DestroyGroupRequest destroy;
      destroy.set_id(kGroup);
      (void)groups_->DestroyGroup(destroy);
    }
    group_.reset();
    KillLeftovers(instances_dir());
  }

  absl::Status Start(const Binaries& binaries) {
    for (const char* ip : kMembers) {
      if (plugins::flavor::zookeeper::AskFourLetterWord(ip, 2181, "srvr", absl::Milliseconds(200))
              .ok()) {
        return absl::FailedPreconditionError(absl::StrCat(ip, ":2181 is already in use"));
      }
    }
    const std::string plugins = dir_.path();
    if (mkdir(instances_dir().c_str(), 0700) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", instances_dir()));
    }
    process_ = std::make_unique<testing::PluginProcess>(
        binaries.instance_process,
        std::vector<std::string>{"--plugins-dir", plugins, "--dir", instances_dir()}, plugins);
    flavor_ = std::make_unique<testing::PluginProcess>(
        binaries.flavor_zookeeper, std::vector<std::string>{"--plugins-dir", plugins}, plugins);
    group_ = std::make_unique<testing::PluginProcess>(
        binaries.group,
        std::vector<std::string>{"--plugins-dir", plugins, "--state-dir", dir_.Join("state")},
        plugins);
    for (auto [process, socket] : {std::pair{process_.get(), "instance-process.sock"},
                                   std::pair{flavor_.get(), "flavor-zookeeper.sock"},
                                   std::pair{group_.get(), "group.sock"}}) {
      if (absl::Status s = process->Start(); !s.ok()) return s;
      if (absl::Status s = process->WaitReady(dir_.Join(socket), absl::Seconds(30)); !s.ok()) {
        return s;
      }
    }
    groups_ = std::make_unique<client::GroupClient>(
        client::discovery::MakePluginChannel(dir_.Join("group.sock")), absl::Seconds(30));
    return absl::OkStatus();
  }

  std::string instances_dir() const { return dir_.Join("instances"); }
  client::GroupClient& groups() { return *groups_; }
  int Healthy() {
    gv1::InspectGroupRequest request;
    request.set_id(kGroup);
    auto group = groups_->InspectGroup(request);
    return group.ok() && group->members_size() == 3 ? group->status().healthy() : -1;
  }

 private:
  testing::TempDir dir_;
  std::unique_ptr<testing::PluginProcess> process_;
  std::unique_ptr<testing::PluginProcess> flavor_;
  std::unique_ptr<testing::PluginProcess> group_;
  std::unique_ptr<client::GroupClient> groups_;
};

void AddSeconds(Report* report, const std::string& metric, absl::Duration d,
                const std::string& note = "") {
  report->AddDuration(kSection, metric, d, "s", std::nullopt, note);
}

// From `group watch` to a serving ensemble, and a real write.
absl::Status TimeWatch(Ensemble& ensemble, const gv1::GroupSpec& v1, Sampler& sampler,
                       Report* report) {
  // From `group watch` to a serving ensemble.
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = v1;
  const absl::Time watched = absl::Now();
  if (auto w = ensemble.groups().WatchGroup(watch); !w.ok()) return w.status();
  auto healthy = Await("3 members HEALTHY", [&] { return ensemble.Healthy() == 3; });
  if (!healthy.ok()) return healthy.status();
  auto all = Await("3 members serving", [&] {
    auto s = sampler.Samples();
    return !s.empty() && s.back().serving == 3;
  });
  if (!all.ok()) return all.status();
  std::vector<Sample> samples = sampler.Samples();
  const Sample* quorum =
      First(samples, watched, [](const Sample& s) { return s.leader && s.serving >= 2; });
  const Sample* three = First(samples, watched, [](const Sample& s) { return s.serving == 3; });
  AddSeconds(report, "watch 3 -> quorum serves (srvr: leader + 1 follower)", quorum->time - watched,
             "srvr on each member every 50 ms");
  AddSeconds(report, "watch 3 -> all 3 serve (srvr: leader + 2 followers)", three->time - watched);
  AddSeconds(report, "watch 3 -> 3 HEALTHY in the group", *healthy - watched);
  // A real write, untimed beyond its own cost (zkCli.sh starts a JVM).
  const absl::Time cli_start = absl::Now();
  const int cli = system(absl::StrCat("timeout 60 ", kZkCli, " -server ", kMembers[0],
                                      ":2181 create /bench written >/dev/null 2>&1")
                             .c_str());
  if (cli != 0) return absl::InternalError("zkCli.sh create /bench failed");
  AddSeconds(report, "zkCli.sh create (JVM start included)", absl::Now() - cli_start);

  return absl::OkStatus();
}

// kill -9 of the leader, until a quorum serves again and its replacement is HEALTHY.
absl::Status TimeLeaderKill(Ensemble& ensemble, Sampler& sampler, Report* report) {
  // kill -9 of the leader.
  std::string leader;
  for (const char* ip : kMembers) {
    if (Mode(ip) == "leader") leader = ip;
  }
  const auto [pid, instance] = MemberProcess(ensemble.instances_dir(), leader);
  if (pid == 0) return absl::InternalError(absl::StrCat("no process for the leader ", leader));
  const absl::Time killed = absl::Now();
  kill(pid, SIGKILL);
  auto rejoined = Await("the leader's replacement HEALTHY", [&] {
    const std::string now = MemberProcess(ensemble.instances_dir(), leader).second;
    return !now.empty() && now != instance && ensemble.Healthy() == 3;
  });
  if (!rejoined.ok()) return rejoined.status();
  std::vector<Sample> samples = sampler.Samples();
  const Sample* down = First(samples, killed, [](const Sample& s) { return s.serving < 2; });
  const Sample* back =
      down == nullptr ? nullptr
                      : First(samples, down->time, [](const Sample& s) { return s.serving >= 2; });
  if (down != nullptr && back == nullptr) {
    return absl::InternalError("no quorum again by the time the leader's replacement rejoined");
  }
  AddSeconds(report, "leader kill -9 -> quorum serves again",
             back == nullptr ? absl::ZeroDuration() : back->time - killed,
             down == nullptr ? "no sample below quorum" : "");
  AddSeconds(report, "leader kill -9 -> replacement HEALTHY (rejoined)", *rejoined - killed);

  return absl::OkStatus();
}

// A rolling update of the 3 members, with the samples below quorum during it.
absl::Status TimeRollingUpdate(Ensemble& ensemble, Sampler& sampler, Report* report) {
  // A rolling update of the 3 members: the flavor rolls followers first, the leader last.
  auto v2 = client::config::ParseGroupConfig(Config(600));
  if (!v2.ok()) return v2.status();
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = *v2;
  gv1::UpdatePhase phase = gv1::UPDATE_PHASE_UNSPECIFIED;
  std::string last;
  const absl::Time update_start = absl::Now();
  absl::Status streamed = ensemble.groups().UpdateGroup(update, [&](const auto& r) {
    phase = r.phase();
    last = r.message();
  });
  const absl::Time update_end = absl::Now();
  if (!streamed.ok()) return streamed;
  if (phase != gv1::UPDATE_PHASE_COMPLETED) {
    return absl::InternalError(absl::StrCat("the rolling update ended with: ", last));
  }
  std::vector<Sample> samples = sampler.Samples();
  int below = 0, taken = 0;
  for (const Sample& s : samples) {
    if (s.time < update_start || s.time > update_end) continue;
    ++taken;
    if (s.serving < 2) ++below;
  }
  AddSeconds(report, "rolling update of 3 (TickTime changed): UpdateGroup -> COMPLETED",
             update_end - update_start);
  AddSeconds(report, "rolling update: longest run below quorum (< 2 serving)",
             LongestOutage(samples, update_start, update_end),
             absl::StrCat(below, " of ", taken, " samples below quorum"));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunZookeeper(const Binaries& binaries, const BenchOptions& options, Report* report) {
  if (access(kJar, R_OK) != 0 || access(kZkCli, X_OK) != 0) {
    const std::string why = absl::StrCat("zookeeper: skipped: ", kJar, " or ", kZkCli,
                                         " is missing (scripts/setup.sh installs Debian's "
                                         "zookeeper package)");
    std::cerr << "bench: " << why << "\n";
    report->AddContext(why);
    return absl::OkStatus();
  }
  Ensemble ensemble;
  if (absl::Status s = ensemble.Start(binaries); !s.ok()) return s;
  auto v1 = client::config::ParseGroupConfig(Config(500));
  if (!v1.ok()) return v1.status();
  Sampler sampler;

  if (absl::Status s = TimeWatch(ensemble, *v1, sampler, report); !s.ok()) return s;
  if (absl::Status s = TimeLeaderKill(ensemble, sampler, report); !s.ok()) return s;
  return TimeRollingUpdate(ensemble, sampler, report);
}

}  // namespace infrakit::tools::bench
