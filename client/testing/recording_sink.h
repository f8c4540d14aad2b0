// A WatchSink that records what it receives and lets a test wait for it with a deadline.
#ifndef INFRAKIT_CLIENT_TESTING_RECORDING_SINK_H_
#define INFRAKIT_CLIENT_TESTING_RECORDING_SINK_H_

#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::client::testing {

// Thread-safe.
class RecordingSink final : public spi::instance::WatchSink {
 public:
  void OnEvent(const spi::instance::v1::WatchResponse& event) override;
  void OnDone(const absl::Status& status) override;

  // Waits until at least `count` events have arrived; false at `timeout`.
  bool WaitForEvents(size_t count, absl::Duration timeout);
  // Waits until OnDone has been called; false at `timeout`.
  bool WaitForDone(absl::Duration timeout);

  std::vector<spi::instance::v1::WatchResponse> events() const;
  // The status OnDone gave, if it was called.
  std::optional<absl::Status> done() const;
  // Calls that arrived after OnDone (a contract violation); always 0 in a correct stack.
  int calls_after_done() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<spi::instance::v1::WatchResponse> events_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> done_ ABSL_GUARDED_BY(mu_);
  int calls_after_done_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace infrakit::client::testing

#endif  // INFRAKIT_CLIENT_TESTING_RECORDING_SINK_H_
