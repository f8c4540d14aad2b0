#include "tools/bench/process_scenario.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "client/instance_client.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/dir_watcher.h"
#include "tools/bench/stats.h"

namespace infrakit::tools::bench {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;

constexpr char kGroup[] = "process-bench";
constexpr int kSize = 1000;
// Generous: a slow figure is measured (and MISSes) rather than lost.
constexpr absl::Duration kWait = absl::Seconds(120);
constexpr absl::Duration kKillWait = absl::Seconds(10);

std::string Config() {
  return absl::StrCat(R"({"ID": ")", kGroup, R"(", "Properties": {
    "Instance": {"Plugin": "instance-process",
                 "Properties": {"Command": "exec sleep 3600", "StopGraceSeconds": 5}},
    "Flavor": {"Plugin": "flavor-vanilla", "Properties": {"Size": )",
                      kSize, R"(}}}})");
}

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether `pid` runs `sleep` (the instance's command, after the shells exec'd it).
bool RunsSleep(pid_t pid) {
  const std::string cmdline = ReadWhole(absl::StrCat("/proc/", pid, "/cmdline"));
  return absl::StartsWith(cmdline, std::string("sleep\0", 6));
}

// The Pid recorded in an instance's instance.json (written once its process started); 0 before.
pid_t RecordedPid(const std::string& instance_dir) {
  const std::string json = ReadWhole(absl::StrCat(instance_dir, "/instance.json"));
  size_t at = json.find("\"Pid\"");
  if (at == std::string::npos) return 0;
  at = json.find(':', at);
  if (at == std::string::npos) return 0;
  size_t end = json.find_first_of(",}\n", at);
  absl::string_view number(json.data() + at + 1, end == std::string::npos ? 0 : end - at - 1);
  double pid = 0;
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(number), &pid)) return 0;
  return static_cast<pid_t>(pid);
}

// The processes whose environment names an instance directory under `instances_dir`.
std::vector<pid_t> InstanceProcesses(const std::string& instances_dir) {
  const std::string prefix = absl::StrCat("INFRAKIT_INSTANCE_DIR=", instances_dir, "/");
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* e = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    for (absl::string_view var :
         absl::StrSplit(ReadWhole(absl::StrCat("/proc/", pid, "/environ")), '\0')) {
      if (absl::StartsWith(var, prefix)) {
        pids.push_back(pid);
        break;
      }
    }
  }
  closedir(proc);
  return pids;
}

// Polls `condition` every `pause` until it holds (returns the time) or `timeout` passes.
template <typename Cond>
absl::StatusOr<absl::Time> Await(const std::string& what, absl::Duration timeout,
                                 absl::Duration pause, Cond condition) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (condition()) return absl::Now();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("not within ", absl::FormatDuration(timeout), ": ", what));
    }
    absl::SleepFor(pause);
  }
}

// instance-process, flavor-vanilla and the group service in a temporary plugins directory.
class ProcessStack {
 public:
  ~ProcessStack() {
    if (groups_ != nullptr && watched_) {
      gv1::DestroyGroupRequest destroy;
      destroy.set_id(kGroup);
      (void)groups_->DestroyGroup(destroy);
    }
    group_.reset();
    process_.reset();
    for (pid_t pid : InstanceProcesses(instances_dir())) kill(pid, SIGKILL);
    if (!own_state_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(own_state_dir_, ignored);
    }
  }

  // The group's state directory goes under `state_root` when it is not empty (see
  // StackOptions::state_root), else in the plugins directory.
  absl::Status Start(const Binaries& binaries, const std::string& state_root) {
    const std::string plugins = dir_.path();
    std::string state_dir = dir_.Join("state");
    if (!state_root.empty()) {
      std::string pattern = absl::StrCat(state_root, "/ik-state-XXXXXX");
      if (mkdtemp(pattern.data()) == nullptr) {
        return absl::ErrnoToStatus(errno, absl::StrCat("mkdtemp ", pattern));
      }
      state_dir = own_state_dir_ = std::move(pattern);
    }
    if (mkdir(instances_dir().c_str(), 0700) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", instances_dir()));
    }
    process_ = std::make_unique<testing::PluginProcess>(
        binaries.instance_process,
        std::vector<std::string>{"--plugins-dir", plugins, "--dir", instances_dir()}, plugins);
    flavor_ = std::make_unique<testing::PluginProcess>(
        binaries.flavor_vanilla, std::vector<std::string>{"--plugins-dir", plugins}, plugins);
    group_ = std::make_unique<testing::PluginProcess>(
        binaries.group,
        std::vector<std::string>{"--plugins-dir", plugins, "--state-dir", state_dir}, plugins);
    for (auto [process, socket] :
         {std::pair{process_.get(), "instance-process.sock"},
          std::pair{flavor_.get(), "flavor-vanilla.sock"}, std::pair{group_.get(), "group.sock"}}) {
      if (absl::Status s = process->Start(); !s.ok()) return s;
      if (absl::Status s = process->WaitReady(dir_.Join(socket), absl::Seconds(30)); !s.ok()) {
        return s;
      }
    }
    groups_ = std::make_unique<client::GroupClient>(
        client::discovery::MakePluginChannel(dir_.Join("group.sock")), absl::Seconds(60));
    instances_ = std::make_unique<client::InstanceClient>(
        client::discovery::MakePluginChannel(dir_.Join("instance-process.sock")),
        absl::Seconds(60));
    return absl::OkStatus();
  }

  std::string instances_dir() const { return dir_.Join("instances"); }
  client::GroupClient& groups() { return *groups_; }
  void set_watched(bool watched) { watched_ = watched; }

  // Members of the group as InspectGroup lists them; -1 on an error.
  int Members() {
    gv1::InspectGroupRequest request;
    request.set_id(kGroup);
    auto group = groups_->InspectGroup(request);
    return group.ok() ? group->members_size() : -1;
  }

  // The group's status from ListGroups, converged at `size`.
  bool Converged(int size) {
    auto groups = groups_->ListGroups(gv1::ListGroupsRequest());
    if (!groups.ok()) return false;
    for (const gv1::GroupSummary& summary : groups->groups()) {
      if (summary.spec().id() != kGroup) continue;
      const gv1::GroupStatus& s = summary.status();
      return s.converged() && s.desired() == size && s.actual() == size;
    }
    return false;
  }

  // Instances instance-process describes as RUNNING; -1 on an error.
  int Running() {
    auto described = instances_->Describe(iv1::DescribeRequest());
    if (!described.ok()) return -1;
    return static_cast<int>(std::count_if(
        described->instances().begin(), described->instances().end(),
        [](const iv1::Description& d) { return d.state() == iv1::LIFECYCLE_STATE_RUNNING; }));
  }

  std::string LogTails() const {
    std::string tails;
    for (const auto* p : {process_.get(), flavor_.get(), group_.get()}) {
      if (p != nullptr) tails += absl::StrCat("\n--- ", p->stderr_path(), ":\n", p->Stderr());
    }
    return tails.size() > 4000 ? tails.substr(tails.size() - 4000) : tails;
  }

 private:
  testing::TempDir dir_;
  std::unique_ptr<testing::PluginProcess> process_;
  std::unique_ptr<testing::PluginProcess> flavor_;
  std::unique_ptr<testing::PluginProcess> group_;
  std::unique_ptr<client::GroupClient> groups_;
  std::unique_ptr<client::InstanceClient> instances_;
  bool watched_ = false;
  std::string own_state_dir_;
};

Row MakeRow(const std::string& metric, double value, const std::string& unit,
            std::optional<double> limit, const std::string& note = "") {
  Row row;
  row.section = kProcessSection;
  row.metric = metric;
  row.value = value;
  row.unit = unit;
  row.limit = limit;
  row.note = note;
  return row;
}

// `group watch` of kSize until the group reports kSize members (ListGroups: converged with
// desired == actual == kSize, polled every 1 ms: InspectGroup's 1,000 members would cost the
// machine more than the polling measures) and until instance-process describes kSize RUNNING;
// then checks that InspectGroup lists kSize members.
absl::Status TimeConverge(ProcessStack& stack, Report* report) {
  auto spec = client::config::ParseGroupConfig(Config());
  if (!spec.ok()) return spec.status();
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = *spec;
  const absl::Time start = absl::Now();
  if (auto w = stack.groups().WatchGroup(watch); !w.ok()) return w.status();
  stack.set_watched(true);
  auto converged = Await("converged at 1,000", kWait, absl::Milliseconds(1),
                         [&] { return stack.Converged(kSize); });
  if (!converged.ok()) return converged.status();
  auto running = Await("1,000 RUNNING", kWait, absl::Milliseconds(5),
                       [&] { return stack.Running() == kSize; });
  if (!running.ok()) return running.status();
  if (const int members = stack.Members(); members != kSize) {
    return absl::InternalError(absl::StrCat("converged, but InspectGroup lists ", members));
  }
  report->Add(MakeRow(kConvergeProcesses, absl::ToDoubleSeconds(*converged - start), "s", 2,
                      "ListGroups polled every 1 ms"));
  report->Add(MakeRow("converge 1,000 processes: watch -> 1,000 RUNNING (Describe)",
                      absl::ToDoubleSeconds(*running - start), "s", std::nullopt,
                      "Describe polled every 5 ms once the group converged"));
  return absl::OkStatus();
}

// The instance created since `before` (a name DirWatcher lists now and `before` does not).
std::string NewName(const std::vector<std::string>& now, const std::set<std::string>& before) {
  for (const std::string& name : now) {
    if (before.count(name) == 0) return name;
  }
  return "";
}

// One kill -9: the time from SIGKILL of a random instance's process until a new instance's
// recorded process runs `sleep`.
absl::StatusOr<absl::Duration> KillOnce(ProcessStack& stack, DirWatcher& watcher,
                                        std::mt19937& random) {
  std::vector<std::string> names = watcher.Names();
  std::sort(names.begin(), names.end());
  const std::set<std::string> before(names.begin(), names.end());
  // A directory can be listed for a moment after its process died (the previous victim's,
  // until the plugin removes it) or before its process execs `sleep`: such a victim is passed
  // over for another.
  std::string victim;
  pid_t pid = 0;
  auto found = Await("an instance whose recorded process runs sleep", kKillWait,
                     absl::Microseconds(50), [&] {
                       victim = names[random() % names.size()];
                       pid = RecordedPid(absl::StrCat(stack.instances_dir(), "/", victim));
                       return pid != 0 && RunsSleep(pid);
                     });
  if (!found.ok()) return found.status();
  const int64_t next = watcher.creations();
  const absl::Time killed = absl::Now();
  if (kill(pid, SIGKILL) != 0) return absl::ErrnoToStatus(errno, "kill");
  if (auto created = watcher.WaitForCreation(next, kKillWait); !created.ok()) {
    return created.status();
  }
  const std::string fresh = NewName(watcher.Names(), before);
  if (fresh.empty()) return absl::InternalError("a creation without a new instance directory");
  const std::string fresh_dir = absl::StrCat(stack.instances_dir(), "/", fresh);
  // The record is awaited by inotify, not by polling: on 2 cores a poll every 50 us takes CPU
  // from the very processes being measured. Only then is the recorded process polled until it
  // runs sleep (a shell started with the record execs it a moment later).
  auto record = DirWatcher::Start(fresh_dir);
  if (!record.ok()) return record.status();
  if (absl::Status s = (*record)->WaitForName("instance.json", kKillWait); !s.ok()) return s;
  auto execd = Await(absl::StrCat("the process of ", fresh, " runs sleep"), kKillWait,
                     absl::Microseconds(50), [&] {
                       const pid_t new_pid = RecordedPid(fresh_dir);
                       return new_pid != 0 && RunsSleep(new_pid);
                     });
  if (!execd.ok()) return execd.status();
  return *execd - killed;
}

// `kills` kill -9s, each once the group is back to kSize converged.
absl::Status TimeKills(ProcessStack& stack, int kills, Report* report) {
  auto watcher = DirWatcher::Start(stack.instances_dir());
  if (!watcher.ok()) return watcher.status();
  std::mt19937 random(7);  // fixed: every run kills in the same pattern
  std::vector<absl::Duration> samples;
  for (int i = 0; i < kills; ++i) {
    auto took = KillOnce(stack, **watcher, random);
    if (!took.ok()) return took.status();
    samples.push_back(*took);
    auto back = Await("converged at 1,000 after a kill", kWait, absl::Milliseconds(1),
                      [&] { return stack.Converged(kSize); });
    if (!back.ok()) return back.status();
  }
  const Summary summary = Summarize(samples);
  const std::string note =
      absl::StrCat(kills,
                   " kills; SIGKILL -> the new instance's instance.json (inotify) records a Pid "
                   "that runs sleep (/proc/<pid>/cmdline, polled every 50 us from then)");
  report->Add(MakeRow(kKillReplaceP50, InUnit(summary.p50, "ms"), "ms", 5, note));
  report->Add(
      MakeRow("kill -9 -> replacement exec'd p99", InUnit(summary.p99, "ms"), "ms", std::nullopt));
  report->Add(MakeRow("kill -9 -> replacement exec'd min", InUnit(summary.min, "ms"), "ms",
                      std::nullopt, "the fastest: the path when no hop waits for a core"));
  return absl::OkStatus();
}

// Destroys the group and reports the instance processes left once instance-process describes
// none.
absl::Status DestroyAndCount(ProcessStack& stack, Report* report) {
  gv1::DestroyGroupRequest destroy;
  destroy.set_id(kGroup);
  const absl::Time start = absl::Now();
  if (auto d = stack.groups().DestroyGroup(destroy); !d.ok()) return d.status();
  stack.set_watched(false);
  auto gone =
      Await("no instance left", kWait, absl::Milliseconds(5), [&] { return stack.Running() == 0; });
  if (!gone.ok()) return gone.status();
  report->Add(MakeRow("DestroyGroup of 1,000 -> none described",
                      absl::ToDoubleSeconds(*gone - start), "s", std::nullopt));
  const size_t left = InstanceProcesses(stack.instances_dir()).size();
  report->Add(MakeRow("instance processes left after DestroyGroup", static_cast<double>(left),
                      "processes", 0));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunProcess(const Binaries& binaries, int kills, const std::string& state_root,
                        Report* report) {
  ProcessStack stack;
  absl::Status status = stack.Start(binaries, state_root);
  if (status.ok()) status = TimeConverge(stack, report);
  if (status.ok()) status = TimeKills(stack, kills, report);
  if (status.ok()) status = DestroyAndCount(stack, report);
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(status.message(), stack.LogTails()));
  }
  return absl::OkStatus();
}

}  // namespace infrakit::tools::bench
