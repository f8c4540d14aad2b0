// Reading what the kernel says about a process from /proc/<pid>/stat.
//
// instance-process identifies a process by (pid, start time): pids are reused, but a pid
// together with the moment its process started (field 22 of /proc/<pid>/stat, in clock ticks
// since boot) names one process for the life of the machine.
#ifndef INFRAKIT_PLUGINS_INSTANCE_PROCESS_PROC_STAT_H_
#define INFRAKIT_PLUGINS_INSTANCE_PROCESS_PROC_STAT_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace infrakit::plugins::instance::process {

// The fields of /proc/<pid>/stat that supervision needs.
struct ProcStat {
  pid_t pid = 0;
  // Field 3: R, S, D, T, Z (zombie: dead but not reaped), X (dead), ...
  char state = '?';
  pid_t ppid = 0;
  // Process group (field 5) and session (field 6).
  pid_t pgrp = 0;
  pid_t session = 0;
  // Field 22: when the process started, in clock ticks since boot.
  uint64_t start_time = 0;

  // False for zombies and dead tasks: the process has exited even if its pid still exists.
  bool alive() const { return state != 'Z' && state != 'X'; }
};

// Parses the text of a /proc/<pid>/stat file. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from its last ')'. INVALID_ARGUMENT for malformed text.
// Thread-safe (pure).
absl::StatusOr<ProcStat> ParseProcStat(absl::string_view text);

// Reads /proc/<pid>/stat. NOT_FOUND when there is no such process (zombies still exist);
// INTERNAL for other read errors. Thread-safe.
absl::StatusOr<ProcStat> ReadProcStat(pid_t pid);

// The living (non-zombie) members of process group `pgid`, found by scanning /proc: O(processes
// on the machine). Processes that vanish during the scan are skipped. Thread-safe.
std::vector<pid_t> LiveProcessGroupMembers(pid_t pgid);

// The living processes whose environment holds `entry` ("NAME=value", matched whole), found by
// scanning /proc/<pid>/environ: O(processes on the machine). Processes that vanish during the
// scan, zombies (no environment left) and processes whose environment this process may not read
// (another user's) are skipped. Thread-safe.
std::vector<pid_t> ProcessesWithEnvironmentEntry(absl::string_view entry);

// This boot of the machine's ID (/proc/sys/kernel/random/boot_id, a random UUID the kernel
// draws at boot): a record naming another boot describes processes that are all gone, whose
// pids and process group ids may belong to anything now. INTERNAL when it cannot be read.
// Thread-safe.
absl::StatusOr<std::string> ReadBootId();

}  // namespace infrakit::plugins::instance::process

#endif  // INFRAKIT_PLUGINS_INSTANCE_PROCESS_PROC_STAT_H_
