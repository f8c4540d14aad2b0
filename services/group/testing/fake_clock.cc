#include "services/group/testing/fake_clock.h"

#include <algorithm>

namespace infrakit::services::group::testing {

absl::Time FakeClock::Now() {
  absl::MutexLock lock(&mu_);
  return now_;
}

TimerId FakeClock::Schedule(absl::Time when, std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  TimerId id = next_id_++;
  timers_.emplace(std::make_pair(when, id), std::move(fn));
  deadlines_[id] = when;
  return id;
}

void FakeClock::Cancel(TimerId id) {
  absl::MutexLock lock(&mu_);
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  deadlines_.erase(it);
}

int FakeClock::FireDue() {
  int fired = 0;
  for (;;) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      if (timers_.empty() || timers_.begin()->first.first > now_) return fired;
      auto it = timers_.begin();
      fn = std::move(it->second);
      deadlines_.erase(it->first.second);
      timers_.erase(it);
    }
    fn();
    ++fired;
  }
}

int FakeClock::Advance(absl::Duration d) {
  absl::Time end;
  {
    absl::MutexLock lock(&mu_);
    end = now_ + d;
  }
  int fired = 0;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (timers_.empty() || timers_.begin()->first.first > end) {
        now_ = std::max(now_, end);
        return fired;
      }
      now_ = std::max(now_, timers_.begin()->first.first);
    }
    fired += FireDue();
  }
}

int FakeClock::Jump(absl::Duration d) {
  {
    absl::MutexLock lock(&mu_);
    now_ += std::max(d, absl::ZeroDuration());
  }
  return FireDue();
}

bool FakeClock::AdvanceToNextTimer() {
  {
    absl::MutexLock lock(&mu_);
    if (timers_.empty()) return false;
    now_ = std::max(now_, timers_.begin()->first.first);
  }
  FireDue();
  return true;
}

absl::Time FakeClock::NextDeadline() {
  absl::MutexLock lock(&mu_);
  return timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first.first;
}

int FakeClock::pending() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(timers_.size());
}

}  // namespace infrakit::services::group::testing
