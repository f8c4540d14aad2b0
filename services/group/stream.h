// An ordered, cancellable stream of callbacks delivered on an Executor: how the controller
// hands update progress and group events to its subscribers without ever calling them under
// its lock or inside the call that produced them.
#ifndef INFRAKIT_SERVICES_GROUP_STREAM_H_
#define INFRAKIT_SERVICES_GROUP_STREAM_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/group/executor.h"

namespace infrakit::services::group {

// Items pushed are delivered to `on_item` in order, one at a time, on the executor; End()
// delivers `on_end` after the items queued before it. Cancel() stops all delivery.
//
// Threading: Push/End/Cancel are thread-safe and never call the callbacks themselves, so they
// may be called under a lock (the stream's own mutex is taken after it).
template <typename T>
class Stream : public std::enable_shared_from_this<Stream<T>> {
 public:
  Stream(std::function<void(const T&)> on_item, std::function<void(const absl::Status&)> on_end,
         Executor* executor)
      : on_item_(std::move(on_item)), on_end_(std::move(on_end)), executor_(executor) {}

  // Queues an item. Ignored after End or Cancel.
  void Push(T item) {
    absl::MutexLock lock(&mu_);
    if (cancelled_ || end_queued_) return;
    queue_.push_back(std::move(item));
    ScheduleLocked();
  }

  // Queues the end; nothing is delivered after it. Ignored after End or Cancel.
  void End(absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (cancelled_ || end_queued_) return;
    end_queued_ = true;
    end_status_ = std::move(status);
    ScheduleLocked();
  }

  // Stops delivery. Once it returns no callback runs, unless called from inside a callback of
  // this stream (then none runs after that one returns).
  void Cancel() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    queue_.clear();
    if (running_ && runner_ != std::this_thread::get_id()) {
      mu_.Await(absl::Condition(
          +[](bool* running) { return !*running; }, &running_));
    }
  }

  // End or Cancel was called: the stream takes nothing more.
  bool closed() {
    absl::MutexLock lock(&mu_);
    return cancelled_ || end_queued_;
  }

 private:
  void ScheduleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (scheduled_) return;
    scheduled_ = true;
    executor_->Post([self = this->shared_from_this()] { self->Drain(); });
  }

  void Drain() {
    absl::MutexLock lock(&mu_);
    running_ = true;
    runner_ = std::this_thread::get_id();
    for (;;) {
      if (cancelled_) break;
      if (!queue_.empty()) {
        T item = std::move(queue_.front());
        queue_.pop_front();
        mu_.Unlock();
        on_item_(item);
        mu_.Lock();
        continue;
      }
      if (end_queued_ && !end_delivered_) {
        end_delivered_ = true;
        absl::Status status = end_status_;
        mu_.Unlock();
        if (on_end_) on_end_(status);
        mu_.Lock();
      }
      break;
    }
    running_ = false;
    runner_ = std::thread::id();
    scheduled_ = false;
  }

  const std::function<void(const T&)> on_item_;
  const std::function<void(const absl::Status&)> on_end_;
  Executor* const executor_;

  absl::Mutex mu_;
  std::deque<T> queue_ ABSL_GUARDED_BY(mu_);
  bool end_queued_ ABSL_GUARDED_BY(mu_) = false;
  bool end_delivered_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status end_status_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool scheduled_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::thread::id runner_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_STREAM_H_
