#include "tests/conformance/watch_recorder.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace infrakit::tests::conformance {

namespace v1 = ::infrakit::instance::v1;

void WatchRecorder::OnEvent(const v1::WatchResponse& event) {
  absl::MutexLock lock(&mu_);
  events_.push_back(event);
}

void WatchRecorder::OnDone(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  done_ = status;
}

WatchRecorder::Events WatchRecorder::events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

std::optional<absl::Status> WatchRecorder::done() const {
  absl::MutexLock lock(&mu_);
  return done_;
}

bool WatchRecorder::WaitUntil(const std::function<bool(const Events&)>& condition,
                              absl::Duration deadline) {
  absl::MutexLock lock(&mu_);
  auto holds = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return condition(events_); };
  return mu_.AwaitWithTimeout(absl::Condition(&holds), deadline);
}

int WatchRecorder::WaitForEvent(v1::EventType type, const std::string& id, size_t from,
                                absl::Duration deadline, const std::string& tag_key,
                                const std::string& tag_value) {
  int found = -1;
  WaitUntil(
      [&](const Events& events) {
        for (size_t i = from; i < events.size(); ++i) {
          const v1::WatchResponse& e = events[i];
          if (e.type() != type || e.instance().id() != id) continue;
          if (!tag_key.empty()) {
            auto it = e.instance().tags().find(tag_key);
            if (it == e.instance().tags().end() || it->second != tag_value) continue;
          }
          found = static_cast<int>(i);
          return true;
        }
        return false;
      },
      deadline);
  return found;
}

std::string Summary(const v1::WatchResponse& event) {
  std::string type(absl::StripPrefix(v1::EventType_Name(event.type()), "EVENT_TYPE_"));
  if (event.type() == v1::EVENT_TYPE_SYNCED) return type;
  return absl::StrCat(type, " ", event.instance().id());
}

std::vector<std::string> Summaries(const WatchRecorder::Events& events) {
  std::vector<std::string> out;
  out.reserve(events.size());
  for (const auto& e : events) out.push_back(Summary(e));
  return out;
}

}  // namespace infrakit::tests::conformance
