#include "plugins/instance/process/watch_hub.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace infrakit::plugins::instance::process {

struct WatchHub::Watcher {
  Watcher(const v1::WatchRequest& request, spi::instance::WatchSink* sink)
      : filter(request.tags()), include_properties(request.include_properties()), sink(sink) {}

  const TagMap filter;
  const bool include_properties;
  spi::instance::WatchSink* const sink;
  // Guarded by Core::mu. Cancelled: the handle is gone. Done: OnDone was called.
  bool cancelled = false;
  bool done = false;
};

struct WatchHub::Core {
  absl::Mutex mu;
  std::vector<std::shared_ptr<Watcher>> watchers ABSL_GUARDED_BY(mu);
  std::deque<std::pair<std::shared_ptr<Watcher>, v1::WatchResponse>> queue ABSL_GUARDED_BY(mu);
  // The watcher whose sink is being called, so that its handle can wait for the call to end.
  const Watcher* delivering ABSL_GUARDED_BY(mu) = nullptr;
  bool stopping ABSL_GUARDED_BY(mu) = false;

  void Enqueue(const std::shared_ptr<Watcher>& watcher, v1::EventType type,
               const v1::Description* instance) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    v1::WatchResponse event;
    event.set_type(type);
    if (instance != nullptr) {
      v1::Description* copy = event.mutable_instance();
      *copy = *instance;
      if (!watcher->include_properties) {
        copy->clear_spec();
        copy->clear_properties();
      }
    }
    queue.emplace_back(watcher, std::move(event));
  }
};

class WatchHub::Handle : public spi::instance::WatchHandle {
 public:
  Handle(std::shared_ptr<Core> core, std::shared_ptr<Watcher> watcher)
      : core_(std::move(core)), watcher_(std::move(watcher)) {}

  ~Handle() override {
    absl::MutexLock lock(&core_->mu);
    watcher_->cancelled = true;
    auto& watchers = core_->watchers;
    watchers.erase(std::remove(watchers.begin(), watchers.end(), watcher_), watchers.end());
    // Its queued events are skipped by the dispatcher; a call in progress is waited for.
    const Watcher* self = watcher_.get();
    Core* core = core_.get();
    auto idle = [core, self]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(core->mu) { return core->delivering != self; };
    core_->mu.Await(absl::Condition(&idle));
  }

 private:
  const std::shared_ptr<Core> core_;
  const std::shared_ptr<Watcher> watcher_;
};

bool TagsMatch(const WatchHub::TagMap& filter, const WatchHub::TagMap& tags) {
  for (const auto& [key, value] : filter) {
    auto it = tags.find(key);
    if (it == tags.end() || it->second != value) return false;
  }
  return true;
}

WatchHub::WatchHub() : core_(std::make_shared<Core>()) {
  dispatcher_ = std::thread([this] { Dispatch(); });
}

WatchHub::~WatchHub() {
  {
    absl::MutexLock lock(&core_->mu);
    core_->stopping = true;
  }
  dispatcher_.join();
  std::vector<std::shared_ptr<Watcher>> remaining;
  {
    absl::MutexLock lock(&core_->mu);
    core_->queue.clear();
    remaining.swap(core_->watchers);
  }
  const absl::Status status = absl::UnavailableError("instance-process plugin stopping");
  for (const std::shared_ptr<Watcher>& watcher : remaining) {
    {
      absl::MutexLock lock(&core_->mu);
      if (watcher->cancelled) continue;
      watcher->done = true;
      core_->delivering = watcher.get();
    }
    watcher->sink->OnDone(status);
    absl::MutexLock lock(&core_->mu);
    core_->delivering = nullptr;
  }
}

std::unique_ptr<spi::instance::WatchHandle> WatchHub::Add(
    const v1::WatchRequest& request, spi::instance::WatchSink* sink,
    const std::vector<const v1::Description*>& current) {
  auto watcher = std::make_shared<Watcher>(request, sink);
  {
    absl::MutexLock lock(&core_->mu);
    for (const v1::Description* instance : current) {
      if (TagsMatch(watcher->filter, instance->tags())) {
        core_->Enqueue(watcher, v1::EVENT_TYPE_ADDED, instance);
      }
    }
    core_->Enqueue(watcher, v1::EVENT_TYPE_SYNCED, nullptr);
    core_->watchers.push_back(watcher);
  }
  return std::make_unique<Handle>(core_, std::move(watcher));
}

void WatchHub::Added(const v1::Description& instance) {
  Publish(nullptr, instance, v1::EVENT_TYPE_ADDED);
}

void WatchHub::Changed(const TagMap& old_tags, const v1::Description& instance) {
  Publish(&old_tags, instance, v1::EVENT_TYPE_CHANGED);
}

void WatchHub::Removed(const v1::Description& instance) {
  Publish(nullptr, instance, v1::EVENT_TYPE_REMOVED);
}

void WatchHub::Publish(const TagMap* old_tags, const v1::Description& instance,
                       v1::EventType type) {
  absl::MutexLock lock(&core_->mu);
  for (const std::shared_ptr<Watcher>& watcher : core_->watchers) {
    const bool now = TagsMatch(watcher->filter, instance.tags());
    if (type != v1::EVENT_TYPE_CHANGED) {
      if (now) core_->Enqueue(watcher, type, &instance);
      continue;
    }
    const bool before = TagsMatch(watcher->filter, *old_tags);
    if (before && now) {
      core_->Enqueue(watcher, v1::EVENT_TYPE_CHANGED, &instance);
    } else if (now) {
      core_->Enqueue(watcher, v1::EVENT_TYPE_ADDED, &instance);
    } else if (before) {
      core_->Enqueue(watcher, v1::EVENT_TYPE_REMOVED, &instance);
    }
  }
}

void WatchHub::Dispatch() {
  Core* core = core_.get();
  auto ready = [core]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(core->mu) {
    return core->stopping || !core->queue.empty();
  };
  absl::MutexLock lock(&core->mu);
  for (;;) {
    core->mu.Await(absl::Condition(&ready));
    if (core->stopping) return;
    std::shared_ptr<Watcher> watcher = std::move(core->queue.front().first);
    v1::WatchResponse event = std::move(core->queue.front().second);
    core->queue.pop_front();
    if (watcher->cancelled || watcher->done) continue;
    core->delivering = watcher.get();
    core->mu.Unlock();
    watcher->sink->OnEvent(event);
    core->mu.Lock();
    core->delivering = nullptr;
  }
}

}  // namespace infrakit::plugins::instance::process
