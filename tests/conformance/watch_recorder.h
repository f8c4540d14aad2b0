// A WatchSink that records every event, for tests that wait on what a Watch reported.
#ifndef INFRAKIT_TESTS_CONFORMANCE_WATCH_RECORDER_H_
#define INFRAKIT_TESTS_CONFORMANCE_WATCH_RECORDER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::tests::conformance {

// Thread-safe: the watch calls OnEvent / OnDone from its threads while the test waits.
class WatchRecorder : public spi::instance::WatchSink {
 public:
  using Events = std::vector<spi::instance::v1::WatchResponse>;

  void OnEvent(const spi::instance::v1::WatchResponse& event) override;
  void OnDone(const absl::Status& status) override;

  // Everything received so far.
  Events events() const;
  // The status OnDone gave, if it was called.
  std::optional<absl::Status> done() const;

  // Waits (without polling) until `condition(events())` holds; false at `deadline`.
  bool WaitUntil(const std::function<bool(const Events&)>& condition, absl::Duration deadline);

  // Waits for an event of `type` about instance `id` at or after position `from`; returns its
  // position, or -1 at `deadline`. With `tag_key`, the instance must carry that tag = value.
  int WaitForEvent(spi::instance::v1::EventType type, const std::string& id, size_t from,
                   absl::Duration deadline, const std::string& tag_key = "",
                   const std::string& tag_value = "");

 private:
  mutable absl::Mutex mu_;
  Events events_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> done_ ABSL_GUARDED_BY(mu_);
};

// "ADDED instance-1", "SYNCED": short forms for assertions and failure messages.
std::string Summary(const spi::instance::v1::WatchResponse& event);
std::vector<std::string> Summaries(const WatchRecorder::Events& events);

}  // namespace infrakit::tests::conformance

#endif  // INFRAKIT_TESTS_CONFORMANCE_WATCH_RECORDER_H_
