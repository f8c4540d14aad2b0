// What a process costs, read from /proc: memory, CPU time, threads and file descriptors.
#ifndef INFRAKIT_TOOLS_BENCH_PROC_STATS_H_
#define INFRAKIT_TOOLS_BENCH_PROC_STATS_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace infrakit::tools::bench {

// One reading of a process.
struct ProcessSample {
  // Resident set size now and its peak (/proc/<pid>/status VmRSS, VmHWM), in KiB.
  int64_t rss_kib = 0;
  int64_t peak_rss_kib = 0;
  // The anonymous part of the RSS (/proc/<pid>/status RssAnon): the process's own heap and
  // stacks, as opposed to pages of files (shared libraries) it maps.
  int64_t anon_rss_kib = 0;
  // Proportional set size (/proc/<pid>/smaps_rollup Pss): shared pages divided among the
  // processes that map them. -1 when the kernel does not provide it.
  int64_t pss_kib = -1;
  // User + system CPU time used so far (/proc/<pid>/stat utime + stime).
  absl::Duration cpu;
  // Threads (/proc/<pid>/status Threads).
  int threads = 0;
  // Open file descriptors (entries of /proc/<pid>/fd).
  int fds = 0;
};

// Reads `pid`'s figures. Errors: NOT_FOUND when the process is gone, the errno's code when a
// /proc file cannot be read (e.g. PERMISSION_DENIED for another user's fds), INTERNAL when a
// file does not have the expected shape. Thread-safe.
absl::StatusOr<ProcessSample> ReadProcessSample(pid_t pid);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_PROC_STATS_H_
