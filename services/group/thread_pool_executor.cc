#include "services/group/thread_pool_executor.h"

#include <utility>

namespace infrakit::services::group {

ThreadPoolExecutor::ThreadPoolExecutor(int threads) : max_threads_(threads < 1 ? 1 : threads) {}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  std::deque<std::function<void()>> dropped;
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    dropped.swap(queue_);
    // No thread starts once stopping_ is set.
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
  // Destroyed outside the lock: a task's captures may post (and find the pool stopping).
  dropped.clear();
}

void ThreadPoolExecutor::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  queue_.push_back(std::move(task));
  StartThreadIfNeededLocked();
}

void ThreadPoolExecutor::StartThreadIfNeededLocked() {
  if (static_cast<size_t>(idle_threads_) >= queue_.size() ||
      threads_.size() >= static_cast<size_t>(max_threads_)) {
    return;
  }
  // Under the lock so that the destructor sees every thread; starting one does not wait for
  // anything (tens of microseconds).
  threads_.emplace_back([this] { Loop(); });
}

void ThreadPoolExecutor::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      ++idle_threads_;
      mu_.Await(absl::Condition(&ready));
      --idle_threads_;
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace infrakit::services::group
