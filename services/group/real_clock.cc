#include "services/group/real_clock.h"

#include <utility>

namespace infrakit::services::group {

RealClock::RealClock() = default;

RealClock::~RealClock() {
  std::thread thread;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    thread.swap(thread_);
  }
  if (thread.joinable()) thread.join();
}

absl::Time RealClock::Now() { return absl::Now(); }

TimerId RealClock::Schedule(absl::Time when, std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  TimerId id = next_id_++;
  timers_.emplace(std::make_pair(when, id), std::move(fn));
  deadlines_[id] = when;
  return id;
}

void RealClock::Cancel(TimerId id) {
  absl::MutexLock lock(&mu_);
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  deadlines_.erase(it);
}

void RealClock::Loop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    // Wakes on a new earlier timer, on stop, or at the earliest deadline.
    absl::Time first = timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first.first;
    auto changed = [this, first]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || (!timers_.empty() && timers_.begin()->first.first < first);
    };
    mu_.AwaitWithDeadline(absl::Condition(&changed), first);
    if (stopping_) return;
    if (timers_.empty() || timers_.begin()->first.first > absl::Now()) continue;
    auto it = timers_.begin();
    std::function<void()> fn = std::move(it->second);
    deadlines_.erase(it->first.second);
    timers_.erase(it);
    mu_.Unlock();
    fn();
    mu_.Lock();
  }
}

}  // namespace infrakit::services::group
