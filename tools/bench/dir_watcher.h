// Watches a directory of instance files with inotify and timestamps every change as it happens,
// so the benchmark measures heals and convergence from the files themselves, not from what the
// plugins say about them.
#ifndef INFRAKIT_TOOLS_BENCH_DIR_WATCHER_H_
#define INFRAKIT_TOOLS_BENCH_DIR_WATCHER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace infrakit::tools::bench {

// Tracks the entries of one directory whose names do not start with '.' (instance-file writes
// dot-prefixed temporary files and links them to their final name: those are never instances).
// One thread reads inotify and applies each batch of events under a mutex, stamping it with the
// time the batch was read; waiters wake on the mutex's condition, never by polling.
//
// Thread-safe. Should the kernel's inotify queue overflow (IN_Q_OVERFLOW), the watcher rescans
// the directory and overflowed() becomes true: counts stay right, but a peak between two
// readings or the time of a creation may then have been missed.
class DirWatcher {
 public:
  // Starts watching `dir` (which must exist) and lists what is already there. Errors: the
  // errno's code when inotify or the directory cannot be opened.
  static absl::StatusOr<std::unique_ptr<DirWatcher>> Start(const std::string& dir);

  // Stops the thread.
  ~DirWatcher();

  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;

  // Entries present now.
  int count() const;
  // The largest count since Start or the last ResetPeak.
  int peak() const;
  // Makes the peak the current count.
  void ResetPeak();
  // Entries that have appeared since Start (a sequence number: the next creation is number
  // creations()). Entries present at Start are not creations.
  int64_t creations() const;
  // The names present now, in no particular order.
  std::vector<std::string> Names() const;
  // Whether the inotify queue overflowed at some point (see the class comment).
  bool overflowed() const;

  // Waits until count() == n, at most `timeout`. Returns the time of the change that made the
  // count n (earlier than the call when it already was n). DEADLINE_EXCEEDED (with the count
  // reached) otherwise.
  absl::StatusOr<absl::Time> WaitForCount(int n, absl::Duration timeout) const;

  // Waits until creation number `sequence` (see creations()) has happened, at most `timeout`,
  // and returns the time it was seen. DEADLINE_EXCEEDED otherwise.
  absl::StatusOr<absl::Time> WaitForCreation(int64_t sequence, absl::Duration timeout) const;

  // Waits until an entry named `name` is present, at most `timeout`. Returns when: at once
  // when it already is. DEADLINE_EXCEEDED otherwise.
  absl::Status WaitForName(const std::string& name, absl::Duration timeout) const;

 private:
  DirWatcher(std::string dir, int inotify_fd, int wake_fd);

  void Loop();
  // Applies one buffer of events read at `now`.
  void Apply(const char* buffer, size_t length, absl::Time now);
  // Replaces the set by a fresh listing (at start, and after an overflow). New names count as
  // creations when `as_creations`.
  absl::Status Rescan(absl::Time now, bool as_creations);
  void AddLocked(const std::string& name, absl::Time now, bool is_creation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveLocked(const std::string& name, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const int inotify_fd_;
  const int wake_fd_;  // eventfd that stops Loop
  std::thread thread_;

  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> names_ ABSL_GUARDED_BY(mu_);
  int peak_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time count_changed_at_ ABSL_GUARDED_BY(mu_);
  // When each creation was seen, by sequence number.
  std::vector<absl::Time> creation_times_ ABSL_GUARDED_BY(mu_);
  bool overflowed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_DIR_WATCHER_H_
