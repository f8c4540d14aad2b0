// The machine a benchmark ran on, stated beside its numbers.
#ifndef INFRAKIT_TOOLS_BENCH_MACHINE_H_
#define INFRAKIT_TOOLS_BENCH_MACHINE_H_

#include <cstdint>
#include <string>

namespace infrakit::tools::bench {

struct MachineInfo {
  // Online CPUs (nproc).
  int cpus = 0;
  // /proc/cpuinfo "model name" of the first CPU ("unknown" when absent, e.g. on some ARM).
  std::string cpu_model;
  // uname: "Linux 6.1.0-18-amd64 x86_64".
  std::string kernel;
  // /proc/meminfo MemTotal, in KiB.
  int64_t memory_kib = 0;
  // /proc/loadavg: the 1-, 5- and 15-minute load averages.
  double load1 = 0;
  double load5 = 0;
  double load15 = 0;
};

// Reads the machine's description. Fields that cannot be read keep their defaults (zero or
// "unknown"): a benchmark still runs on a machine that hides some of /proc. Thread-safe.
MachineInfo ReadMachineInfo();

// Reads /proc/loadavg: the 1-minute load average, or -1 when unreadable. Thread-safe.
double ReadLoad1();

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_MACHINE_H_
