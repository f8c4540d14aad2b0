#include "tools/bench/idle_scenario.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/proc_stats.h"

namespace infrakit::tools::bench {
namespace {

// How long an idle plugin runs after its first Info answer before its RSS is read.
constexpr absl::Duration kIdleSettle = absl::Seconds(1);
constexpr absl::Duration kReadyDeadline = absl::Seconds(30);

struct IdlePlugin {
  std::string name;
  std::string binary;
  // Flags beyond --plugins-dir; "@" stands for a data directory inside the plugins directory.
  std::vector<std::string> flags;
};

std::vector<IdlePlugin> IdlePlugins(const Binaries& b) {
  return {{"group", b.group, {"--state-dir", "@"}},
          {"instance-file", b.instance_file, {"--dir", "@"}},
          {"instance-process", b.instance_process, {"--dir", "@"}},
          {"flavor-vanilla", b.flavor_vanilla, {}},
          {"flavor-zookeeper", b.flavor_zookeeper, {}},
          {"flavor-swarm", b.flavor_swarm, {}}};
}

// Starts `plugin` alone in a fresh plugins directory, waits for its socket, lets it settle and
// reads its figures.
absl::StatusOr<ProcessSample> IdleSample(const IdlePlugin& plugin) {
  testing::TempDir dir;
  std::vector<std::string> args = {"--plugins-dir", dir.path()};
  for (const std::string& flag : plugin.flags) {
    args.push_back(flag == "@" ? dir.Join("data") : flag);
  }
  testing::PluginProcess process(plugin.binary, args, dir.path());
  if (absl::Status s = process.Start(); !s.ok()) return s;
  const std::string socket = dir.Join(absl::StrCat(plugin.name, ".sock"));
  if (absl::Status s = process.WaitReady(socket, kReadyDeadline); !s.ok()) return s;
  absl::SleepFor(kIdleSettle);
  return ReadProcessSample(process.pid());
}

double Mib(int64_t kib) { return kib / 1024.0; }

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// "3 runs: 8.1-8.4 MiB" (or "1 run").
std::string Spread(const std::vector<double>& values) {
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  if (values.size() == 1) return "1 run";
  return absl::StrFormat("%d runs: %.1f-%.1f MiB", values.size(), *low, *high);
}

absl::Status MeasurePlugin(const IdlePlugin& plugin, int runs, Report* report) {
  std::vector<double> rss;
  ProcessSample last;
  for (int i = 0; i < runs; ++i) {
    absl::StatusOr<ProcessSample> sample = IdleSample(plugin);
    if (!sample.ok()) {
      return absl::Status(sample.status().code(),
                          absl::StrCat(plugin.name, ": ", sample.status().message()));
    }
    rss.push_back(Mib(sample->rss_kib));
    last = *sample;
  }
  Row row;
  row.section = kIdleSection;
  row.metric = IdleRssMetric(plugin.name);
  row.value = Median(rss);
  row.unit = "MiB";
  row.limit = kIdleRssLimitMiB;
  row.note =
      absl::StrFormat("VmRSS, median of %s; last run: anon %.1f MiB, PSS %.1f MiB, %d threads",
                      Spread(rss), Mib(last.anon_rss_kib), Mib(last.pss_kib), last.threads);
  report->Add(std::move(row));
  return absl::OkStatus();
}

}  // namespace

std::string IdleRssMetric(const std::string& name) { return absl::StrCat(name, " RSS idle"); }

std::vector<std::string> IdlePluginNames() {
  std::vector<std::string> names;
  for (const IdlePlugin& plugin : IdlePlugins(Binaries{})) names.push_back(plugin.name);
  return names;
}

absl::Status RunIdle(const Binaries& binaries, int runs, Report* report) {
  runs = std::max(1, runs);
  for (const IdlePlugin& plugin : IdlePlugins(binaries)) {
    if (absl::Status s = MeasurePlugin(plugin, runs, report); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace infrakit::tools::bench
