#include "plugins/instance/terraform/apply_loop.h"

#include <algorithm>
#include <memory>
#include <utility>

namespace infrakit::plugins::instance::terraform {

ApplyLoop::ApplyLoop(services::group::Clock* clock, services::group::Executor* executor,
                     Options options, std::function<bool()> run)
    : clock_(clock), executor_(executor), options_(options), run_(std::move(run)) {}

ApplyLoop::~ApplyLoop() { Shutdown(); }

void ApplyLoop::Notify() {
  absl::MutexLock lock(&mu_);
  if (shutdown_) return;
  if (running_) {
    dirty_ = true;
    return;
  }
  ArmLocked(clock_->Now() + options_.debounce);
}

void ApplyLoop::ArmLocked(absl::Time when) {
  if (timer_ != 0) {
    if (timer_when_ <= when) return;  // An earlier window (or retry) covers this change.
    clock_->Cancel(timer_);
  }
  timer_when_ = when;
  const uint64_t generation = ++generation_;
  timer_ = clock_->Schedule(when, [this, generation] { Fire(generation); });
}

void ApplyLoop::Fire(uint64_t generation) {
  {
    absl::MutexLock lock(&mu_);
    // Cancelled or replaced meanwhile.
    if (shutdown_ || generation != generation_ || timer_ == 0 || running_) return;
    timer_ = 0;
    timer_when_ = absl::InfiniteFuture();
    running_ = true;
  }
  executor_->Post([this] { RunOnce(); });
}

void ApplyLoop::RunOnce() {
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_) {
      running_ = false;
      return;
    }
    dirty_ = false;
    in_run_ = true;
    ++runs_;
  }
  const bool ok = run_();
  absl::MutexLock lock(&mu_);
  running_ = false;
  in_run_ = false;
  if (shutdown_) return;
  failures_ = ok ? 0 : failures_ + 1;
  if (dirty_) {
    dirty_ = false;
    ArmLocked(clock_->Now() + options_.debounce);
  } else if (!ok) {
    absl::Duration backoff = options_.min_backoff;
    for (int i = 1; i < failures_ && backoff < options_.max_backoff; ++i) backoff *= 2;
    ArmLocked(clock_->Now() + std::min(backoff, options_.max_backoff));
  }
}

void ApplyLoop::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  if (timer_ != 0) clock_->Cancel(timer_);
  timer_ = 0;
  ++generation_;
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !in_run_; };
  mu_.Await(absl::Condition(&idle));
}

int64_t ApplyLoop::runs() {
  absl::MutexLock lock(&mu_);
  return runs_;
}

int ApplyLoop::failures() {
  absl::MutexLock lock(&mu_);
  return failures_;
}

}  // namespace infrakit::plugins::instance::terraform
