// A fixed set of threads that run blocking work handed over by gRPC reactors.
//
// gRPC's callback API runs reactions on a small set of library threads; a plugin core may block
// (file I/O, spawning processes, health probes), so the service adapters hand each core call to
// this pool and finish the reactor from here. The pool bounds both the threads and the backlog,
// so a flood of calls is refused (Submit fails) instead of eating memory.
//
// Threads start when work finds no free one, up to the bound, and then stay: an idle plugin
// has no pool threads (each costs ~40 KiB resident: its stack and its copy of glog's
// thread-local message buffer; docs/benchmarks.md).
#ifndef INFRAKIT_COMMON_WORKER_POOL_H_
#define INFRAKIT_COMMON_WORKER_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace infrakit::common {

class WorkerPool {
 public:
  // At most `threads` (>= 1) threads, started as work comes; at most `max_queued` tasks wait
  // for a thread.
  WorkerPool(int threads, size_t max_queued);

  // Stops accepting tasks, runs every task already accepted, then joins the threads. Tasks that
  // finish gRPC reactors therefore always run, which server shutdown waits for.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` to run on a pool thread. Errors (the task is dropped and the caller does the
  // fallback itself): RESOURCE_EXHAUSTED when the backlog is full, UNAVAILABLE while the pool is
  // being destroyed. Thread-safe; never blocks for long (on the queue's mutex, and starting a
  // thread when none is free).
  absl::Status Submit(std::function<void()> task);

  // Queues `task` past the backlog bound: for small clean-up work that must happen (releasing a
  // watch subscription) and must not run on the caller's thread. If the pool has already
  // stopped all its threads, runs `task` on the calling thread instead. Thread-safe.
  void SubmitAlways(std::function<void()> task);

 private:
  void Run();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts a thread when a queued task finds none free and the bound allows one more.
  void StartThreadIfNeededLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_threads_;
  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Threads started and not yet returned; of them, those waiting for work.
  int live_threads_ ABSL_GUARDED_BY(mu_) = 0;
  int idle_threads_ ABSL_GUARDED_BY(mu_) = 0;
  // Every thread started; only added to (under mu_) before stopping_, joined by the destructor.
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_WORKER_POOL_H_
