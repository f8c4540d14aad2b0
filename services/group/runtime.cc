#include "services/group/runtime.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"

namespace infrakit::services::group {
namespace {

std::string NewNonce() {
  absl::BitGen gen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
}

}  // namespace

Runtime::Runtime(ControllerOptions options, spi::PluginResolver* resolver, Store* store,
                 Clock* clock, Executor* executor)
    : options(std::move(options)),
      metrics(this->options.metrics != nullptr ? this->options.metrics : NoControllerMetrics()),
      resolver(resolver),
      store(store),
      clock(clock),
      step_executor(executor),
      executor(&this->step_executor),
      nonce(this->options.idempotency_nonce.empty() ? NewNonce()
                                                    : this->options.idempotency_nonce) {}

void StepExecutor::Post(std::function<void()> task) {
  if (step_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
    deferred_.push_back(std::move(task));
    return;
  }
  inner_->Post(std::move(task));
}

void StepExecutor::BeginStep() {
  step_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
}

void StepExecutor::EndStep() {
  step_thread_.store(std::thread::id(), std::memory_order_relaxed);
  std::vector<std::function<void()>> tasks;
  tasks.swap(deferred_);
  for (auto& task : tasks) inner_->Post(std::move(task));
}

void Runtime::Post(std::function<void()> fn) {
  executor->Post([owner = owner_, fn = std::move(fn)] {
    if (auto alive = owner.lock()) fn();
  });
}

TimerId Runtime::At(absl::Time when, std::function<void()> fn) {
  return clock->Schedule(when, [this, owner = owner_, fn = std::move(fn)] {
    // Timers fire on the clock's thread: the work goes to the executor.
    if (auto alive = owner.lock()) Post(fn);
  });
}

TimerId Runtime::AtGroupLocked(Group* g, absl::Time when, std::function<void(Group*)> fn) {
  return At(when, [this, id = g->id, uid = g->uid, fn = std::move(fn)] {
    StepLock lock(this);
    Group* g = FindUidLocked(id, uid);
    if (g != nullptr) fn(g);
  });
}

void Runtime::PostGroupLocked(Group* g, std::function<void(Group*)> fn) {
  Post([this, id = g->id, uid = g->uid, fn = std::move(fn)] {
    StepLock lock(this);
    Group* g = FindUidLocked(id, uid);
    if (g != nullptr) fn(g);
  });
}

void Runtime::CancelTimer(TimerId* id) {
  if (*id != 0) clock->Cancel(*id);
  *id = 0;
}

Group* Runtime::FindLocked(absl::string_view id) {
  auto it = groups.find(std::string(id));
  if (it == groups.end() || it->second->starting) return nullptr;
  MarkViewDirtyLocked(it->second.get());
  return it->second.get();
}

void Runtime::PublishLocked() {
  if (!any_view_dirty_) return;
  any_view_dirty_ = false;
  for (auto& [id, g] : groups) {
    if (!g->view_dirty) continue;
    g->view_dirty = false;
    if (!g->starting) PublishGroupLocked(g.get());
  }
}

void Runtime::PublishGroupLocked(Group* g) {
  auto view = std::make_shared<GroupView>();
  view->spec = g->spec;
  view->status = GroupStatusOf(g);  // syncs g->published_members
  view->members = g->published_members.snapshot();
  views.Publish(g->id, std::move(view));
}

Group* Runtime::FindUidLocked(const std::string& id, int64_t uid) {
  if (shut_down) return nullptr;
  Group* g = FindLocked(id);
  return g != nullptr && g->uid == uid ? g : nullptr;
}

absl::Status Prefixed(const absl::Status& s, absl::string_view prefix) {
  return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(t));
}

absl::Status GroupNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("group \"", id, "\" is not watched"));
}

}  // namespace infrakit::services::group
