#include "services/group/testing/manual_executor.h"

#include <utility>

namespace infrakit::services::group::testing {

ManualExecutor::~ManualExecutor() { Clear(); }

void ManualExecutor::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(task));
}

bool ManualExecutor::RunOne() {
  std::function<void()> task;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.empty()) return false;
    task = std::move(queue_.front());
    queue_.pop_front();
  }
  task();
  return true;
}

int ManualExecutor::RunAll(const std::function<void()>& after_each, int limit) {
  int ran = 0;
  while (RunOne()) {
    ++ran;
    if (after_each) after_each();
    if (ran >= limit) return -1;
  }
  return ran;
}

int ManualExecutor::pending() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

void ManualExecutor::Clear() {
  std::deque<std::function<void()>> dropped;
  {
    absl::MutexLock lock(&mu_);
    dropped.swap(queue_);
  }
}

}  // namespace infrakit::services::group::testing
