// Fans the changes of an instance plugin out to any number of Watches: each watch has a tag
// filter and gets the matching instances of the moment it starts (ADDED each), then SYNCED,
// then every change that concerns it, as seen through its filter and with or without specs and
// properties as it asked.
//
// The owner (a plugin core) calls Subscribe and Publish in the order of its changes,
// serialized (typically under its own state lock): that lines each watch's initial set up with
// the changes that follow it, none lost, none doubled. Sinks are called one event at a time per
// watch, without any lock of the fan-out held, either
//  - on the thread that calls Subscribe or Publish (Delivery::kCallingThread: the owner accepts
//    sink calls inside its own calls; instance-file), or
//  - on a dispatcher thread of the fan-out (Delivery::kDispatcherThread: Subscribe and Publish
//    only queue and never call a sink; instance-process, whose calls hold its state lock).
#ifndef INFRAKIT_PLUGINS_INSTANCE_WATCH_FANOUT_H_
#define INFRAKIT_PLUGINS_INSTANCE_WATCH_FANOUT_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::plugins::instance {

using TagMap = google::protobuf::Map<std::string, std::string>;

// True when `tags` include every entry of `filter`. Thread-safe (pure).
bool TagsMatch(const TagMap& filter, const TagMap& tags);

// What a caller sees of an instance: the whole description with `include_properties`, else
// without its spec and properties. Thread-safe (pure).
::infrakit::instance::v1::Description View(const ::infrakit::instance::v1::Description& instance,
                                           bool include_properties);
// View(instance, include_properties) built in `out` (empty; e.g. a message on a response's
// arena, where assigning a View would copy it once more).
void ViewInto(const ::infrakit::instance::v1::Description& instance, bool include_properties,
              ::infrakit::instance::v1::Description* out);

class WatchFanout {
 public:
  enum class Delivery { kCallingThread, kDispatcherThread };

  // With kDispatcherThread, starts the dispatcher thread.
  explicit WatchFanout(Delivery delivery);
  // Shuts down (with UNAVAILABLE) if Shutdown was not called. Handles may outlive the fan-out.
  ~WatchFanout();

  WatchFanout(const WatchFanout&) = delete;
  WatchFanout& operator=(const WatchFanout&) = delete;

  // Starts a watch on `sink` (which must outlive the handle) for `request`'s tags and
  // include_properties: one ADDED event per instance of `current` (full descriptions, in the
  // order given, e.g. by ID) that matches, then SYNCED, then the matching changes published
  // after this call. With kCallingThread the initial set and SYNCED are delivered before this
  // returns. Destroying the handle ends the watch: once its destructor returns the sink is called
  // no more (it waits for a call in progress, so it must not run inside that sink call). Must not
  // be called after Shutdown. Serialized with Publish by the caller; never blocks with
  // kDispatcherThread.
  std::unique_ptr<spi::instance::WatchHandle> Subscribe(
      const ::infrakit::instance::v1::WatchRequest& request, spi::instance::WatchSink* sink,
      const std::vector<const ::infrakit::instance::v1::Description*>& current);

  // Publishes a change of one instance: `before` is what it was (null when it is new), `after`
  // what it is (null when it is gone); both full descriptions, read during the call only. Each
  // watch sees ADDED when the instance enters its filter, REMOVED (with what it saw before)
  // when it leaves it, CHANGED when it stays in and what the watch sees of it changed, else
  // nothing. Ignored after Shutdown. Serialized with Subscribe by the caller; never blocks with
  // kDispatcherThread.
  void Publish(const ::infrakit::instance::v1::Description* before,
               const ::infrakit::instance::v1::Description* after);

  // Stops delivery (events still queued for the dispatcher are dropped) and ends every watch
  // still open with OnDone(`status`), on the calling thread. Must not be called from a sink.
  // Idempotent.
  void Shutdown(const absl::Status& status);

 private:
  struct Watcher;
  struct Core;
  class Handle;

  void Dispatch();

  const Delivery delivery_;
  const std::shared_ptr<Core> core_;
  std::thread dispatcher_;
};

}  // namespace infrakit::plugins::instance

#endif  // INFRAKIT_PLUGINS_INSTANCE_WATCH_FANOUT_H_
