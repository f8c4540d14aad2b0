#include "tools/bench/scenarios.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "client/config/group_config.h"
#include "client/plugin_client.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "spec/tags.h"
#include "tests/testing/plugin_process.h"
#include "tools/bench/dir_watcher.h"
#include "tools/bench/ha_scenario.h"
#include "tools/bench/idle_scenario.h"
#include "tools/bench/ping_pong.h"
#include "tools/bench/proc_stats.h"
#include "tools/bench/process_scenario.h"
#include "tools/bench/readers_scenario.h"
#include "tools/bench/stats.h"
#include "tools/bench/swarm_scenario.h"
#include "tools/bench/zookeeper_scenario.h"

namespace infrakit::tools::bench {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;

#define BENCH_CONCAT_INNER(a, b) a##b
#define BENCH_CONCAT(a, b) BENCH_CONCAT_INNER(a, b)
#define BENCH_RETURN_IF_ERROR(expr)           \
  do {                                        \
    if (absl::Status _s = (expr); !_s.ok()) { \
      return _s;                              \
    }                                         \
  } while (0)
#define BENCH_ASSIGN_OR_RETURN_IMPL(var, lhs, expr) \
  auto var = (expr);                                \
  if (!var.ok()) return var.status();               \
  lhs = *std::move(var)
#define BENCH_ASSIGN_OR_RETURN(lhs, expr) \
  BENCH_ASSIGN_OR_RETURN_IMPL(BENCH_CONCAT(_statusor_, __LINE__), lhs, expr)

// Deadlines of the waits: generous, so that a slow figure is measured (and MISSes) rather than
// lost. A wait that passes them fails the scenario.
constexpr absl::Duration kSmallWait = absl::Seconds(30);
constexpr absl::Duration kLargeWait = absl::Seconds(300);
constexpr absl::Duration kHealWait = absl::Seconds(10);

constexpr char kNoteV1[] = "Instance properties version 1.0";
constexpr char kNoteV2[] = "Instance properties version 2.0 -- CHANGED";

// Target rows (see Scenarios()).
constexpr char kHealP50[] = "heal p50";
constexpr char kHealP99[] = "heal p99";
constexpr char kTutorialUpdate[] = "tutorial 5 -> 3 update (median)";
constexpr char kRolling100[] = "rolling update 100, default policy";
constexpr char kConvergeMedium[] = "converge 1,000 from empty";
constexpr char kRssMedium[] = "group RSS at 1,000";
constexpr double kRssMediumLimitMiB = 15;
constexpr char kInfoRatio[] = "Info p50 / raw p50";
constexpr char kRollingTime[] = "rolling update 1,000 at 10% surge";
constexpr char kRollingPeak[] = "peak instances during the update";
constexpr char kConvergeLarge[] = "converge 10,000 from empty";
constexpr char kRssLarge[] = "group RSS at 10,000";
constexpr double kRssLargeLimitMiB = 30;
constexpr char kIdleCpuLarge[] = "group idle CPU at 10,000";
constexpr char kScaleToZero[] = "scale 10,000 -> 0";

// The original InfraKit tutorial's group config, with `size` members (in the flavor's properties,
// as the tutorial has it) and the instance note `note`; `update` is an optional "Update" object
// (JSON) for the group properties.
std::string TutorialConfig(const std::string& id, int size, const std::string& note,
                           const std::string& update = "") {
  return absl::StrCat(R"({
    "ID": ")",
                      id, R"(",
    "Properties": {)",
                      update.empty() ? ""
                                     : absl::StrCat(R"(
        "Update": )",
                                                    update, ","),
                      R"(
        "Instance": {
            "Plugin": "instance-file",
            "Properties": {"Note": ")",
                      note, R"("}
        },
        "Flavor": {
            "Plugin": "flavor-vanilla",
            "Properties": {
                "Size": )",
                      size, R"(,
                "UserData": [
                    "sudo apt-get update -y",
                    "sudo apt-get install -y nginx",
                    "sudo service nginx start"
                ],
                "Labels": {"tier": "web", "project": "infrakit"}
            }
        }
    }
})");
}

absl::StatusOr<gv1::GroupSpec> Spec(const std::string& id, int size, const std::string& note,
                                    const std::string& update = "") {
  return client::config::ParseGroupConfig(TutorialConfig(id, size, note, update));
}

std::string Thousands(int64_t n) {
  std::string digits = absl::StrCat(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

double Mib(int64_t kib) { return static_cast<double>(kib) / 1024.0; }

Row ValueRow(std::string section, std::string metric, double value, std::string unit,
             std::string note = "") {
  Row row;
  row.section = std::move(section);
  row.metric = std::move(metric);
  row.value = value;
  row.unit = std::move(unit);
  row.note = std::move(note);
  return row;
}

Row TargetRow(std::string section, std::string metric, double value, std::string unit, double limit,
              std::string note = "") {
  Row row =
      ValueRow(std::move(section), std::move(metric), value, std::move(unit), std::move(note));
  row.limit = limit;
  return row;
}

// Adds the caveat of an overflowed watcher to `note`.
std::string WatcherNote(const DirWatcher& watcher, std::string note = "") {
  if (!watcher.overflowed()) return note;
  return absl::StrCat(note, note.empty() ? "" : "; ",
                      "inotify queue overflowed: a peak or a creation time may be missed");
}

absl::Status WithLogs(const absl::Status& status, const Stack& stack) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(status.message(), stack.LogTails()));
}

// CPU time used by the three processes of a stack since a CpuMeter was made: where a phase's
// time went.
class CpuMeter {
 public:
  explicit CpuMeter(const Stack& stack)
      : pids_{stack.group_pid(), stack.instance_pid(), stack.flavor_pid()} {
    for (int i = 0; i < 3; ++i) start_[i] = Cpu(pids_[i]);
  }

  // "group 1.2 s, instance-file 0.3 s, flavor-vanilla 0.2 s of CPU".
  std::string Note() const {
    absl::Duration used[3];
    for (int i = 0; i < 3; ++i) used[i] = Cpu(pids_[i]) - start_[i];
    return absl::StrFormat("CPU: group %.2f s, instance-file %.2f s, flavor-vanilla %.2f s",
                           absl::ToDoubleSeconds(used[0]), absl::ToDoubleSeconds(used[1]),
                           absl::ToDoubleSeconds(used[2]));
  }

 private:
  static absl::Duration Cpu(pid_t pid) {
    absl::StatusOr<ProcessSample> sample = ReadProcessSample(pid);
    return sample.ok() ? sample->cpu : absl::ZeroDuration();
  }

  pid_t pids_[3];
  absl::Duration start_[3];
};

// Watches `spec` and waits for its files and its convergence. Adds the convergence rows
// (`metric` with the target `limit`, and when the files existed).
absl::Status Converge(Stack& stack, const DirWatcher& watcher, const gv1::GroupSpec& spec, int size,
                      const std::string& metric, double limit, Report* report) {
  gv1::WatchGroupRequest request;
  *request.mutable_spec() = spec;
  const CpuMeter cpu(stack);
  const absl::Time start = absl::Now();
  BENCH_RETURN_IF_ERROR(stack.group().WatchGroup(request).status());
  const absl::Duration wait = size > 2000 ? kLargeWait : kSmallWait;
  BENCH_ASSIGN_OR_RETURN(const absl::Time files, watcher.WaitForCount(size, wait));
  BENCH_ASSIGN_OR_RETURN(const absl::Time converged, stack.WaitConverged(spec.id(), size, wait));
  report->Add(ValueRow("converge", absl::StrCat(metric, ": all files exist"),
                       absl::ToDoubleSeconds(files - start), "s",
                       WatcherNote(watcher, cpu.Note())));
  report->Add(TargetRow("converge", metric, absl::ToDoubleSeconds(converged - start), "s", limit,
                        "WatchGroup call -> ListGroups reports converged"));
  return absl::OkStatus();
}

// Runs UpdateGroup to its end. Returns the time of its final message, or an error when the
// stream fails or the update does not complete.
absl::StatusOr<absl::Time> Update(Stack& stack, const gv1::GroupSpec& spec) {
  gv1::UpdateGroupRequest request;
  *request.mutable_spec() = spec;
  absl::Time end = absl::InfiniteFuture();
  gv1::UpdateGroupResponse last;
  const absl::Status status =
      stack.group().UpdateGroup(request, [&](const gv1::UpdateGroupResponse& progress) {
        last = progress;
        if (progress.phase() != gv1::UPDATE_PHASE_STARTED &&
            progress.phase() != gv1::UPDATE_PHASE_PROGRESS) {
          end = absl::Now();
        }
      });
  if (!status.ok()) return status;
  if (last.phase() != gv1::UPDATE_PHASE_COMPLETED) {
    return absl::FailedPreconditionError(absl::StrCat("update of ", spec.id(), " ended in ",
                                                      gv1::UpdatePhase_Name(last.phase()), ": ",
                                                      last.message()));
  }
  return end;
}

// Destroys group `id` and waits until the directory is empty.
absl::Status DestroyAll(Stack& stack, const DirWatcher& watcher, const std::string& id) {
  gv1::DestroyGroupRequest request;
  request.set_id(id);
  BENCH_RETURN_IF_ERROR(stack.group().DestroyGroup(request).status());
  return watcher.WaitForCount(0, kSmallWait).status();
}

// The median duration of `calls` Describe calls of group `id`, checking the count.
absl::StatusOr<absl::Duration> TimeDescribe(Stack& stack, const std::string& id, int expected,
                                            bool include_properties, int calls) {
  iv1::DescribeRequest request;
  (*request.mutable_tags())[spec::kGroupTag] = id;
  request.set_include_properties(include_properties);
  std::vector<absl::Duration> samples;
  for (int i = 0; i < calls; ++i) {
    const absl::Time start = absl::Now();
    BENCH_ASSIGN_OR_RETURN(const iv1::DescribeResponse response,
                           stack.instances().Describe(request));
    samples.push_back(absl::Now() - start);
    if (response.instances_size() != expected) {
      return absl::InternalError(absl::StrCat("Describe of ", id, " returned ",
                                              response.instances_size(), " instances, not ",
                                              expected));
    }
  }
  return Median(samples);
}

absl::Status AddDescribeRows(Stack& stack, const std::string& id, int size,
                             const BenchOptions& options, Report* report) {
  for (bool properties : {false, true}) {
    BENCH_ASSIGN_OR_RETURN(const absl::Duration median,
                           TimeDescribe(stack, id, size, properties, options.describe_calls));
    report->AddDuration(
        "rpc", absl::StrCat("Describe ", Thousands(size), properties ? " with properties" : ""),
        median, "ms", std::nullopt,
        absl::StrCat("median of ", options.describe_calls, ", instance-file, by group tag"));
  }
  return absl::OkStatus();
}

void AddFootprintRows(const std::string& label, const ProcessSample& sample, Report* report) {
  report->Add(ValueRow("footprint", absl::StrCat("group peak RSS (VmHWM) at ", label),
                       Mib(sample.peak_rss_kib), "MiB"));
  report->Add(ValueRow(
      "footprint", absl::StrCat("group anonymous RSS at ", label), Mib(sample.anon_rss_kib), "MiB",
      "RssAnon: its own memory; the rest is pages of its binary and shared libraries"));
  if (sample.pss_kib >= 0) {
    report->Add(ValueRow("footprint", absl::StrCat("group PSS at ", label), Mib(sample.pss_kib),
                         "MiB", "shared pages divided among the processes mapping them"));
  }
  report->Add(ValueRow("footprint", absl::StrCat("group threads at ", label), sample.threads, ""));
  report->Add(ValueRow("footprint", absl::StrCat("group fds at ", label), sample.fds, ""));
}

// ---------------------------------------------------------------------------------------------

absl::Status RunHeal(const Binaries& binaries, const BenchOptions& options, Report* report) {
  BENCH_ASSIGN_OR_RETURN(std::unique_ptr<Stack> stack, Stack::Start(binaries, options.stack));
  BENCH_ASSIGN_OR_RETURN(std::unique_ptr<DirWatcher> watcher,
                         DirWatcher::Start(stack->instance_dir()));
  const int size = options.heal_size;
  BENCH_ASSIGN_OR_RETURN(const gv1::GroupSpec spec, Spec("heal", size, kNoteV1));
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = spec;
  BENCH_RETURN_IF_ERROR(WithLogs(stack->group().WatchGroup(watch).status(), *stack));
  BENCH_RETURN_IF_ERROR(WithLogs(watcher->WaitForCount(size, kSmallWait).status(), *stack));
  BENCH_RETURN_IF_ERROR(
      WithLogs(stack->WaitConverged(spec.id(), size, kSmallWait).status(), *stack));

  std::mt19937 random(7);  // fixed: every run removes in the same pattern
  std::vector<absl::Duration> samples;
  watcher->ResetPeak();
  for (int i = 0; i < options.heal_removals; ++i) {
    std::vector<std::string> names = watcher->Names();
    std::sort(names.begin(), names.end());
    const std::string victim = names[random() % names.size()];
    const int64_t next_creation = watcher->creations();
    const std::string path = absl::StrCat(stack->instance_dir(), "/", victim);
    const absl::Time removed = absl::Now();
    if (unlink(path.c_str()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot remove ", path));
    }
    BENCH_ASSIGN_OR_RETURN(const absl::Time replaced,
                           watcher->WaitForCreation(next_creation, kHealWait));
    samples.push_back(replaced - removed);
    // The next removal starts from a group at rest.
    BENCH_RETURN_IF_ERROR(WithLogs(watcher->WaitForCount(size, kHealWait).status(), *stack));
    BENCH_RETURN_IF_ERROR(
        WithLogs(stack->WaitConverged(spec.id(), size, kHealWait).status(), *stack));
  }
  const Summary s = Summarize(samples);
  const std::string note = WatcherNote(
      *watcher, absl::StrCat(s.count, " removals, group of ", size,
                             ": rm of a file -> its replacement's file exists (inotify)"));
  report->AddDuration("heal", kHealP50, s.p50, "ms", absl::Milliseconds(5), note);
  report->AddDuration("heal", kHealP99, s.p99, "ms", absl::Milliseconds(20));
  report->AddDuration("heal", "heal max", s.max, "ms");
  report->AddDuration("heal", "heal min", s.min, "ms");
  report->Add(ValueRow("heal", "peak instances during heals", watcher->peak(), "instances",
                       absl::StrCat("never above ", size, " expected")));
  return absl::OkStatus();
}

absl::Status RunTutorial(const Binaries& binaries, const BenchOptions& options, Report* report) {
  BENCH_ASSIGN_OR_RETURN(std::unique_ptr<Stack> stack, Stack::Start(binaries, options.stack));
  BENCH_ASSIGN_OR_RETURN(std::unique_ptr<DirWatcher> watcher,
                         DirWatcher::Start(stack->instance_dir()));
  std::vector<absl::Duration> samples;
  for (int run = 0; run < options.tutorial_runs; ++run) {
    const std::string id = absl::StrCat("cattle-", run);
    BENCH_ASSIGN_OR_RETURN(const gv1::GroupSpec v1, Spec(id, 5, kNoteV1));
    BENCH_ASSIGN_OR_RETURN(const gv1::GroupSpec v2, Spec(id, 3, kNoteV2));
    gv1::WatchGroupRequest watch;
    *watch.mutable_spec() = v1;
    BENCH_RETURN_IF_ERROR(WithLogs(stack->group().WatchGroup(watch).status(), *stack));
    BENCH_RETURN_IF_ERROR(WithLogs(watcher->WaitForCount(5, kSmallWait).status(), *stack));
    BENCH_RETURN_IF_ERROR(WithLogs(stack->WaitConverged(id, 5, kSmallWait).status(), *stack));
    const absl::Time start = absl::Now();
    BENCH_ASSIGN_OR_RETURN(const absl::Time end, Update(*stack, v2));
    samples.push_back(end - start);
    BENCH_RETURN_IF_ERROR(WithLogs(watcher->WaitForCount(3, kSmallWait).status(), *stack));
    BENCH_RETURN_IF_ERROR(WithLogs(DestroyAll(*stack, *watcher, id), *stack));
  }
  const Summary s = Summarize(samples);
  report->AddDuration("update", kTutorialUpdate, s.p50, "s", absl::Milliseconds(200),
                      absl::StrCat(s.count,
                                   " runs; UpdateGroup call -> COMPLETED; "
                                   "3 replaced, 2 destroyed, default policy"));
  report->AddDuration("update", "tutorial 5 -> 3 update (max)", s.max, "s");

  // The default policy (cattle: surge 1, none unavailable) replaces one member at a time and
  // waits for each replacement's health: 100 steps in a row.
  {
    const int size = options.heal_size;
    const std::string id = "rolling-100";
    BENCH_ASSIGN_OR_RETURN(const gv1::GroupSpec v1, Spec(id, size, kNoteV1));
    BENCH_ASSIGN_OR_RETURN(const gv1::GroupSpec v2, Spec(id, size, kNoteV2));
    gv1::WatchGroupRequest watch;
    *watch.mutable_spec() = v1;
    BENCH_RETURN_IF_ERROR(WithLogs(stack->group().WatchGroup(watch).status(), *stack));
    BENCH_RETURN_IF_ERROR(WithLogs(watcher->WaitForCount(size, kSmallWait).status(), *stack));
    BENCH_RETURN_IF_ERROR(WithLogs(stack->WaitConverged(id, size, kSmallWait).status(), *stack));
    watcher->ResetPeak();
    const CpuMeter cpu(*stack);
    const absl::Time start = absl::Now();
    absl::StatusOr<absl::Time> end = Update(*stack, v2);
    BENCH_RETURN_IF_ERROR(WithLogs(end.status(), *stack));
    const int peak = watcher->peak();
    report->Add(
        TargetRow("update", kRolling100, absl::ToDoubleSeconds(*end - start), "s", 0.3,
                  absl::StrCat("UpdateGroup call -> COMPLETED; ", size,
                               " replaced one at a time; peak ", peak, " files; ", cpu.Note())));
    BENCH_RETURN_IF_ERROR(WithLogs(DestroyAll(*stack, *watcher, id), *stack));
  }
  return absl::OkStatus();
}

absl::Status RunRpc(const Binaries& binaries, const BenchOptions& options, Report* report) {
  BENCH_ASSIGN_OR_RETURN(std::unique_ptr<Stack> stack, Stack::Start(binaries, options.stack));
  // PluginService.Info on the group's socket against a raw round trip of the same sizes,
  // measured now on the same machine, with the stack idle (no group: nothing else runs).
  {
    client::PluginClient plugin(stack->group_channel());
    const int warmup = std::max(1, options.rpc_calls / 10);
    std::vector<absl::Duration> info_samples;
    size_t response_bytes = 0;
    absl::Duration server_cpu;
    absl::Duration client_cpu;
    for (int i = 0; i < warmup + options.rpc_calls; ++i) {
      if (i == warmup) {
        BENCH_ASSIGN_OR_RETURN(const ProcessSample server, ReadProcessSample(stack->group_pid()));
        BENCH_ASSIGN_OR_RETURN(const ProcessSample client, ReadProcessSample(getpid()));
        server_cpu = -server.cpu;
        client_cpu = -client.cpu;
      }
      const absl::Time start = absl::Now();
      BENCH_ASSIGN_OR_RETURN(const infrakit::plugin::v1::InfoResponse info, plugin.Info());
      if (i >= warmup) info_samples.push_back(absl::Now() - start);
      response_bytes = info.ByteSizeLong();
    }
    {
      BENCH_ASSIGN_OR_RETURN(const ProcessSample server, ReadProcessSample(stack->group_pid()));
      BENCH_ASSIGN_OR_RETURN(const ProcessSample client, ReadProcessSample(getpid()));
      server_cpu += server.cpu;
      client_cpu += client.cpu;
    }
    // A round trip needs at least a byte each way (an InfoRequest serialises to nothing).
    const size_t request_bytes =
        std::max<size_t>(1, infrakit::plugin::v1::InfoRequest().ByteSizeLong());
    response_bytes = std::max<size_t>(1, response_bytes);
    BENCH_ASSIGN_OR_RETURN(
        std::unique_ptr<PongServer> pong,
        PongServer::Start(stack->Path("pong.sock"), request_bytes, response_bytes));
    BENCH_ASSIGN_OR_RETURN(std::vector<absl::Duration> raw_samples,
                           PingPong(stack->Path("pong.sock"), request_bytes, response_bytes, warmup,
                                    options.rpc_calls));
    const Summary info = Summarize(std::move(info_samples));
    const Summary raw = Summarize(std::move(raw_samples));
    const std::string calls = absl::StrCat(options.rpc_calls, " sequential calls");
    report->AddDuration("rpc", "Info p50", info.p50, "us", std::nullopt,
                        absl::StrCat(calls, ", PluginClient on the group's socket"));
    report->AddDuration("rpc", "Info p99", info.p99, "us");
    report->AddDuration("rpc", "raw ping-pong p50", raw.p50, "us", std::nullopt,
                        absl::StrCat(calls, ", ", request_bytes, " B out, ", response_bytes,
                                     " B back, unix stream socket, thread to thread"));
    report->AddDuration("rpc", "raw ping-pong p99", raw.p99, "us");
    report->Add(TargetRow("rpc", kInfoRatio, absl::FDivDuration(info.p50, raw.p50), "x", 10));
    report->Add(ValueRow("rpc", "Info p99 / raw p99", absl::FDivDuration(info.p99, raw.p99), "x"));
    report->AddDuration("rpc", "Info CPU per call, group service", server_cpu / options.rpc_calls,
                        "us", std::nullopt, "utime+stime over the timed calls");
    report->AddDuration("rpc", "Info CPU per call, client (this process)",
                        client_cpu / options.rpc_calls, "us");
  }

  return absl::OkStatus();
}

absl::Status RunMedium(const Binaries& binaries, const BenchOptions& options, Report* report) {
  BENCH_ASSIGN_OR_RETURN(std::unique_ptr<Stack> stack, Stack::Start(binaries, options.stack));
  BENCH_ASSIGN_OR_RETURN(std::unique_ptr<DirWatcher> watcher,
                         DirWatcher::Start(stack->instance_dir()));
  const int size = options.medium_size;
  const std::string id = "medium";
  const std::string policy = R"({"MaxSurge": "10%", "MaxUnavailable": 0})";
  BENCH_ASSIGN_OR_RETURN(const gv1::GroupSpec v1, Spec(id, size, kNoteV1, policy));
  BENCH_ASSIGN_OR_RETURN(const gv1::GroupSpec v2, Spec(id, size, kNoteV2, policy));

  // Convergence from empty.
  BENCH_RETURN_IF_ERROR(
      WithLogs(Converge(*stack, *watcher, v1, size, kConvergeMedium, 0.25, report), *stack));

  // Footprint at 1,000 (before the update, which surges above 1,000).
  BENCH_ASSIGN_OR_RETURN(const ProcessSample sample, ReadProcessSample(stack->group_pid()));
  report->Add(
      TargetRow("footprint", kRssMedium, Mib(sample.rss_kib), "MiB", kRssMediumLimitMiB, "VmRSS"));
  AddFootprintRows(Thousands(size), sample, report);

  BENCH_RETURN_IF_ERROR(AddDescribeRows(*stack, id, size, options, report));

  // The CLI, end to end: a process that dials the group, inspects, prints the table.
  {
    std::vector<absl::Duration> samples;
    for (int run = 0; run < options.cli_runs; ++run) {
      testing::PluginProcess cli(binaries.cli,
                                 {"--plugins-dir", stack->plugins_dir(), "group", "inspect", id},
                                 stack->plugins_dir());
      const absl::Time start = absl::Now();
      BENCH_RETURN_IF_ERROR(cli.Start());
      const int status = cli.Wait();
      samples.push_back(absl::Now() - start);
      const std::string out = cli.Stdout();
      const int64_t lines = std::count(out.begin(), out.end(), '\n');
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || lines < size) {
        return absl::InternalError(absl::StrCat("infrakitctl group inspect ", id, " ",
                                                testing::DescribeExit(status), " with ", lines,
                                                " lines of output; stderr: ", cli.Stderr()));
      }
    }
    report->AddDuration(
        "cli", absl::StrCat("infrakitctl group inspect ", Thousands(size)), Median(samples), "ms",
        std::nullopt,
        absl::StrCat("median of ", options.cli_runs, " runs, process start to exit, table output"));
  }

  // Rolling update of every member at 10% surge.
  {
    watcher->ResetPeak();
    const CpuMeter cpu(*stack);
    const absl::Time start = absl::Now();
    absl::StatusOr<absl::Time> end = Update(*stack, v2);
    BENCH_RETURN_IF_ERROR(WithLogs(end.status(), *stack));
    const int peak = watcher->peak();
    BENCH_RETURN_IF_ERROR(WithLogs(watcher->WaitForCount(size, kSmallWait).status(), *stack));
    report->Add(TargetRow("update", kRollingTime, absl::ToDoubleSeconds(*end - start), "s", 2,
                          absl::StrCat("UpdateGroup call -> COMPLETED; MaxSurge 10%, "
                                       "MaxUnavailable 0; ",
                                       cpu.Note())));
    report->Add(TargetRow("update", kRollingPeak, peak, "instances", size + (size + 9) / 10,
                          WatcherNote(*watcher, "files in the directory, every change seen")));
  }
  return absl::OkStatus();
}

absl::Status RunLarge(const Binaries& binaries, const BenchOptions& options, Report* report) {
  BENCH_ASSIGN_OR_RETURN(std::unique_ptr<Stack> stack, Stack::Start(binaries, options.stack));
  BENCH_ASSIGN_OR_RETURN(std::unique_ptr<DirWatcher> watcher,
                         DirWatcher::Start(stack->instance_dir()));
  const int size = options.large_size;
  const std::string id = "large";
  BENCH_ASSIGN_OR_RETURN(const gv1::GroupSpec spec, Spec(id, size, kNoteV1));

  BENCH_RETURN_IF_ERROR(
      WithLogs(Converge(*stack, *watcher, spec, size, kConvergeLarge, 2.5, report), *stack));

  // Idle: nothing changes; whatever the processes do now is the cost of managing the group
  // (the periodic safety resync included when the window spans one).
  absl::SleepFor(options.settle);
  const pid_t pids[3] = {stack->group_pid(), stack->instance_pid(), stack->flavor_pid()};
  ProcessSample before[3];
  for (int i = 0; i < 3; ++i) {
    BENCH_ASSIGN_OR_RETURN(before[i], ReadProcessSample(pids[i]));
  }
  const absl::Time window_start = absl::Now();
  absl::SleepFor(options.idle_window);
  ProcessSample after[3];
  for (int i = 0; i < 3; ++i) {
    BENCH_ASSIGN_OR_RETURN(after[i], ReadProcessSample(pids[i]));
  }
  const absl::Duration window = absl::Now() - window_start;
  auto percent = [&](int i) {
    return 100 * absl::FDivDuration(after[i].cpu - before[i].cpu, window);
  };
  const std::string window_note =
      absl::StrCat(absl::FormatDuration(window), " window starting ",
                   absl::FormatDuration(options.settle), " after convergence");
  report->Add(
      TargetRow("footprint", kRssLarge, Mib(after[0].rss_kib), "MiB", kRssLargeLimitMiB, "VmRSS"));
  AddFootprintRows(Thousands(size), after[0], report);
  report->Add(TargetRow("footprint", kIdleCpuLarge, percent(0), "% core", 1,
                        absl::StrCat(window_note, "; utime+stime")));
  report->Add(ValueRow("footprint", absl::StrCat("instance-file idle CPU at ", Thousands(size)),
                       percent(1), "% core"));
  report->Add(ValueRow("footprint", absl::StrCat("flavor-vanilla idle CPU at ", Thousands(size)),
                       percent(2), "% core"));
  report->Add(ValueRow("footprint", absl::StrCat("instance-file RSS at ", Thousands(size)),
                       Mib(after[1].rss_kib), "MiB"));

  BENCH_RETURN_IF_ERROR(AddDescribeRows(*stack, id, size, options, report));

  // Scale to zero.
  gv1::SetSizeRequest resize;
  resize.set_id(id);
  resize.set_size(0);
  const CpuMeter cpu(*stack);
  const absl::Time start = absl::Now();
  BENCH_RETURN_IF_ERROR(WithLogs(stack->group().SetSize(resize).status(), *stack));
  BENCH_ASSIGN_OR_RETURN(const absl::Time gone, watcher->WaitForCount(0, kLargeWait));
  BENCH_ASSIGN_OR_RETURN(const absl::Time converged, stack->WaitConverged(id, 0, kLargeWait));
  report->Add(ValueRow("converge", absl::StrCat(kScaleToZero, ": all files gone"),
                       absl::ToDoubleSeconds(gone - start), "s",
                       WatcherNote(*watcher, cpu.Note())));
  report->Add(TargetRow("converge", kScaleToZero, absl::ToDoubleSeconds(converged - start), "s",
                        2.5, "SetSize(0) call -> ListGroups reports converged"));
  return absl::OkStatus();
}

absl::Status RunHaScenario(const Binaries& binaries, const BenchOptions& options, Report* report) {
  HaOptions ha;
  ha.runs = options.ha_runs;
  ha.lease_ttl = options.ha_lease_ttl;
  ha.fenced_writes = options.fenced_writes;
  return RunHa(binaries, ha, report);
}

absl::Status RunProcessScenario(const Binaries& binaries, const BenchOptions& options,
                                Report* report) {
  return RunProcess(binaries, options.process_kills, options.stack.state_root, report);
}

// The idle scenario's targets: each plugin's idle RSS.
std::vector<Target> IdleTargets() {
  std::vector<Target> targets;
  for (const std::string& name : IdlePluginNames()) {
    targets.push_back({kIdleSection, IdleRssMetric(name), "MiB", kIdleRssLimitMiB});
  }
  return targets;
}

absl::Status RunReadersOf(const Binaries& binaries, const BenchOptions& options, Report* report) {
  ReadersOptions readers;
  readers.size = options.large_size;
  readers.reader_counts = options.reader_counts;
  readers.runs = options.reader_runs;
  readers.pause = options.reader_pause;
  readers.deadline = options.reader_deadline;
  readers.stack = options.stack;
  return RunReaders(binaries, readers, report);
}

// The readers scenario's targets, for the default reader counts.
std::vector<Target> ReaderTargets() {
  std::vector<Target> targets;
  for (int readers : BenchOptions().reader_counts) {
    for (const char* rpc : {"ListGroups", "InspectGroup", "Describe"}) {
      targets.push_back({kReadersSection, ReaderP99Metric(readers, rpc), "ms", kReaderP99LimitMs});
    }
    targets.push_back({kReadersSection, ReaderErrorsMetric(readers), "calls", 0});
    targets.push_back({kReadersSection, ReaderSlowdownMetric(readers), "x", kReaderSlowdownLimit});
  }
  return targets;
}

absl::Status RunIdleScenario(const Binaries& binaries, const BenchOptions& options,
                             Report* report) {
  return RunIdle(binaries, options.idle_runs, report);
}

}  // namespace

const std::vector<Scenario>& Scenarios() {
  static const std::vector<Scenario>* const scenarios = new std::vector<Scenario>{
      {"idle",
       "every plugin binary's memory doing nothing: each alone in a fresh plugins directory, "
       "after its first Info",
       IdleTargets(), &RunIdleScenario},
      {"heal",
       "heal latency in a group of 100: rm an instance's file, time until its replacement's "
       "file exists",
       {{"heal", kHealP50, "ms", 5}, {"heal", kHealP99, "ms", 20}},
       &RunHeal},
      {"tutorial",
       "the tutorial's rolling update: 5 instances -> 3 on a changed config; then a group of "
       "100 updated with the default policy (one at a time)",
       {{"update", kTutorialUpdate, "s", 0.2}, {"update", kRolling100, "s", 0.3}},
       &RunTutorial},
      {"rpc",
       "unary PluginService.Info on the group's socket against a raw unix-socket ping-pong of "
       "the same sizes",
       {{"rpc", kInfoRatio, "x", 10}},
       &RunRpc},
      {"medium",
       "a group of 1,000: convergence from empty, footprint, Describe, infrakitctl group "
       "inspect, rolling update at 10% surge",
       {{"converge", kConvergeMedium, "s", 0.25},
        {"footprint", kRssMedium, "MiB", kRssMediumLimitMiB},
        {"update", kRollingTime, "s", 2},
        {"update", kRollingPeak, "instances", 1100}},
       &RunMedium},
      {"large",
       "a group of 10,000: convergence from empty, idle footprint, Describe, scale to 0",
       {{"converge", kConvergeLarge, "s", 2.5},
        {"footprint", kRssLarge, "MiB", kRssLargeLimitMiB},
        {"footprint", kIdleCpuLarge, "% core", 1},
        {"converge", kScaleToZero, "s", 2.5}},
       &RunLarge},
      {"zookeeper",
       "a real 3-member ZooKeeper ensemble (instance-process, flavor-zookeeper): watch to a "
       "serving ensemble, the leader's kill -9 to quorum and to rejoined, a rolling update and "
       "its longest outage",
       {},
       &RunZookeeper,
       /*only_when_named=*/true},
      {"swarm",
       "a real Docker swarm of 3 managers + 2 workers (instance-process, flavor-swarm, private "
       "dockerd): watch to a formed swarm, a worker's kill -9 to its replacement Ready and the "
       "dead node removed, a rolling update of the managers and its samples without a quorum",
       {},
       &RunSwarm,
       /*only_when_named=*/true},
      {"process",
       "1,000 real processes under instance-process (exec sleep 3600, flavor-vanilla): watch to "
       "1,000 members and RUNNING, kill -9 to the replacement's process exec'd, DestroyGroup to "
       "no process left",
       {{kProcessSection, kConvergeProcesses, "s", 2},
        {kProcessSection, kKillReplaceP50, "ms", 5},
        {kProcessSection, "instance processes left after DestroyGroup", "processes", 0}},
       &RunProcessScenario,
       /*only_when_named=*/true},
      {"ha",
       "three group services (--store etcd://) on a real 3-member etcd: the leader's kill -9 to "
       "another leading and to the new leader's first action, repeated; the cost of a fenced "
       "write (EtcdStore::Put) against a plain etcd put",
       {},
       &RunHaScenario,
       /*only_when_named=*/true},
      {"readers",
       "read latency under load: a group of 10,000 converges from empty while N concurrent "
       "clients (--reader_counts, each on its own connections) call ListGroups, InspectGroup "
       "and Describe; the same convergence without readers is the baseline",
       ReaderTargets(), &RunReadersOf,
       /*only_when_named=*/true},
  };
  return *scenarios;
}

absl::Status RunScenario(const Scenario& scenario, const Binaries& binaries,
                         const BenchOptions& options, Report* report) {
  const absl::Status status = scenario.run(binaries, options, report);
  if (status.ok()) return status;
  for (const Target& target : scenario.targets) {
    const bool measured =
        std::any_of(report->rows().begin(), report->rows().end(), [&](const Row& row) {
          return row.section == target.section && row.metric == target.metric;
        });
    if (!measured) {
      // The first line only: the full error (with the processes' logs) is the return value.
      const absl::string_view message = status.message();
      report->AddFailure(
          target.section, target.metric, target.unit, target.limit,
          absl::Status(status.code(),
                       absl::StrCat("not measured: ", message.substr(0, message.find('\n')))));
    }
  }
  return status;
}

}  // namespace infrakit::tools::bench
