#include "tools/bench/readers_scenario.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/config/group_config.h"
#include "infrakit/group/v1/group.pb.h"
#include "tools/bench/machine.h"
#include "tools/bench/proc_stats.h"
#include "tools/bench/reader_load.h"
#include "tools/bench/stats.h"

namespace infrakit::tools::bench {
namespace {

namespace gv1 = ::infrakit::group::v1;

constexpr absl::Duration kConvergeWait = absl::Seconds(600);
constexpr char kGroupId[] = "readers";

absl::StatusOr<gv1::GroupSpec> ReadersSpec(int size) {
  return client::config::ParseGroupConfig(absl::StrCat(R"({
    "ID": ")",
                                                       kGroupId, R"(",
    "Properties": {
        "Instance": {"Plugin": "instance-file", "Properties": {"Note": "read under load"}},
        "Flavor": {
            "Plugin": "flavor-vanilla",
            "Properties": {
                "Size": )",
                                                       size, R"(,
                "UserData": ["sudo apt-get update -y", "sudo service nginx start"],
                "Labels": {"tier": "web", "project": "infrakit"}
            }
        }
    }
})"));
}

// One convergence from empty on a fresh stack, with `readers` readers (0: none) calling from
// the WatchGroup call to the convergence seen.
struct Measurement {
  absl::Duration converge;
  double load1 = 0;
  // CPU used by the group service and instance-file during it.
  absl::Duration group_cpu;
  absl::Duration instance_cpu;
  // CPU used by the readers (this process): on a 2-core machine they compete with the stack.
  absl::Duration client_cpu;
  ReaderLoadResult reads;
};

absl::Duration Cpu(pid_t pid) {
  absl::StatusOr<ProcessSample> sample = ReadProcessSample(pid);
  return sample.ok() ? sample->cpu : absl::ZeroDuration();
}

absl::StatusOr<Measurement> Measure(const Binaries& binaries, const ReadersOptions& options,
                                    int readers) {
  absl::StatusOr<std::unique_ptr<Stack>> started = Stack::Start(binaries, options.stack);
  if (!started.ok()) return started.status();
  Stack& stack = **started;
  absl::StatusOr<gv1::GroupSpec> spec = ReadersSpec(options.size);
  if (!spec.ok()) return spec.status();
  std::unique_ptr<ReaderLoad> load;
  if (readers > 0) {
    ReaderLoadOptions o;
    o.readers = readers;
    o.group_socket = stack.group_socket();
    o.instance_socket = stack.instance_socket();
    o.group_id = kGroupId;
    o.deadline = options.deadline;
    o.pause = options.pause;
    absl::StatusOr<std::unique_ptr<ReaderLoad>> made = ReaderLoad::Start(std::move(o));
    if (!made.ok()) return made.status();
    load = *std::move(made);
  }
  Measurement m;
  m.load1 = ReadLoad1();
  const absl::Duration group_cpu = Cpu(stack.group_pid());
  const absl::Duration instance_cpu = Cpu(stack.instance_pid());
  const absl::Duration client_cpu = Cpu(getpid());
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = *spec;
  const absl::Time start = absl::Now();
  if (absl::Status s = stack.group().WatchGroup(watch).status(); !s.ok()) return s;
  if (load != nullptr) load->Go();
  absl::StatusOr<absl::Time> converged = stack.WaitConverged(kGroupId, options.size, kConvergeWait);
  if (load != nullptr) m.reads = load->Stop();
  if (!converged.ok()) {
    return absl::Status(converged.status().code(),
                        absl::StrCat(converged.status().message(), stack.LogTails()));
  }
  m.converge = *converged - start;
  m.group_cpu = Cpu(stack.group_pid()) - group_cpu;
  m.instance_cpu = Cpu(stack.instance_pid()) - instance_cpu;
  m.client_cpu = Cpu(getpid()) - client_cpu;
  std::cerr << absl::StrFormat(
      "bench: readers: %d readers: converged in %.2f s (load %.2f, CPU group %.2f s, "
      "instance-file %.2f s, readers %.2f s), %d reads, %d errors\n",
      readers, absl::ToDoubleSeconds(m.converge), m.load1, absl::ToDoubleSeconds(m.group_cpu),
      absl::ToDoubleSeconds(m.instance_cpu), absl::ToDoubleSeconds(m.client_cpu),
      m.reads.of(ReadRpc::kListGroups).calls + m.reads.of(ReadRpc::kInspectGroup).calls +
          m.reads.of(ReadRpc::kDescribe).calls,
      m.reads.error_count());
  return m;
}

// "median 1.42 s (1.38 .. 1.51 s; load 0.9, 1.2, 1.1)".
std::string ConvergeNote(const std::vector<Measurement>& runs) {
  std::vector<double> seconds;
  std::vector<std::string> loads;
  for (const Measurement& m : runs) {
    seconds.push_back(absl::ToDoubleSeconds(m.converge));
    loads.push_back(absl::StrFormat("%.2f", m.load1));
  }
  std::sort(seconds.begin(), seconds.end());
  return absl::StrFormat("%d runs, %.2f .. %.2f s; load at start: %s", runs.size(), seconds.front(),
                         seconds.back(), absl::StrJoin(loads, ", "));
}

absl::Duration MedianConverge(const std::vector<Measurement>& runs) {
  std::vector<absl::Duration> samples;
  for (const Measurement& m : runs) samples.push_back(m.converge);
  return Median(samples);
}

void AddReaderRows(int readers, const std::vector<Measurement>& runs, absl::Duration baseline,
                   const ReadersOptions& options, Report* report) {
  const std::string label = absl::StrCat(readers, " readers");
  ReaderLoadResult all;
  absl::Duration window;
  absl::Duration group_cpu, instance_cpu, client_cpu;
  for (const Measurement& m : runs) {
    window += m.reads.window;
    group_cpu += m.group_cpu;
    instance_cpu += m.instance_cpu;
    client_cpu += m.client_cpu;
    for (int i = 0; i < kReadRpcs; ++i) {
      ReadRpcResult& into = all.rpcs[i];
      const ReadRpcResult& from = m.reads.rpcs[i];
      into.calls += from.calls;
      into.latencies.insert(into.latencies.end(), from.latencies.begin(), from.latencies.end());
      for (const auto& [code, count] : from.errors) into.errors[code] += count;
      for (const auto& [code, message] : from.first_error) into.first_error.emplace(code, message);
    }
  }
  for (int i = 0; i < kReadRpcs; ++i) {
    const ReadRpc rpc = static_cast<ReadRpc>(i);
    const std::string name = ReadRpcName(rpc);
    const Summary s = Summarize(all.of(rpc).latencies);
    report->AddDuration(
        kReadersSection, absl::StrCat(label, ": ", name, " p50"), s.p50, "ms", std::nullopt,
        absl::StrFormat("%d calls over %d runs, %.0f calls/s; first page, default size%s", s.count,
                        runs.size(), s.count / std::max(1e-9, absl::ToDoubleSeconds(window)),
                        name == "ListGroups" ? "" : " (500)"));
    report->AddDuration(kReadersSection, absl::StrCat(label, ": ", name, " p95"), s.p95, "ms");
    report->AddDuration(kReadersSection, ReaderP99Metric(readers, name), s.p99, "ms",
                        absl::Milliseconds(kReaderP99LimitMs));
    report->AddDuration(kReadersSection, absl::StrCat(label, ": ", name, " max"), s.max, "ms");
  }
  Row errors;
  errors.section = kReadersSection;
  errors.metric = ReaderErrorsMetric(readers);
  errors.value = static_cast<double>(all.error_count());
  errors.unit = "calls";
  errors.limit = 0;
  errors.note = all.error_count() == 0
                    ? absl::StrCat("deadline ", absl::FormatDuration(options.deadline))
                    : all.ErrorSummary();
  report->Add(errors);
  int64_t deadline_exceeded = 0;
  for (const ReadRpcResult& rpc : all.rpcs) deadline_exceeded += rpc.deadline_exceeded();
  Row deadlines;
  deadlines.section = kReadersSection;
  deadlines.metric = absl::StrCat(label, ": DEADLINE_EXCEEDED");
  deadlines.value = static_cast<double>(deadline_exceeded);
  deadlines.unit = "calls";
  deadlines.limit = 0;
  report->Add(deadlines);
  const absl::Duration converge = MedianConverge(runs);
  report->AddDuration(
      kReadersSection, absl::StrCat("converge ", options.size, " with ", label, " (median)"),
      converge, "s", std::nullopt,
      absl::StrCat(ConvergeNote(runs),
                   absl::StrFormat("; CPU per run: group %.2f s, instance-file "
                                   "%.2f s, readers %.2f s",
                                   absl::ToDoubleSeconds(group_cpu) / runs.size(),
                                   absl::ToDoubleSeconds(instance_cpu) / runs.size(),
                                   absl::ToDoubleSeconds(client_cpu) / runs.size())));
  Row slowdown;
  slowdown.section = kReadersSection;
  slowdown.metric = ReaderSlowdownMetric(readers);
  slowdown.value = absl::FDivDuration(converge, baseline);
  slowdown.unit = "x";
  slowdown.limit = kReaderSlowdownLimit;
  slowdown.note = "median with readers / median without";
  report->Add(slowdown);
}

}  // namespace

std::string ReaderP99Metric(int readers, const std::string& rpc) {
  return absl::StrCat(readers, " readers: ", rpc, " p99");
}
std::string ReaderErrorsMetric(int readers) { return absl::StrCat(readers, " readers: errors"); }
std::string ReaderSlowdownMetric(int readers) {
  return absl::StrCat(readers, " readers: converge slowdown");
}

absl::Status RunReaders(const Binaries& binaries, const ReadersOptions& options, Report* report) {
  // runs[0]: no readers; runs[1 + i]: options.reader_counts[i] readers.
  std::vector<std::vector<Measurement>> runs(1 + options.reader_counts.size());
  for (int run = 0; run < options.runs; ++run) {
    for (size_t i = 0; i < runs.size(); ++i) {
      const int readers = i == 0 ? 0 : options.reader_counts[i - 1];
      absl::StatusOr<Measurement> m = Measure(binaries, options, readers);
      if (!m.ok()) return m.status();
      runs[i].push_back(*std::move(m));
    }
  }
  const absl::Duration baseline = MedianConverge(runs[0]);
  report->AddDuration(kReadersSection,
                      absl::StrCat("converge ", options.size, " without readers (median)"),
                      baseline, "s", std::nullopt,
                      absl::StrCat(ConvergeNote(runs[0]),
                                   "; WatchGroup call -> ListGroups "
                                   "reports converged, fresh stack each"));
  for (size_t i = 1; i < runs.size(); ++i) {
    AddReaderRows(options.reader_counts[i - 1], runs[i], baseline, options, report);
  }
  return absl::OkStatus();
}

}  // namespace infrakit::tools::bench
