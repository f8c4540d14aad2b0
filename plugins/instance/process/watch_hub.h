// Fans instance changes out to any number of Watches, in order, from one dispatcher thread.
//
// The owner (ProcessPlugin) calls Add and the Added / Changed / Removed publishers while holding
// its own state lock, in the order its state changes: that lines each watch's initial set up
// with the changes that follow it (none lost, none doubled). Those calls only queue and never
// call a sink. The dispatcher thread calls the sinks, one event at a time, outside every lock.
#ifndef INFRAKIT_PLUGINS_INSTANCE_PROCESS_WATCH_HUB_H_
#define INFRAKIT_PLUGINS_INSTANCE_PROCESS_WATCH_HUB_H_

#include <memory>
#include <thread>
#include <vector>

#include "infrakit/instance/v1/instance.pb.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::plugins::instance::process {

namespace v1 = ::infrakit::instance::v1;

class WatchHub {
 public:
  using TagMap = google::protobuf::Map<std::string, std::string>;

  // Starts the dispatcher thread.
  WatchHub();
  // Ends every remaining watch with OnDone(UNAVAILABLE) (queued events are dropped) and stops
  // the dispatcher. Handles may outlive the hub.
  ~WatchHub();

  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Starts a watch on `sink` (which must outlive the handle): one ADDED event per instance of
  // `current` (full descriptions, ordered by ID) having the requested tags, then SYNCED, then
  // the matching changes published after this call. Destroying the handle ends the watch;
  // once its destructor returns the sink is called no more (it waits for a call in progress,
  // so it must not run inside the sink). Thread-safe; never blocks.
  std::unique_ptr<spi::instance::WatchHandle> Add(
      const v1::WatchRequest& request, spi::instance::WatchSink* sink,
      const std::vector<const v1::Description*>& current);

  // Publishes a change of one instance (a full description: with spec and properties, which
  // are stripped for watches that did not ask for them). Thread-safe; never blocks.
  void Added(const v1::Description& instance);
  // Watches whose tag filter the instance enters see ADDED, leaves: REMOVED, stays in: CHANGED.
  void Changed(const TagMap& old_tags, const v1::Description& instance);
  void Removed(const v1::Description& instance);

 private:
  struct Watcher;
  struct Core;
  class Handle;

  void Publish(const TagMap* old_tags, const v1::Description& instance, v1::EventType type);
  void Dispatch();

  const std::shared_ptr<Core> core_;
  std::thread dispatcher_;
};

// True when `tags` include every entry of `filter`. Thread-safe (pure).
bool TagsMatch(const WatchHub::TagMap& filter, const WatchHub::TagMap& tags);

}  // namespace infrakit::plugins::instance::process

#endif  // INFRAKIT_PLUGINS_INSTANCE_PROCESS_WATCH_HUB_H_
