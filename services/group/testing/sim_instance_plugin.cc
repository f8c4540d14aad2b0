#include "services/group/testing/sim_instance_plugin.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace infrakit::services::group::testing {

// Stands between the fake's watch and the controller's sink, where watch events are held
// back, reordered, duplicated and lost. Holding starts at an event and ends at a timer; the
// events held meanwhile are then delivered in a random order that keeps each instance's own
// events in order and nothing across SYNCED (what a plugin merging several sources may do).
// A lost event loses the stream: nothing more is delivered, and the watch ends UNAVAILABLE
// shortly after, as a broken connection.
class SimInstancePlugin::Relay : public spi::instance::WatchSink,
                                 public std::enable_shared_from_this<Relay> {
 public:
  // `honest_synced` runs when an honest initial set (not the injected empty one) has reached
  // the controller whole.
  Relay(spi::instance::WatchSink* sink, FaultModel* faults, Clock* clock, bool empty_initial,
        std::function<void()> honest_synced)
      : sink_(sink),
        faults_(faults),
        clock_(clock),
        empty_initial_(empty_initial),
        honest_synced_(std::move(honest_synced)) {}

  void OnEvent(const iv1::WatchResponse& event) override {
    if (closed_ || broken_) return;
    const bool initial = !synced_;
    if (event.type() == iv1::EVENT_TYPE_SYNCED) synced_ = true;
    // The injected empty listing: the initial set is not sent, SYNCED is.
    if (initial && empty_initial_ && event.type() != iv1::EVENT_TYPE_SYNCED) return;
    if (event.type() != iv1::EVENT_TYPE_SYNCED && faults_->Roll(faults_->rates().drop_event)) {
      Break();
      return;
    }
    queue_.push_back(event);
    if (event.type() != iv1::EVENT_TYPE_SYNCED && faults_->Roll(faults_->rates().duplicate_event)) {
      queue_.push_back(event);
    }
    if (timer_ != 0) return;  // holding: delivered at the timer
    if (faults_->Roll(faults_->rates().delay_events)) {
      std::weak_ptr<Relay> self = weak_from_this();
      timer_ = clock_->Schedule(
          clock_->Now() + faults_->UniformDuration(absl::Milliseconds(1), absl::Seconds(5)),
          [self] {
            if (auto relay = self.lock()) {
              relay->timer_ = 0;
              relay->Flush();
            }
          });
      return;
    }
    Flush();
  }

  void OnDone(const absl::Status& status) override {
    if (closed_ || broken_) return;
    Flush();
    End(status);
  }

  // The stream is lost: what is held is dropped, and the watch ends soon after.
  void Break() {
    if (closed_ || broken_) return;
    broken_ = true;
    queue_.clear();
    CancelTimer();
    std::weak_ptr<Relay> self = weak_from_this();
    timer_ = clock_->Schedule(
        clock_->Now() + faults_->UniformDuration(absl::ZeroDuration(), absl::Seconds(2)), [self] {
          if (auto relay = self.lock()) {
            relay->timer_ = 0;
            relay->End(absl::UnavailableError("sim: watch stream lost"));
          }
        });
  }

  // Ends the stream now (the plugin died).
  void Kill() {
    if (closed_) return;
    queue_.clear();
    CancelTimer();
    End(absl::UnavailableError("sim: instance plugin died"));
  }

  // The controller destroyed the handle: nothing more is delivered.
  void Close() {
    closed_ = true;
    queue_.clear();
    CancelTimer();
  }

 private:
  void CancelTimer() {
    if (timer_ != 0) clock_->Cancel(timer_);
    timer_ = 0;
  }

  void End(const absl::Status& status) {
    if (closed_) return;
    closed_ = true;
    sink_->OnDone(status);
  }

  void Flush() {
    std::deque<iv1::WatchResponse> events;
    events.swap(queue_);
    if (events.size() > 1 && faults_->Roll(faults_->rates().reorder_events)) Shuffle(&events);
    for (const auto& e : events) {
      if (closed_ || broken_) return;
      sink_->OnEvent(e);
      if (e.type() == iv1::EVENT_TYPE_SYNCED && !empty_initial_ && honest_synced_) {
        honest_synced_();
        honest_synced_ = nullptr;
      }
    }
  }

  // A random order keeping each instance's events in order and nothing across SYNCED: picks,
  // at each turn, one of the events that no earlier event pins.
  void Shuffle(std::deque<iv1::WatchResponse>* events) {
    std::deque<iv1::WatchResponse> out;
    while (!events->empty()) {
      std::vector<size_t> eligible;
      absl::flat_hash_set<std::string> seen;
      for (size_t i = 0; i < events->size(); ++i) {
        const iv1::WatchResponse& e = (*events)[i];
        if (e.type() == iv1::EVENT_TYPE_SYNCED) {
          if (i == 0) eligible.push_back(i);
          break;
        }
        if (seen.insert(e.instance().id()).second) eligible.push_back(i);
      }
      size_t pick = eligible[faults_->Uniform(0, static_cast<int64_t>(eligible.size()) - 1)];
      out.push_back(std::move((*events)[pick]));
      events->erase(events->begin() + static_cast<std::ptrdiff_t>(pick));
    }
    events->swap(out);
  }

  spi::instance::WatchSink* const sink_;
  FaultModel* const faults_;
  Clock* const clock_;
  const bool empty_initial_;
  std::function<void()> honest_synced_;
  bool synced_ = false;
  bool broken_ = false;
  bool closed_ = false;
  std::deque<iv1::WatchResponse> queue_;
  TimerId timer_ = 0;
};

// The controller's handle: ends the fake's watch, then silences the relay.
class SimInstancePlugin::Handle : public spi::instance::WatchHandle {
 public:
  Handle(std::shared_ptr<Relay> relay, std::unique_ptr<spi::instance::WatchHandle> real)
      : relay_(std::move(relay)), real_(std::move(real)) {}
  ~Handle() override {
    real_.reset();
    relay_->Close();
  }

 private:
  std::shared_ptr<Relay> relay_;
  std::unique_ptr<spi::instance::WatchHandle> real_;
};

SimInstancePlugin::SimInstancePlugin(FakeInstancePlugin* real, FaultModel* faults, Clock* clock)
    : real_(real), faults_model_(faults), clock_(clock) {}

SimInstancePlugin::~SimInstancePlugin() = default;

absl::Status SimInstancePlugin::Before() {
  if (down_) return absl::UnavailableError("sim: instance plugin is down");
  const FaultRates& r = faults_model_->rates();
  if (faults_model_->Roll(r.fail)) {
    ++faults_;
    return absl::UnavailableError("sim: instance plugin call failed");
  }
  if (faults_model_->Roll(r.timeout_before)) {
    ++faults_;
    return absl::DeadlineExceededError("sim: instance plugin call timed out");
  }
  if (slow_ && faults_model_->Roll(r.slow)) {
    ++faults_;
    slow_();
    // It may have died meanwhile.
    if (down_) return absl::UnavailableError("sim: instance plugin is down");
  }
  return absl::OkStatus();
}

bool SimInstancePlugin::TimeoutAfter() {
  if (!faults_model_->Roll(faults_model_->rates().timeout_after)) return false;
  ++faults_;
  return true;
}

absl::Status SimInstancePlugin::Validate(const iv1::ValidateRequest& request) {
  if (down_) return absl::UnavailableError("sim: instance plugin is down");
  return real_->Validate(request);
}

absl::StatusOr<iv1::ProvisionResponse> SimInstancePlugin::Provision(
    const iv1::ProvisionRequest& request) {
  absl::StatusOr<iv1::ProvisionResponse> result = absl::UnknownError("not called");
  if (absl::Status st = Before(); !st.ok()) {
    result = st;
  } else {
    result = real_->Provision(request);
    if (faults_model_->Roll(faults_model_->rates().twice)) {
      ++faults_;
      result = real_->Provision(request);
    }
    if (TimeoutAfter()) result = absl::DeadlineExceededError("sim: provision timed out");
  }
  if (hooks_.provision_answered) hooks_.provision_answered(request, result);
  return result;
}

absl::Status SimInstancePlugin::Destroy(const iv1::DestroyRequest& request) {
  if (hooks_.destroy_asked) hooks_.destroy_asked(request);
  if (log_)
    log_(absl::StrCat("asked to destroy ", request.id(), " (", DestroyReason_Name(request.reason()),
                      ")"));
  absl::Status st = Before();
  if (st.ok()) {
    st = real_->Destroy(request);
    if (faults_model_->Roll(faults_model_->rates().twice)) {
      ++faults_;
      // The second attempt finds nothing to destroy; a transport that retried answers the
      // first result.
      real_->Destroy(request).IgnoreError();
    }
    if (TimeoutAfter()) st = absl::DeadlineExceededError("sim: destroy timed out");
  }
  if (hooks_.destroy_answered) hooks_.destroy_answered(request, st);
  return st;
}

absl::StatusOr<iv1::DescribeResponse> SimInstancePlugin::Describe(
    const iv1::DescribeRequest& request) {
  if (down_) return absl::UnavailableError("sim: instance plugin is down");
  if (faults_model_->Roll(faults_model_->rates().failed_listing)) {
    ++faults_;
    if (log_) log_("Describe fails");
    return absl::UnavailableError("sim: listing failed");
  }
  if (!last_listing_empty_ && faults_model_->Roll(faults_model_->rates().empty_listing)) {
    ++faults_;
    last_listing_empty_ = true;
    if (log_) log_("Describe answers an empty listing");
    return iv1::DescribeResponse();
  }
  last_listing_empty_ = false;
  return real_->Describe(request);
}

absl::StatusOr<iv1::LabelResponse> SimInstancePlugin::Label(const iv1::LabelRequest& request) {
  if (absl::Status st = Before(); !st.ok()) return st;
  return real_->Label(request);
}

absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> SimInstancePlugin::Watch(
    const iv1::WatchRequest& request, spi::instance::WatchSink* sink) {
  if (absl::Status st = Before(); !st.ok()) return st;
  if (faults_model_->Roll(faults_model_->rates().failed_listing)) {
    ++faults_;
    return absl::UnavailableError("sim: watch failed");
  }
  // An injected empty set is a glitch: the next listing that reaches the controller whole is
  // honest (a watch lost before its SYNCED does not count), so the controller's confirmation
  // of an empty listing is never a second glitch.
  bool empty = !last_listing_empty_ && faults_model_->Roll(faults_model_->rates().empty_listing);
  faults_ += empty;
  if (empty) last_listing_empty_ = true;
  if (empty && log_) log_("Watch answers an empty initial set");
  auto relay = std::make_shared<Relay>(sink, faults_model_, clock_, empty,
                                       [this] { last_listing_empty_ = false; });
  auto real = real_->Watch(request, relay.get());
  if (!real.ok()) return real.status();
  relays_.erase(std::remove_if(relays_.begin(), relays_.end(),
                               [](const std::weak_ptr<Relay>& r) { return r.expired(); }),
                relays_.end());
  relays_.push_back(relay);
  return std::unique_ptr<spi::instance::WatchHandle>(
      std::make_unique<Handle>(std::move(relay), std::move(*real)));
}

absl::StatusOr<iv1::BatchProvisionResponse> SimInstancePlugin::BatchProvision(
    const iv1::BatchProvisionRequest& request) {
  if (absl::Status st = Before(); !st.ok()) {
    if (hooks_.provision_answered) {
      for (const auto& r : request.requests()) hooks_.provision_answered(r, st);
    }
    return st;
  }
  return InstancePlugin::BatchProvision(request);
}

absl::StatusOr<iv1::BatchDestroyResponse> SimInstancePlugin::BatchDestroy(
    const iv1::BatchDestroyRequest& request) {
  if (absl::Status st = Before(); !st.ok()) {
    // The controller asked for each of them, and each got this answer.
    for (const iv1::DestroyRequest& one : request.requests()) {
      if (hooks_.destroy_asked) hooks_.destroy_asked(one);
      if (hooks_.destroy_answered) hooks_.destroy_answered(one, st);
    }
    return st;
  }
  return InstancePlugin::BatchDestroy(request);
}

void SimInstancePlugin::set_down(bool down) {
  down_ = down;
  if (!down) return;
  std::vector<std::weak_ptr<Relay>> relays;
  relays.swap(relays_);
  for (auto& weak : relays) {
    if (auto relay = weak.lock()) relay->Kill();
  }
}

}  // namespace infrakit::services::group::testing
