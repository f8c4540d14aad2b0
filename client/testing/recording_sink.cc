#include "client/testing/recording_sink.h"

namespace infrakit::client::testing {

void RecordingSink::OnEvent(const spi::instance::v1::WatchResponse& event) {
  absl::MutexLock lock(&mu_);
  if (done_.has_value()) ++calls_after_done_;
  events_.push_back(event);
}

void RecordingSink::OnDone(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (done_.has_value()) ++calls_after_done_;
  done_ = status;
}

bool RecordingSink::WaitForEvents(size_t count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, count]() { return events_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

bool RecordingSink::WaitForDone(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this]() { return done_.has_value(); };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

std::vector<spi::instance::v1::WatchResponse> RecordingSink::events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

std::optional<absl::Status> RecordingSink::done() const {
  absl::MutexLock lock(&mu_);
  return done_;
}

int RecordingSink::calls_after_done() const {
  absl::MutexLock lock(&mu_);
  return calls_after_done_;
}

}  // namespace infrakit::client::testing
