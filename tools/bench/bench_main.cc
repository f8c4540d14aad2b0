// bench: the benchmark of docs/design.md's quality bars. Runs the real plugin binaries on real
// sockets in temporary plugins directories, prints a table of the figures with their targets
// (PASS / MISS) and the machine, and writes the same as JSON.
//
//   bazel run -c opt //tools/bench -- --out=bench.json
//
// See docs/benchmarks.md for what each figure means and the latest results.
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/bench/machine.h"
#include "tools/bench/report.h"
#include "tools/bench/scenarios.h"
#include "tools/bench/stack.h"
#include "tools/bench/swarm_scenario.h"

ABSL_FLAG(std::string, out, "",
          "Also write the results as JSON to this file (relative to the directory bazel run "
          "was started from)");
ABSL_FLAG(std::vector<std::string>, only, {},
          "Run only these scenarios (comma-separated): idle, heal, tutorial, rpc, medium, large; "
          "zookeeper, swarm, process, ha and readers run only when named here");
ABSL_FLAG(int, idle_runs, 3, "Times each binary is started idle (the median RSS is reported)");
ABSL_FLAG(std::string, binaries_dir, "",
          "Measure the binaries of this tree (at their package paths, e.g. the output of `bazel "
          "info -c opt --define=infrakit_link=shared bazel-bin`) instead of the bench's own");
ABSL_FLAG(int, heal_removals, 120, "Removals timed by the heal scenario (>= 100 for p99)");
ABSL_FLAG(int, process_kills, 20, "kill -9s timed by the process scenario");
ABSL_FLAG(int, tutorial_runs, 5, "Runs of the tutorial's 5 -> 3 update");
ABSL_FLAG(int, medium_size, 1000, "Size of the medium group");
ABSL_FLAG(int, large_size, 10000, "Size of the large group");
ABSL_FLAG(int, rpc_calls, 5000, "Timed calls per RPC figure");
ABSL_FLAG(int, cli_runs, 7, "Runs of infrakitctl group inspect");
ABSL_FLAG(int, ha_runs, 5, "ha: failovers timed (kill -9 of the leading group service)");
ABSL_FLAG(absl::Duration, ha_lease_ttl, absl::Seconds(3),
          "ha: the group services' --etcd-lease-ttl (whole seconds)");
ABSL_FLAG(int, fenced_writes, 1000, "ha: fenced and plain etcd writes timed");
ABSL_FLAG(absl::Duration, idle_window, absl::Seconds(10),
          "How long the idle footprint of the large group is measured");
ABSL_FLAG(std::vector<std::string>, group_flags, {},
          "Extra flags for the group service (comma-separated), e.g. --max-parallel=32");
ABSL_FLAG(std::vector<std::string>, instance_file_flags, {},
          "Extra flags for instance-file (comma-separated), e.g. --spare-files=0");
ABSL_FLAG(std::string, instances_root, "",
          "Make instance-file's directories under this directory (e.g. /dev/shm) instead of in "
          "the temporary plugins directory under /tmp");
ABSL_FLAG(std::string, state_root, "",
          "Make the group service's state directory under this directory (e.g. /dev/shm) instead "
          "of in the temporary plugins directory under /tmp (scenarios on the shared stack)");
ABSL_FLAG(int, repeat, 1,
          "Run the selected scenarios this many times, one after another (each on fresh "
          "processes): each figure is then the median of the runs, with their spread and each "
          "run's load");
ABSL_FLAG(std::vector<std::string>, reader_counts, (std::vector<std::string>{"50", "100"}),
          "readers scenario: the numbers of concurrent readers measured (comma-separated)");
ABSL_FLAG(int, reader_runs, 3,
          "readers scenario: runs of each measurement (medians, pooled samples)");
ABSL_FLAG(absl::Duration, reader_pause, absl::Milliseconds(100),
          "readers scenario: each reader's pause between two calls (0: back to back)");
ABSL_FLAG(absl::Duration, reader_deadline, absl::Seconds(5),
          "readers scenario: each read's deadline (slower calls count as DEADLINE_EXCEEDED)");
ABSL_FLAG(double, max_load, 0,
          "Before starting, wait until the 1-minute load average is below this (0: do not wait)");
ABSL_FLAG(absl::Duration, max_load_wait, absl::Minutes(30),
          "Give up waiting for --max_load after this long (and run anyway, saying so)");

namespace {

using infrakit::tools::bench::BenchOptions;
using infrakit::tools::bench::Binaries;
using infrakit::tools::bench::MergeRuns;
using infrakit::tools::bench::Report;
using infrakit::tools::bench::Scenario;

// `bazel run` starts the program in its runfiles; files named by the user are relative to
// where the user was.
std::string UserPath(const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  const char* dir = getenv("BUILD_WORKING_DIRECTORY");
  if (dir == nullptr || *dir == '\0') return path;
  return absl::StrCat(dir, "/", path);
}

// "/tmp (ext4)": where instance files are made and on what kind of filesystem.
// For ext4: whether the filesystem holding `dir` has a journal, which changes what creating and
// deleting files costs (without one, the inode allocator skips recently deleted inodes). Known
// from the kernel's jbd2 entries ("/proc/fs/jbd2/<device>-8"); "" when it cannot tell.
std::string Ext4Journal(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return "";
  std::error_code error;
  const std::filesystem::path device = std::filesystem::read_symlink(
      absl::StrCat("/sys/dev/block/", major(st.st_dev), ":", minor(st.st_dev)), error);
  if (error) return "";
  const std::string name = device.filename().string();
  std::filesystem::directory_iterator journals("/proc/fs/jbd2", error);
  if (error) return "";
  for (const auto& entry : journals) {
    if (absl::StartsWith(entry.path().filename().string(), name + "-")) return " with a journal";
  }
  return " without a journal";
}

std::string InstancesLocation(const std::string& root) {
  const std::string dir = root.empty() ? "/tmp" : root;
  struct statfs fs;
  std::string type = "unknown filesystem";
  if (statfs(dir.c_str(), &fs) == 0) {
    switch (fs.f_type) {
      case EXT4_SUPER_MAGIC:
        type = absl::StrCat("ext4", Ext4Journal(dir));
        break;
      case TMPFS_MAGIC:
        type = "tmpfs";
        break;
      case XFS_SUPER_MAGIC:
        type = "xfs";
        break;
      case BTRFS_SUPER_MAGIC:
        type = "btrfs";
        break;
      default:
        type = absl::StrCat("filesystem magic 0x", absl::Hex(fs.f_type));
    }
  }
  return absl::StrCat(dir, " (", type, ")");
}

void WaitForLoad(double max_load, absl::Duration max_wait) {
  if (max_load <= 0) return;
  const absl::Time deadline = absl::Now() + max_wait;
  for (;;) {
    const double load = infrakit::tools::bench::ReadLoad1();
    if (load < max_load) return;
    if (absl::Now() >= deadline) {
      std::cerr << "bench: load average still " << load << " after "
                << absl::FormatDuration(max_wait) << "; running anyway\n";
      return;
    }
    std::cerr << "bench: load average " << load << " >= " << max_load << ", waiting\n";
    absl::SleepFor(absl::Seconds(15));
  }
}

// Whether every --only name is a scenario and the counts are sane; says why not on stderr.
bool FlagsAreValid(const std::vector<std::string>& only) {
  for (const std::string& name : only) {
    bool known = false;
    for (const Scenario& scenario : infrakit::tools::bench::Scenarios()) {
      known = known || scenario.name == name;
    }
    if (!known) {
      std::cerr << "bench: --only: unknown scenario \"" << name
                << "\" (known: idle, heal, tutorial, rpc, medium, large, zookeeper, swarm, "
                   "process, ha, readers)\n";
      return false;
    }
  }
  if (absl::GetFlag(FLAGS_heal_removals) < 1 || absl::GetFlag(FLAGS_process_kills) < 1 ||
      absl::GetFlag(FLAGS_tutorial_runs) < 1 || absl::GetFlag(FLAGS_rpc_calls) < 1 ||
      absl::GetFlag(FLAGS_cli_runs) < 1 || absl::GetFlag(FLAGS_idle_runs) < 1 ||
      absl::GetFlag(FLAGS_medium_size) < 1 || absl::GetFlag(FLAGS_large_size) < 1 ||
      absl::GetFlag(FLAGS_repeat) < 1 || absl::GetFlag(FLAGS_reader_runs) < 1) {
    std::cerr << "bench: counts and sizes must be >= 1\n";
    return false;
  }
  for (const std::string& count : absl::GetFlag(FLAGS_reader_counts)) {
    int readers = 0;
    if (!absl::SimpleAtoi(count, &readers) || readers < 1) {
      std::cerr << "bench: --reader_counts: \"" << count << "\" is not a number >= 1\n";
      return false;
    }
  }
  return true;
}

BenchOptions OptionsFromFlags() {
  BenchOptions options;
  options.heal_removals = absl::GetFlag(FLAGS_heal_removals);
  options.process_kills = absl::GetFlag(FLAGS_process_kills);
  options.tutorial_runs = absl::GetFlag(FLAGS_tutorial_runs);
  options.medium_size = absl::GetFlag(FLAGS_medium_size);
  options.large_size = absl::GetFlag(FLAGS_large_size);
  options.rpc_calls = absl::GetFlag(FLAGS_rpc_calls);
  options.cli_runs = absl::GetFlag(FLAGS_cli_runs);
  options.ha_runs = absl::GetFlag(FLAGS_ha_runs);
  options.ha_lease_ttl = absl::GetFlag(FLAGS_ha_lease_ttl);
  options.fenced_writes = absl::GetFlag(FLAGS_fenced_writes);
  options.idle_runs = absl::GetFlag(FLAGS_idle_runs);
  options.idle_window = absl::GetFlag(FLAGS_idle_window);
  options.reader_counts.clear();
  for (const std::string& count : absl::GetFlag(FLAGS_reader_counts)) {
    int readers = 0;
    if (absl::SimpleAtoi(count, &readers)) options.reader_counts.push_back(readers);
  }
  options.reader_runs = absl::GetFlag(FLAGS_reader_runs);
  options.reader_pause = absl::GetFlag(FLAGS_reader_pause);
  options.reader_deadline = absl::GetFlag(FLAGS_reader_deadline);
  options.stack.group_flags = absl::GetFlag(FLAGS_group_flags);
  options.stack.instance_file_flags = absl::GetFlag(FLAGS_instance_file_flags);
  options.stack.instances_root = absl::GetFlag(FLAGS_instances_root);
  options.stack.state_root = absl::GetFlag(FLAGS_state_root);
  return options;
}

// Runs the scenarios --only selects (else every one not run only when named) into `report`;
// returns how many could not run.
int RunScenarios(const std::vector<std::string>& only, const Binaries& binaries,
                 const BenchOptions& options, Report* report) {
  int failed = 0;
  for (const Scenario& scenario : infrakit::tools::bench::Scenarios()) {
    const bool named = std::find(only.begin(), only.end(), scenario.name) != only.end();
    if (only.empty() ? scenario.only_when_named : !named) continue;
    std::cerr << "bench: " << scenario.name << ": " << scenario.description << "\n";
    const absl::Time start = absl::Now();
    const absl::Status status =
        infrakit::tools::bench::RunScenario(scenario, binaries, options, report);
    if (!status.ok()) {
      ++failed;
      std::cerr << "bench: " << scenario.name << " FAILED: " << status << "\n";
    } else {
      std::cerr << "bench: " << scenario.name << " done in "
                << absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1)))
                << "\n";
    }
  }
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Benchmarks the InfraKit binaries (heal, convergence, rolling updates, RPC, footprint, "
      "CLI) against the quality bars of docs/design.md.\n  bazel run -c opt //tools/bench -- "
      "--out=bench.json");
  // As in every plugin (services/runtime InitPlugin): Debian's Abseil leaves Mutex deadlock
  // detection on, which would add its global bookkeeping to the client side of every RPC timed.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() > 1) {
    std::cerr << "bench: unexpected argument " << args[1] << "\n";
    return 2;
  }
  const std::vector<std::string> only = absl::GetFlag(FLAGS_only);
  if (!FlagsAreValid(only)) return 2;
  // The swarm's engines need network and mount namespaces of their own: the whole benchmark
  // re-runs in new ones (once; nothing has started yet).
  if (std::find(only.begin(), only.end(), "swarm") != only.end()) {
    infrakit::tools::bench::ReRunInOwnNamespacesForSwarm(argv);
  }
  const std::string binaries_dir = UserPath(absl::GetFlag(FLAGS_binaries_dir));
  absl::StatusOr<Binaries> binaries = infrakit::tools::bench::FindBinaries(argv[0], binaries_dir);
  if (!binaries.ok()) {
    std::cerr << "bench: " << binaries.status() << "\n";
    return 1;
  }
  const BenchOptions options = OptionsFromFlags();
  WaitForLoad(absl::GetFlag(FLAGS_max_load), absl::GetFlag(FLAGS_max_load_wait));

  const int repeat = absl::GetFlag(FLAGS_repeat);
  std::vector<Report> runs;
  int failed = 0;
  for (int i = 0; i < repeat; ++i) {
    if (repeat > 1) std::cerr << "bench: run " << i + 1 << " of " << repeat << "\n";
    Report& run = runs.emplace_back();
    run.SetContext(absl::StrJoin(argv, argv + argc, " "),
                   infrakit::tools::bench::ReadMachineInfo());
    run.AddContext(
        absl::StrCat("instance files: ", InstancesLocation(options.stack.instances_root)));
    run.AddContext(absl::StrCat("group state: ", InstancesLocation(options.stack.state_root)));
    if (!binaries_dir.empty()) run.AddContext(absl::StrCat("binaries: ", binaries_dir));
    run.AddContext(
        absl::StrCat("group service flags: ", options.stack.group_flags.empty()
                                                  ? "(defaults)"
                                                  : absl::StrJoin(options.stack.group_flags, " ")));
    if (!options.stack.instance_file_flags.empty()) {
      run.AddContext(absl::StrCat("instance-file flags: ",
                                  absl::StrJoin(options.stack.instance_file_flags, " ")));
    }
    failed += RunScenarios(only, *binaries, options, &run);
    run.SetEndLoad(infrakit::tools::bench::ReadLoad1());
  }
  const Report report = repeat == 1 ? std::move(runs.front()) : MergeRuns(runs);

  std::cout << report.Table() << std::flush;
  const std::string out = UserPath(absl::GetFlag(FLAGS_out));
  if (!out.empty()) {
    std::ofstream file(out);
    file << report.Json();
    file.close();
    if (!file) {
      std::cerr << "bench: cannot write " << out << "\n";
      return 1;
    }
    std::cerr << "bench: wrote " << out << "\n";
  }
  // Missed targets are results, not failures; a scenario that could not run is.
  return failed == 0 ? 0 : 1;
}
