#include "common/worker_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace infrakit::common {

WorkerPool::WorkerPool(int threads, size_t max_queued)
    : max_threads_(threads < 1 ? 1 : threads), max_queued_(max_queued) {}

WorkerPool::~WorkerPool() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // No thread starts once stopping_ is set.
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

void WorkerPool::StartThreadIfNeededLocked() {
  if (stopping_ || static_cast<size_t>(idle_threads_) >= queue_.size() ||
      live_threads_ >= max_threads_) {
    return;
  }
  // Under the lock so that the destructor sees every thread; starting one does not wait for
  // anything (tens of microseconds).
  threads_.emplace_back([this] { Run(); });
  ++live_threads_;
}

absl::Status WorkerPool::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("server is stopping");
  if (queue_.size() >= max_queued_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("server busy: ", queue_.size(), " calls already waiting for a worker"));
  }
  queue_.push_back(std::move(task));
  StartThreadIfNeededLocked();
  return absl::OkStatus();
}

void WorkerPool::SubmitAlways(std::function<void()> task) {
  {
    absl::MutexLock lock(&mu_);
    // A live thread re-checks the queue under this mutex before it exits, so the task runs.
    if (!stopping_ || live_threads_ > 0) {
      queue_.push_back(std::move(task));
      StartThreadIfNeededLocked();
      return;
    }
  }
  task();
}

bool WorkerPool::HasWorkOrStopping() const { return stopping_ || !queue_.empty(); }

void WorkerPool::Run() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      ++idle_threads_;
      mu_.Await(absl::Condition(this, &WorkerPool::HasWorkOrStopping));
      --idle_threads_;
      // Accepted tasks still run during destruction: they finish reactors.
      if (queue_.empty()) {
        --live_threads_;
        return;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace infrakit::common
