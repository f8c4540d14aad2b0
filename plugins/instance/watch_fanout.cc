#include "plugins/instance/watch_fanout.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/message_differencer.h"

namespace infrakit::plugins::instance {
namespace {

namespace v1 = ::infrakit::instance::v1;

v1::WatchResponse Event(v1::EventType type, v1::Description instance) {
  v1::WatchResponse event;
  event.set_type(type);
  *event.mutable_instance() = std::move(instance);
  return event;
}

}  // namespace

bool TagsMatch(const TagMap& filter, const TagMap& tags) {
  for (const auto& [key, value] : filter) {
    auto it = tags.find(key);
    if (it == tags.end() || it->second != value) return false;
  }
  return true;
}

v1::Description View(const v1::Description& instance, bool include_properties) {
  if (include_properties) return instance;
  v1::Description view;
  ViewInto(instance, include_properties, &view);
  return view;
}

void ViewInto(const v1::Description& instance, bool include_properties, v1::Description* out) {
  if (include_properties) {
    *out = instance;
    return;
  }
  out->set_id(instance.id());
  out->set_logical_id(instance.logical_id());
  *out->mutable_tags() = instance.tags();
  out->set_state(instance.state());
}

// One open watch.
struct WatchFanout::Watcher {
  Watcher(const v1::WatchRequest& request, spi::instance::WatchSink* sink)
      : filter(request.tags()), include_properties(request.include_properties()), sink(sink) {}

  const TagMap filter;
  const bool include_properties;
  spi::instance::WatchSink* const sink;
  // Guarded by Core::mu. False once the handle is gone or OnDone was called: no call starts.
  bool active = true;
  // Guarded by Core::mu. Sink calls under way; the handle waits until there are none.
  int calls = 0;
};

// What the handles share with the fan-out, which they may outlive.
struct WatchFanout::Core {
  absl::Mutex mu;
  std::vector<std::shared_ptr<Watcher>> watchers ABSL_GUARDED_BY(mu);
  // Events waiting for the dispatcher (kDispatcherThread only).
  std::deque<std::pair<std::shared_ptr<Watcher>, v1::WatchResponse>> queue ABSL_GUARDED_BY(mu);
  bool stopping ABSL_GUARDED_BY(mu) = false;

  // Calls `watcher`'s sink with `event` unless the watch has ended, without holding mu.
  void Deliver(Watcher* watcher, const v1::WatchResponse& event) ABSL_LOCKS_EXCLUDED(mu) {
    {
      absl::MutexLock lock(&mu);
      if (!watcher->active) return;
      ++watcher->calls;
    }
    watcher->sink->OnEvent(event);
    absl::MutexLock lock(&mu);
    --watcher->calls;
  }

  // Ends `watcher` for good and waits for its calls under way. Requires mu.
  void Deactivate(Watcher* watcher) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    watcher->active = false;
    auto idle = [watcher]() { return watcher->calls == 0; };
    mu.Await(absl::Condition(&idle));
  }
};

class WatchFanout::Handle : public spi::instance::WatchHandle {
 public:
  Handle(std::shared_ptr<Core> core, std::shared_ptr<Watcher> watcher)
      : core_(std::move(core)), watcher_(std::move(watcher)) {}

  ~Handle() override {
    absl::MutexLock lock(&core_->mu);
    auto& watchers = core_->watchers;
    watchers.erase(std::remove(watchers.begin(), watchers.end(), watcher_), watchers.end());
    // Its queued events are skipped; a call in progress is waited for.
    core_->Deactivate(watcher_.get());
  }

 private:
  const std::shared_ptr<Core> core_;
  const std::shared_ptr<Watcher> watcher_;
};

WatchFanout::WatchFanout(Delivery delivery) : delivery_(delivery), core_(std::make_shared<Core>()) {
  if (delivery_ == Delivery::kDispatcherThread) dispatcher_ = std::thread([this] { Dispatch(); });
}

WatchFanout::~WatchFanout() { Shutdown(absl::UnavailableError("watches stopping")); }

std::unique_ptr<spi::instance::WatchHandle> WatchFanout::Subscribe(
    const v1::WatchRequest& request, spi::instance::WatchSink* sink,
    const std::vector<const v1::Description*>& current) {
  auto watcher = std::make_shared<Watcher>(request, sink);
  std::vector<v1::WatchResponse> initial;
  for (const v1::Description* instance : current) {
    if (!TagsMatch(watcher->filter, instance->tags())) continue;
    initial.push_back(Event(v1::EVENT_TYPE_ADDED, View(*instance, watcher->include_properties)));
  }
  v1::WatchResponse& synced = initial.emplace_back();
  synced.set_type(v1::EVENT_TYPE_SYNCED);
  {
    absl::MutexLock lock(&core_->mu);
    if (core_->stopping) {
      watcher->active = false;
      return std::make_unique<Handle>(core_, std::move(watcher));
    }
    core_->watchers.push_back(watcher);
    if (delivery_ == Delivery::kDispatcherThread) {
      for (v1::WatchResponse& event : initial) core_->queue.emplace_back(watcher, std::move(event));
      initial.clear();
    }
  }
  for (const v1::WatchResponse& event : initial) core_->Deliver(watcher.get(), event);
  return std::make_unique<Handle>(core_, std::move(watcher));
}

void WatchFanout::Publish(const v1::Description* before, const v1::Description* after) {
  std::vector<std::shared_ptr<Watcher>> watchers;
  {
    absl::MutexLock lock(&core_->mu);
    if (core_->stopping) return;
    watchers = core_->watchers;
  }
  std::vector<std::pair<std::shared_ptr<Watcher>, v1::WatchResponse>> events;
  for (const std::shared_ptr<Watcher>& watcher : watchers) {
    const bool include = watcher->include_properties;
    const bool was = before != nullptr && TagsMatch(watcher->filter, before->tags());
    const bool is = after != nullptr && TagsMatch(watcher->filter, after->tags());
    if (was && is) {
      v1::Description now = View(*after, include);
      if (google::protobuf::util::MessageDifferencer::Equals(View(*before, include), now)) {
        continue;
      }
      events.emplace_back(watcher, Event(v1::EVENT_TYPE_CHANGED, std::move(now)));
    } else if (is) {
      events.emplace_back(watcher, Event(v1::EVENT_TYPE_ADDED, View(*after, include)));
    } else if (was) {
      events.emplace_back(watcher, Event(v1::EVENT_TYPE_REMOVED, View(*before, include)));
    }
  }
  if (events.empty()) return;
  if (delivery_ == Delivery::kDispatcherThread) {
    absl::MutexLock lock(&core_->mu);
    for (auto& event : events) core_->queue.push_back(std::move(event));
    return;
  }
  for (const auto& [watcher, event] : events) core_->Deliver(watcher.get(), event);
}

void WatchFanout::Shutdown(const absl::Status& status) {
  {
    absl::MutexLock lock(&core_->mu);
    if (core_->stopping) return;
    core_->stopping = true;
  }
  if (dispatcher_.joinable()) dispatcher_.join();
  std::vector<std::shared_ptr<Watcher>> remaining;
  {
    absl::MutexLock lock(&core_->mu);
    core_->queue.clear();
    remaining.swap(core_->watchers);
  }
  for (const std::shared_ptr<Watcher>& watcher : remaining) {
    {
      absl::MutexLock lock(&core_->mu);
      if (!watcher->active) continue;
      core_->Deactivate(watcher.get());
      ++watcher->calls;  // Its handle waits for OnDone to return.
    }
    watcher->sink->OnDone(status);
    absl::MutexLock lock(&core_->mu);
    --watcher->calls;
  }
}

void WatchFanout::Dispatch() {
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
    if (!watcher->active) continue;
    ++watcher->calls;
    core->mu.Unlock();
    watcher->sink->OnEvent(event);
    core->mu.Lock();
    --watcher->calls;
  }
}

}  // namespace infrakit::plugins::instance
