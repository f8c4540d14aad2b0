// What every part of the group controller shares: its options and injected dependencies, the
// one lock over all group state, the groups themselves, and how work is posted and timed.
//
// The parts (events.h, persistence.h, health.h, destruction.h, creation.h, membership.h,
// rollout.h, and the sync loop reconciler.h) each own one concern and reach each other through
// the Parts table; the Controller facade (controller.h) owns the Runtime, the parts and the public
// operations.
//
// Threading: `mu` guards every Group and the map of groups. Methods named ...Locked require
// it. Tasks posted here run on the executor without it, and do nothing once the controller is
// gone (they hold the controller alive while they run). Plugins, the store and callbacks are
// never called while holding it. Every part takes `mu` through a StepLock, which publishes
// what readers see of the groups the step touched (`views`) before releasing it: readers
// (ListGroups, InspectGroup) read `views` and never take `mu`.
#ifndef INFRAKIT_SERVICES_GROUP_RUNTIME_H_
#define INFRAKIT_SERVICES_GROUP_RUNTIME_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/group/clock.h"
#include "services/group/controller_options.h"
#include "services/group/executor.h"
#include "services/group/group_state.h"
#include "services/group/group_view.h"
#include "services/group/retry.h"
#include "services/group/store.h"
#include "spi/plugin_resolver.h"

namespace infrakit::services::group {

class Events;
class Persistence;
class Health;
class Membership;
class Creation;
class Destruction;
class Rollout;

// How a part asks for a pass of the group's sync loop (the Reconciler implements it): the one
// call that goes from the parts up to the loop that drives them.
class PassScheduler {
 public:
  virtual ~PassScheduler() = default;
  // Schedules one pass of `g` (coalesced with one already scheduled). Requires the lock.
  virtual void ScheduleReconcileLocked(Group* g) = 0;
  // Makes sure a pass runs at `t` (or earlier). Requires the lock.
  virtual void WakeAtLocked(Group* g, absl::Time t) = 0;
  // Notes whether the group's work ran out (see ControllerOptions::on_quiet). Requires the lock.
  virtual void NoteQuietLocked(Group* g) = 0;
};

// The parts, for the calls they make to each other: each calls only parts below it (events,
// persistence, health, destruction, creation, membership, rollout, in that order) and the
// sync loop through `passes`. Set once by the facade before any use.
struct Parts {
  Events* events = nullptr;
  Persistence* persistence = nullptr;
  Health* health = nullptr;
  Membership* membership = nullptr;
  Creation* creation = nullptr;
  Destruction* destruction = nullptr;
  Rollout* rollout = nullptr;
  PassScheduler* passes = nullptr;
};

// Things to destroy after releasing the lock (a watch handle may wait for its sink's call to
// return, and that call may be waiting for the lock).
struct Trash {
  // Declared first, destroyed last: a sink outlives its handle.
  std::vector<std::shared_ptr<spi::instance::WatchSink>> sinks;
  std::vector<std::unique_ptr<spi::instance::WatchHandle>> handles;
  void Clear() {
    handles.clear();
    sinks.clear();
  }
  ~Trash() { Clear(); }
};

// The executor the parts post to. A task posted during a step (by the thread holding the
// StepLock) reaches the real executor only when the step ends, after the step's views are
// published: nothing a step starts (a done callback, a streamed event or update message) can
// reach a client before what readers see shows that step. Other posts go through at once.
// Thread-safe.
class StepExecutor final : public Executor {
 public:
  explicit StepExecutor(Executor* inner) : inner_(inner) {}
  void Post(std::function<void()> task) override;

  // The calling thread begins a step (it holds the controller's lock).
  void BeginStep();
  // The step ends: its tasks go to the real executor, in the order they were posted.
  void EndStep();

 private:
  Executor* const inner_;
  // The thread in a step (none: default), and the tasks it posted. Written only by the thread
  // holding the controller's lock; read by any poster.
  std::atomic<std::thread::id> step_thread_{};
  std::vector<std::function<void()>> deferred_;
};

class Runtime {
 public:
  Runtime(ControllerOptions options, spi::PluginResolver* resolver, Store* store, Clock* clock,
          Executor* executor);

  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // What keeps the controller alive while a posted task runs: tasks lock it first and do
  // nothing once it is gone. Set once, right after the controller is made.
  void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }
  std::weak_ptr<void> owner() const { return owner_; }

  // Runs `fn` on the executor (never inline).
  void Post(std::function<void()> fn);
  // Runs `fn` on the executor at `when`.
  TimerId At(absl::Time when, std::function<void()> fn);
  // At `when`, runs fn(g) under the lock if group `g` (this incarnation of its ID) is still
  // there then.
  TimerId AtGroupLocked(Group* g, absl::Time when, std::function<void(Group*)> fn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Posts fn(g) to run under the lock if group `g` (this incarnation) is still there then.
  void PostGroupLocked(Group* g, std::function<void(Group*)> fn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Cancels a timer and zeroes its ID (0 is ignored).
  void CancelTimer(TimerId* id);

  // The group `id` (not one still starting); nullptr when there is none. A group found is
  // published when the step ends (MarkViewDirtyLocked).
  Group* FindLocked(absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The group `id` if it is still incarnation `uid` and the controller is not shut down.
  Group* FindUidLocked(const std::string& id, int64_t uid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // The backoff of failing work, from the options.
  BackoffPolicy backoff() const {
    return BackoffPolicy{options.backoff_initial, options.backoff_max};
  }
  absl::Time Now() const { return clock->Now(); }

  // Group `g` is published to `views` when the current step ends (StepLock).
  void MarkViewDirtyLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    g->view_dirty = true;
    any_view_dirty_ = true;
  }
  // Publishes the view of every group marked dirty during the step (not one still starting):
  // its spec, its status and a snapshot of its published members, brought in step with the
  // members the step touched (Group::SyncPublishedMembers). O(groups) plus O(touched members).
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Readers no longer see group `g` (it is forgotten).
  void UnpublishLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { views.Remove(g->id); }

  const ControllerOptions options;
  // options.metrics, or one that records nothing: never null.
  ControllerMetrics* const metrics;
  spi::PluginResolver* const resolver;
  Store* const store;
  Clock* const clock;
  // Wraps the injected executor: declared before `executor`, which points to it.
  StepExecutor step_executor;
  Executor* const executor;
  // Tells this process's idempotency keys from another's.
  const std::string nonce;
  Parts parts;

  absl::Mutex mu;
  bool shut_down ABSL_GUARDED_BY(mu) = false;
  int64_t next_uid ABSL_GUARDED_BY(mu) = 1;
  absl::btree_map<std::string, std::unique_ptr<Group>> groups ABSL_GUARDED_BY(mu);
  // What readers see: written under `mu` at the end of each step, read without it.
  GroupViews views;

 private:
  void PublishGroupLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  std::weak_ptr<void> owner_;
  bool any_view_dirty_ ABSL_GUARDED_BY(mu) = false;
};

// The controller's lock for one step: locks `rt->mu`, and before unlocking publishes the groups
// the step touched (Runtime::PublishLocked), so that what readers see is never older than the
// last step that ended. Use it wherever the parts take the controller's lock.
class ABSL_SCOPED_LOCKABLE StepLock {
 public:
  explicit StepLock(Runtime* rt) ABSL_EXCLUSIVE_LOCK_FUNCTION(rt->mu) : rt_(rt) {
    rt_->mu.Lock();
    rt_->step_executor.BeginStep();
  }
  ~StepLock() ABSL_UNLOCK_FUNCTION() {
    rt_->PublishLocked();
    rt_->step_executor.EndStep();
    rt_->mu.Unlock();
  }

  StepLock(const StepLock&) = delete;
  StepLock& operator=(const StepLock&) = delete;

 private:
  Runtime* const rt_;
};

// `s` with `prefix` before its message, same code.
absl::Status Prefixed(const absl::Status& s, absl::string_view prefix);

google::protobuf::Timestamp ToProto(absl::Time t);
absl::Time FromProto(const google::protobuf::Timestamp& t);

// NOT_FOUND "group "<id>" is not watched".
absl::Status GroupNotFound(absl::string_view id);

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_RUNTIME_H_
