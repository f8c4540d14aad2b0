// When terraform runs: the debounce, coalescing and retry logic of instance-terraform, apart
// from what a run does, so that it is tested with a fake clock and executor.
//
// A change (Notify) starts a window of `debounce`; the changes arriving within it join it, and
// when it ends one run starts on the executor. One run at a time: changes arriving during a run
// make one more run, a window after it ends. A failed run is retried after a backoff (doubling
// from `min_backoff` up to `max_backoff`), or sooner, a window after the next change.
#ifndef INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_APPLY_LOOP_H_
#define INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_APPLY_LOOP_H_

#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/group/clock.h"
#include "services/group/executor.h"

namespace infrakit::plugins::instance::terraform {

class ApplyLoop {
 public:
  struct Options {
    absl::Duration debounce = absl::Milliseconds(200);
    absl::Duration min_backoff = absl::Seconds(1);
    absl::Duration max_backoff = absl::Minutes(1);
  };

  // `run` performs one run and says whether it succeeded; it is called on `executor`, never
  // twice at once, and may block (it runs terraform). `clock` and `executor` must outlive the
  // loop.
  ApplyLoop(services::group::Clock* clock, services::group::Executor* executor, Options options,
            std::function<bool()> run);
  // Shuts down if Shutdown was not called.
  ~ApplyLoop();

  ApplyLoop(const ApplyLoop&) = delete;
  ApplyLoop& operator=(const ApplyLoop&) = delete;

  // Something changed: a run will follow (see above). Thread-safe; never blocks, so it may be
  // called with the caller's locks held, and from inside `run`. Ignored after Shutdown.
  void Notify();

  // No run starts after this; waits for the run under way, if any, to finish (a run posted and
  // not started does nothing when the executor gets to it, which it must do while the loop
  // lives, or drop it). Must not be called from inside `run`. Idempotent.
  void Shutdown();

  // Runs started so far. Thread-safe.
  int64_t runs();
  // Runs in a row that failed (0 after a success). Thread-safe.
  int failures();

 private:
  // Arms the timer for `when` unless one is armed for no later.
  void ArmLocked(absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The timer of `generation` fired: posts the run.
  void Fire(uint64_t generation);
  void RunOnce();

  services::group::Clock* const clock_;
  services::group::Executor* const executor_;
  const Options options_;
  const std::function<bool()> run_;

  absl::Mutex mu_;
  services::group::TimerId timer_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time timer_when_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  // Counts the timers armed: a timer that fires after being replaced is ignored.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // A run is posted or under way.
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  // `run` is executing.
  bool in_run_ ABSL_GUARDED_BY(mu_) = false;
  // A change arrived while running_.
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  int64_t runs_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace infrakit::plugins::instance::terraform

#endif  // INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_APPLY_LOOP_H_
