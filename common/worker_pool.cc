#include "common/worker_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace infrakit::common {

WorkerPool::WorkerPool(int threads, size_t max_queued) : max_queued_(max_queued) {
  if (threads < 1) threads = 1;
  {
    absl::MutexLock lock(&mu_);
    live_threads_ = threads;
  }
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

absl::Status WorkerPool::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("server is stopping");
  if (queue_.size() >= max_queued_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("server busy: ", queue_.size(), " calls already waiting for a worker"));
  }
  queue_.push_back(std::move(task));
  return absl::OkStatus();
}

void WorkerPool::SubmitAlways(std::function<void()> task) {
  {
    absl::MutexLock lock(&mu_);
    // A live thread re-checks the queue under this mutex before it exits, so the task runs.
    if (live_threads_ > 0) {
      queue_.push_back(std::move(task));
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
      mu_.Await(absl::Condition(this, &WorkerPool::HasWorkOrStopping));
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
