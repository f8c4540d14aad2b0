#include "client/testing/fake_instance_plugin.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace infrakit::client::testing {
namespace {

namespace v1 = ::infrakit::instance::v1;

absl::Status CheckProperties(const google::protobuf::Struct& properties) {
  auto image = properties.fields().find("image");
  if (image != properties.fields().end() && !image->second.has_string_value()) {
    return absl::InvalidArgumentError("properties.image: must be a string");
  }
  return absl::OkStatus();
}

bool HasTags(const v1::Description& description,
             const google::protobuf::Map<std::string, std::string>& tags) {
  for (const auto& [key, value] : tags) {
    auto it = description.tags().find(key);
    if (it == description.tags().end() || it->second != value) return false;
  }
  return true;
}

// What a caller sees of an instance: without spec and properties unless asked for.
v1::Description View(const v1::Description& description, bool include_properties) {
  v1::Description view = description;
  if (!include_properties) {
    view.clear_spec();
    view.clear_properties();
  }
  return view;
}

v1::WatchResponse Event(v1::EventType type, const v1::Description& description,
                        bool include_properties) {
  v1::WatchResponse event;
  event.set_type(type);
  *event.mutable_instance() = View(description, include_properties);
  return event;
}

}  // namespace

class FakeInstancePlugin::Handle final : public spi::instance::WatchHandle {
 public:
  Handle(FakeInstancePlugin* plugin, int64_t id) : plugin_(plugin), id_(id) {}
  ~Handle() override { plugin_->Unwatch(id_); }

 private:
  FakeInstancePlugin* const plugin_;
  const int64_t id_;
};

void FakeInstancePlugin::Gate() {
  ++calls_;
  ++blocked_calls_;
  mu_.Await(absl::Condition(this, &FakeInstancePlugin::Unblocked));
  --blocked_calls_;
}

absl::Status FakeInstancePlugin::Validate(const v1::ValidateRequest& request) {
  absl::MutexLock lock(&mu_);
  Gate();
  return CheckProperties(request.properties());
}

absl::StatusOr<v1::ProvisionResponse> FakeInstancePlugin::Provision(
    const v1::ProvisionRequest& request) {
  absl::MutexLock lock(&mu_);
  Gate();
  ++provision_calls_;
  if (fail_in_ > 0 && --fail_in_ == 0) return fail_status_;
  if (absl::Status status = CheckProperties(request.spec().properties()); !status.ok()) {
    return status;
  }
  v1::ProvisionResponse response;
  const std::string& key = request.spec().idempotency_key();
  if (!key.empty()) {
    auto it = by_idempotency_key_.find(key);
    if (it != by_idempotency_key_.end()) {
      response.set_id(it->second);
      response.set_created(false);
      return response;
    }
  }
  std::string id = absl::StrFormat("instance-%06d", next_id_++);
  v1::Description description;
  description.set_id(id);
  description.set_logical_id(request.spec().logical_id());
  *description.mutable_tags() = request.spec().tags();
  description.set_state(v1::LIFECYCLE_STATE_RUNNING);
  *description.mutable_spec() = request.spec();
  (*description.mutable_properties()->mutable_fields())["fake"].set_bool_value(true);
  const v1::Description& stored = instances_[id] = std::move(description);
  if (!key.empty()) by_idempotency_key_[key] = id;
  Notify(nullptr, &stored);
  response.set_id(id);
  response.set_created(true);
  return response;
}

absl::Status FakeInstancePlugin::Destroy(const v1::DestroyRequest& request) {
  absl::MutexLock lock(&mu_);
  Gate();
  ++destroy_calls_;
  auto it = instances_.find(request.id());
  if (it == instances_.end()) {
    return absl::NotFoundError(absl::StrCat("no instance ", request.id()));
  }
  v1::Description before = std::move(it->second);
  instances_.erase(it);
  Notify(&before, nullptr);
  return absl::OkStatus();
}

absl::StatusOr<v1::DescribeResponse> FakeInstancePlugin::Describe(
    const v1::DescribeRequest& request) {
  absl::MutexLock lock(&mu_);
  Gate();
  v1::DescribeResponse response;
  for (const auto& [id, description] : instances_) {
    if (HasTags(description, request.tags())) {
      *response.add_instances() = View(description, request.include_properties());
    }
  }
  return response;
}

absl::StatusOr<v1::LabelResponse> FakeInstancePlugin::Label(const v1::LabelRequest& request) {
  absl::MutexLock lock(&mu_);
  Gate();
  auto it = instances_.find(request.id());
  if (it == instances_.end()) {
    return absl::NotFoundError(absl::StrCat("no instance ", request.id()));
  }
  v1::Description before = it->second;
  for (const auto& [key, value] : request.labels()) (*it->second.mutable_tags())[key] = value;
  Notify(&before, &it->second);
  v1::LabelResponse response;
  *response.mutable_instance() = View(it->second, false);
  return response;
}

absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> FakeInstancePlugin::Watch(
    const v1::WatchRequest& request, spi::instance::WatchSink* sink) {
  absl::MutexLock lock(&mu_);
  Gate();
  if (!watch_supported_) return absl::UnimplementedError("this plugin cannot watch");
  for (const auto& [id, description] : instances_) {
    if (HasTags(description, request.tags())) {
      sink->OnEvent(Event(v1::EVENT_TYPE_ADDED, description, request.include_properties()));
    }
  }
  v1::WatchResponse synced;
  synced.set_type(v1::EVENT_TYPE_SYNCED);
  sink->OnEvent(synced);
  int64_t id = next_watch_++;
  watchers_[id] = Watcher{request, sink};
  return std::make_unique<Handle>(this, id);
}

absl::StatusOr<v1::BatchProvisionResponse> FakeInstancePlugin::BatchProvision(
    const v1::BatchProvisionRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    ++batch_provision_calls_;
  }
  // Not under mu_: each item takes it in Provision.
  return InstancePlugin::BatchProvision(request);
}

absl::StatusOr<v1::BatchDestroyResponse> FakeInstancePlugin::BatchDestroy(
    const v1::BatchDestroyRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    ++batch_destroy_calls_;
  }
  return InstancePlugin::BatchDestroy(request);
}

void FakeInstancePlugin::Notify(const v1::Description* before, const v1::Description* after) {
  for (const auto& [id, watcher] : watchers_) {
    const auto& tags = watcher.request.tags();
    bool was = before != nullptr && HasTags(*before, tags);
    bool is = after != nullptr && HasTags(*after, tags);
    bool props = watcher.request.include_properties();
    if (was && is) {
      watcher.sink->OnEvent(Event(v1::EVENT_TYPE_CHANGED, *after, props));
    } else if (is) {
      watcher.sink->OnEvent(Event(v1::EVENT_TYPE_ADDED, *after, props));
    } else if (was) {
      watcher.sink->OnEvent(Event(v1::EVENT_TYPE_REMOVED, *before, props));
    }
  }
}

void FakeInstancePlugin::Unwatch(int64_t id) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(id);
  ++destroyed_handles_;
}

void FakeInstancePlugin::SetWatchSupported(bool supported) {
  absl::MutexLock lock(&mu_);
  watch_supported_ = supported;
}

void FakeInstancePlugin::BlockCalls() {
  absl::MutexLock lock(&mu_);
  blocked_ = true;
}

void FakeInstancePlugin::UnblockCalls() {
  absl::MutexLock lock(&mu_);
  blocked_ = false;
}

int FakeInstancePlugin::blocked_calls() const {
  absl::MutexLock lock(&mu_);
  return blocked_calls_;
}

int FakeInstancePlugin::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

int FakeInstancePlugin::provision_calls() const {
  absl::MutexLock lock(&mu_);
  return provision_calls_;
}

int FakeInstancePlugin::destroy_calls() const {
  absl::MutexLock lock(&mu_);
  return destroy_calls_;
}

int FakeInstancePlugin::batch_provision_calls() const {
  absl::MutexLock lock(&mu_);
  return batch_provision_calls_;
}

int FakeInstancePlugin::batch_destroy_calls() const {
  absl::MutexLock lock(&mu_);
  return batch_destroy_calls_;
}

void FakeInstancePlugin::FailNthProvision(int n, absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_in_ = n > 0 ? n : 0;
  fail_status_ = std::move(status);
}

int FakeInstancePlugin::open_watches() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(watchers_.size());
}

int FakeInstancePlugin::destroyed_handles() const {
  absl::MutexLock lock(&mu_);
  return destroyed_handles_;
}

void FakeInstancePlugin::EndWatches(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, watcher] : watchers_) watcher.sink->OnDone(status);
  watchers_.clear();
}

}  // namespace infrakit::client::testing
