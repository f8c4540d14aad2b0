#include "services/group/testing/fake_instance_plugin.h"

#include <utility>

#include "absl/strings/str_format.h"

namespace infrakit::services::group::testing {

class FakeInstancePlugin::Handle : public spi::instance::WatchHandle {
 public:
  Handle(FakeInstancePlugin* plugin, int id) : plugin_(plugin), id_(id) {}
  ~Handle() override { plugin_->RemoveWatch(id_); }

 private:
  FakeInstancePlugin* const plugin_;
  const int id_;
};

FakeInstancePlugin::FakeInstancePlugin(Clock* clock) : clock_(clock) {}

FakeInstancePlugin::~FakeInstancePlugin() {
  absl::MutexLock lock(&mu_);
  for (TimerId t : timers_) clock_->Cancel(t);
}

bool FakeInstancePlugin::Matches(const iv1::Description& d,
                                 const std::map<std::string, std::string>& tags) {
  for (const auto& [k, v] : tags) {
    auto it = d.tags().find(k);
    if (it == d.tags().end() || it->second != v) return false;
  }
  return true;
}

void FakeInstancePlugin::CollectLocked(iv1::EventType type, const iv1::Description& d,
                                       Delivery* out) {
  for (const auto& [id, w] : watches_) {
    if (!Matches(d, w.tags)) continue;
    iv1::WatchResponse ev;
    ev.set_type(type);
    *ev.mutable_instance() = d;
    out->emplace_back(id, std::move(ev));
  }
}

void FakeInstancePlugin::Deliver(const Delivery& events) {
  if (events.empty()) return;
  absl::MutexLock deliver(&deliver_mu_);
  for (const auto& [id, ev] : events) {
    spi::instance::WatchSink* sink = nullptr;
    {
      absl::MutexLock lock(&mu_);
      auto it = watches_.find(id);
      if (it == watches_.end()) continue;
      sink = it->second.sink;
    }
    sink->OnEvent(ev);
  }
}

void FakeInstancePlugin::RemoveWatch(int id) {
  absl::MutexLock deliver(&deliver_mu_);
  absl::MutexLock lock(&mu_);
  watches_.erase(id);
}

std::string FakeInstancePlugin::NewIdLocked() { return absl::StrFormat("inst-%04d", next_id_++); }

absl::Status FakeInstancePlugin::Validate(const iv1::ValidateRequest& request) {
  absl::MutexLock lock(&mu_);
  if (down_) return absl::UnavailableError("fake instance plugin is down");
  return validate_error_;
}

absl::StatusOr<iv1::ProvisionResponse> FakeInstancePlugin::Provision(
    const iv1::ProvisionRequest& request) {
  int existing = 0;
  {
    absl::MutexLock lock(&mu_);
    ++provision_calls_;
    if (down_) return absl::UnavailableError("fake instance plugin is down");
    if (fail_provisions_ > 0) {
      --fail_provisions_;
      return fail_provisions_status_;
    }
    if (!provision_error_.ok()) return provision_error_;
    const std::string& key = request.spec().idempotency_key();
    if (!key.empty()) {
      auto it = keys_.find(key);
      if (it != keys_.end()) {
        iv1::ProvisionResponse response;
        response.set_id(it->second);
        response.set_created(false);
        return response;
      }
    }
    existing = static_cast<int>(instances_.size());
  }
  if (on_provision_) on_provision_(request.spec(), existing);

  Delivery events;
  iv1::ProvisionResponse response;
  {
    absl::MutexLock lock(&mu_);
    std::string id = NewIdLocked();
    Entry e;
    e.description.set_id(id);
    e.description.set_logical_id(request.spec().logical_id());
    *e.description.mutable_tags() = request.spec().tags();
    e.description.set_state(iv1::LIFECYCLE_STATE_RUNNING);
    e.visible_at = clock_->Now() + lag_;
    if (!request.spec().idempotency_key().empty()) keys_[request.spec().idempotency_key()] = id;
    instances_[id] = e;
    provisioned_.push_back(request.spec());
    ++created_;
    if (lag_ > absl::ZeroDuration()) {
      timers_.push_back(clock_->Schedule(e.visible_at, [this, id] { MakeVisible(id); }));
    } else {
      CollectLocked(iv1::EVENT_TYPE_ADDED, e.description, &events);
    }
    response.set_id(id);
    response.set_created(true);
  }
  Deliver(events);
  if (after_create_) after_create_();
  {
    absl::MutexLock lock(&mu_);
    if (fail_after_create_ > 0) {
      --fail_after_create_;
      return fail_after_create_status_;
    }
  }
  return response;
}

void FakeInstancePlugin::MakeVisible(const std::string& id) {
  Delivery events;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return;
    CollectLocked(iv1::EVENT_TYPE_ADDED, it->second.description, &events);
  }
  Deliver(events);
}

absl::Status FakeInstancePlugin::Destroy(const iv1::DestroyRequest& request) {
  iv1::Description victim;
  {
    absl::MutexLock lock(&mu_);
    ++destroy_calls_[request.id()];
    if (destroyed_ok_.count(request.id())) ++destroy_calls_after_ok_[request.id()];
    if (down_) return absl::UnavailableError("fake instance plugin is down");
    if (!destroy_error_.ok()) return destroy_error_;
    auto it = instances_.find(request.id());
    if (it == instances_.end()) return absl::NotFoundError("no instance " + request.id());
    victim = it->second.description;
  }
  if (on_destroy_) on_destroy_(victim);
  Delivery events;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(request.id());
    if (it == instances_.end()) return absl::NotFoundError("no instance " + request.id());
    bool visible = it->second.visible_at <= clock_->Now();
    iv1::Description d = it->second.description;
    instances_.erase(it);
    destroyed_order_.push_back(request.id());
    if (visible) CollectLocked(iv1::EVENT_TYPE_REMOVED, d, &events);
  }
  Deliver(events);
  absl::MutexLock lock(&mu_);
  destroyed_ok_.insert(request.id());
  return absl::OkStatus();
}

absl::StatusOr<iv1::DescribeResponse> FakeInstancePlugin::Describe(
    const iv1::DescribeRequest& request) {
  absl::MutexLock lock(&mu_);
  ++describe_calls_;
  if (down_) return absl::UnavailableError("fake instance plugin is down");
  std::map<std::string, std::string> tags(request.tags().begin(), request.tags().end());
  iv1::DescribeResponse response;
  absl::Time now = clock_->Now();
  for (const auto& [id, e] : instances_) {
    if (e.visible_at > now || !Matches(e.description, tags)) continue;
    *response.add_instances() = e.description;
  }
  return response;
}

absl::StatusOr<iv1::LabelResponse> FakeInstancePlugin::Label(const iv1::LabelRequest& request) {
  Delivery events;
  iv1::LabelResponse response;
  {
    absl::MutexLock lock(&mu_);
    if (down_) return absl::UnavailableError("fake instance plugin is down");
    auto it = instances_.find(request.id());
    if (it == instances_.end()) return absl::NotFoundError("no instance " + request.id());
    for (const auto& [k, v] : request.labels()) (*it->second.description.mutable_tags())[k] = v;
    *response.mutable_instance() = it->second.description;
    if (it->second.visible_at <= clock_->Now()) {
      CollectLocked(iv1::EVENT_TYPE_CHANGED, it->second.description, &events);
    }
  }
  Deliver(events);
  return response;
}

absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> FakeInstancePlugin::Watch(
    const iv1::WatchRequest& request, spi::instance::WatchSink* sink) {
  Delivery events;
  int id;
  {
    absl::MutexLock lock(&mu_);
    ++watch_calls_;
    if (down_) return absl::UnavailableError("fake instance plugin is down");
    if (!watch_supported_) return absl::UnimplementedError("fake instance plugin cannot watch");
    id = next_watch_++;
    WatchEntry w;
    w.tags = std::map<std::string, std::string>(request.tags().begin(), request.tags().end());
    w.sink = sink;
    absl::Time now = clock_->Now();
    for (const auto& [iid, e] : instances_) {
      if (e.visible_at > now || !Matches(e.description, w.tags)) continue;
      iv1::WatchResponse ev;
      ev.set_type(iv1::EVENT_TYPE_ADDED);
      *ev.mutable_instance() = e.description;
      events.emplace_back(id, std::move(ev));
    }
    if (!withhold_synced_) {
      iv1::WatchResponse synced;
      synced.set_type(iv1::EVENT_TYPE_SYNCED);
      events.emplace_back(id, std::move(synced));
      w.synced = true;
    }
    watches_[id] = std::move(w);
  }
  auto handle = std::make_unique<Handle>(this, id);
  Deliver(events);
  return std::unique_ptr<spi::instance::WatchHandle>(std::move(handle));
}

void FakeInstancePlugin::set_watch_supported(bool supported) {
  absl::MutexLock lock(&mu_);
  watch_supported_ = supported;
}

void FakeInstancePlugin::set_withhold_synced(bool withhold) {
  absl::MutexLock lock(&mu_);
  withhold_synced_ = withhold;
}

void FakeInstancePlugin::ReleaseSynced() {
  Delivery events;
  {
    absl::MutexLock lock(&mu_);
    withhold_synced_ = false;
    for (auto& [id, w] : watches_) {
      if (w.synced) continue;
      w.synced = true;
      iv1::WatchResponse synced;
      synced.set_type(iv1::EVENT_TYPE_SYNCED);
      events.emplace_back(id, std::move(synced));
    }
  }
  Deliver(events);
}

void FakeInstancePlugin::set_listing_lag(absl::Duration lag) {
  absl::MutexLock lock(&mu_);
  lag_ = lag;
}

void FakeInstancePlugin::FailProvisions(int n, absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_provisions_ = n;
  fail_provisions_status_ = std::move(status);
}

void FakeInstancePlugin::FailProvisionsAfterCreate(int n, absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_after_create_ = n;
  fail_after_create_status_ = std::move(status);
}

std::vector<std::string> FakeInstancePlugin::destroyed_order() {
  absl::MutexLock lock(&mu_);
  return destroyed_order_;
}

void FakeInstancePlugin::set_provision_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  provision_error_ = std::move(status);
}

void FakeInstancePlugin::set_destroy_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  destroy_error_ = std::move(status);
}

void FakeInstancePlugin::set_validate_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  validate_error_ = std::move(status);
}

void FakeInstancePlugin::set_down(bool down) {
  {
    absl::MutexLock lock(&mu_);
    down_ = down;
  }
  if (down) BreakWatches(absl::UnavailableError("fake instance plugin is down"));
}

void FakeInstancePlugin::BreakWatches(absl::Status status) {
  absl::MutexLock deliver(&deliver_mu_);
  std::map<int, WatchEntry> ended;
  {
    absl::MutexLock lock(&mu_);
    ended.swap(watches_);
  }
  for (auto& [id, w] : ended) w.sink->OnDone(status);
}

std::string FakeInstancePlugin::AddExternal(const std::map<std::string, std::string>& tags,
                                            const std::string& logical_id) {
  Delivery events;
  std::string id;
  {
    absl::MutexLock lock(&mu_);
    id = NewIdLocked();
    Entry e;
    e.description.set_id(id);
    e.description.set_logical_id(logical_id);
    for (const auto& [k, v] : tags) (*e.description.mutable_tags())[k] = v;
    e.description.set_state(iv1::LIFECYCLE_STATE_RUNNING);
    e.visible_at = clock_->Now();
    instances_[id] = e;
    CollectLocked(iv1::EVENT_TYPE_ADDED, e.description, &events);
  }
  Deliver(events);
  return id;
}

void FakeInstancePlugin::RemoveExternal(const std::string& id) {
  Delivery events;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return;
    iv1::Description d = it->second.description;
    instances_.erase(it);
    CollectLocked(iv1::EVENT_TYPE_REMOVED, d, &events);
  }
  Deliver(events);
}

std::vector<iv1::Description> FakeInstancePlugin::Instances() {
  absl::MutexLock lock(&mu_);
  std::vector<iv1::Description> out;
  for (const auto& [id, e] : instances_) out.push_back(e.description);
  return out;
}

int FakeInstancePlugin::Count() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(instances_.size());
}

int FakeInstancePlugin::CountWithTag(const std::string& key, const std::string& value) {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [id, e] : instances_) {
    auto it = e.description.tags().find(key);
    if (it != e.description.tags().end() && it->second == value) ++n;
  }
  return n;
}

bool FakeInstancePlugin::Exists(const std::string& id) {
  absl::MutexLock lock(&mu_);
  return instances_.count(id) > 0;
}

int FakeInstancePlugin::created() {
  absl::MutexLock lock(&mu_);
  return created_;
}

absl::StatusOr<iv1::BatchProvisionResponse> FakeInstancePlugin::BatchProvision(
    const iv1::BatchProvisionRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    provision_batches_.push_back(request.requests_size());
  }
  return InstancePlugin::BatchProvision(request);
}

absl::StatusOr<iv1::BatchDestroyResponse> FakeInstancePlugin::BatchDestroy(
    const iv1::BatchDestroyRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    destroy_batches_.push_back(request.requests_size());
  }
  return InstancePlugin::BatchDestroy(request);
}

std::vector<int> FakeInstancePlugin::provision_batches() {
  absl::MutexLock lock(&mu_);
  return provision_batches_;
}

std::vector<int> FakeInstancePlugin::destroy_batches() {
  absl::MutexLock lock(&mu_);
  return destroy_batches_;
}

int FakeInstancePlugin::provision_calls() {
  absl::MutexLock lock(&mu_);
  return provision_calls_;
}

std::map<std::string, int> FakeInstancePlugin::destroy_calls() {
  absl::MutexLock lock(&mu_);
  return destroy_calls_;
}

std::map<std::string, int> FakeInstancePlugin::destroy_calls_after_ok() {
  absl::MutexLock lock(&mu_);
  return destroy_calls_after_ok_;
}

int FakeInstancePlugin::describe_calls() {
  absl::MutexLock lock(&mu_);
  return describe_calls_;
}

int FakeInstancePlugin::watch_calls() {
  absl::MutexLock lock(&mu_);
  return watch_calls_;
}

int FakeInstancePlugin::active_watches() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(watches_.size());
}

std::vector<iv1::Spec> FakeInstancePlugin::provisioned_specs() {
  absl::MutexLock lock(&mu_);
  return provisioned_;
}

void FakeInstancePlugin::set_on_provision(std::function<void(const iv1::Spec&, int)> fn) {
  on_provision_ = std::move(fn);
}

void FakeInstancePlugin::set_on_destroy(std::function<void(const iv1::Description&)> fn) {
  on_destroy_ = std::move(fn);
}

void FakeInstancePlugin::set_after_create(std::function<void()> fn) {
  after_create_ = std::move(fn);
}

}  // namespace infrakit::services::group::testing
