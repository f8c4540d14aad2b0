#include "services/group/controller.h"

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "client/config/group_config.h"
#include "glog/logging.h"
#include "google/protobuf/util/time_util.h"
#include "services/group/planner.h"
#include "services/group/state.pb.h"
#include "services/group/stream.h"
#include "spi/item_status.h"

namespace infrakit::services::group {
namespace {

using ::infrakit::client::config::ConfigSha;
using ::infrakit::client::config::ValidateGroupSpec;

constexpr char kGroupTag[] = "infrakit.group";
constexpr char kShaTag[] = "infrakit.config_sha";
constexpr char kLogicalIdTag[] = "infrakit.logical_id";
// Sequence numbers are reserved (persisted) in blocks, so that not every creation writes state.
constexpr int64_t kSequenceBlock = 1024;
constexpr double kDefaultHealthDeadlineSeconds = 300;
constexpr double kDefaultUnhealthySeconds = 60;
constexpr int64_t kDefaultMaxUnhealthyPercent = 50;
constexpr double kDefaultInitialDelaySeconds = 10;
constexpr double kDefaultProbeIntervalSeconds = 1;

// See ScheduleReconcileLocked.
constexpr int kPassPacing = 3;

// A few items go in one batch call rather than one each in several: a call's fixed cost (a
// gRPC round trip, ~100 us of CPU each side here) is that of many items.
constexpr size_t kMinPerCall = 16;

bool IsPets(const gv1::GroupSpec& spec) { return spec.allocation().has_logical_ids(); }

// A group's remediation timings, defaults applied.
struct RemediationTiming {
  // How long a member must be seen UNHEALTHY before it is replaced.
  absl::Duration threshold;
  // The startup grace of a member that has not been HEALTHY yet.
  absl::Duration initial_delay;
  // How often pending verdicts are checked again.
  absl::Duration probe_interval;
};

RemediationTiming TimingOf(const gv1::RemediationPolicy& r) {
  auto or_default = [](double v, double d) { return absl::Seconds(v > 0 ? v : d); };
  return RemediationTiming{
      or_default(r.unhealthy_seconds(), kDefaultUnhealthySeconds),
      or_default(r.initial_delay_seconds(), kDefaultInitialDelaySeconds),
      or_default(r.probe_interval_seconds(), kDefaultProbeIntervalSeconds)};
}

// The update is rolling: neither paused nor stopped.
bool Rolling(const UpdateState& u) { return u.active() && !u.paused() && !u.stopped(); }

absl::Status Prefixed(const absl::Status& s, absl::string_view prefix) {
  return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
}

absl::Duration Backoff(const ControllerOptions& o, int failures) {
  absl::Duration d = o.backoff_initial;
  for (int i = 1; i < failures && d < o.backoff_max; ++i) d *= 2;
  return std::min(d, o.backoff_max);
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(t));
}

std::string TagOf(const iv1::Description& d, const char* key) {
  auto it = d.tags().find(key);
  return it == d.tags().end() ? std::string() : it->second;
}

std::string Plural(int64_t n, absl::string_view what) {
  return absl::StrCat(n, " ", what, n == 1 ? "" : "s");
}

class StreamSubscription : public Subscription {
 public:
  StreamSubscription(std::function<void()> cancel_stream, std::function<void()> detach)
      : cancel_stream_(std::move(cancel_stream)), detach_(std::move(detach)) {}
  ~StreamSubscription() override { Cancel(); }

  void Cancel() override {
    std::function<void()> cancel, detach;
    {
      absl::MutexLock lock(&mu_);
      cancel.swap(cancel_stream_);
      detach.swap(detach_);
    }
    if (cancel) cancel();
    if (detach) detach();
  }

 private:
  absl::Mutex mu_;
  std::function<void()> cancel_stream_ ABSL_GUARDED_BY(mu_);
  std::function<void()> detach_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

class Controller::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(ControllerOptions options, spi::PluginResolver* resolver, Store* store, Clock* clock,
       Executor* executor)
      : options_(options),
        resolver_(resolver),
        store_(store),
        clock_(clock),
        executor_(executor) {
    absl::BitGen gen;
    nonce_ = absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
  }

  absl::Status Start();
  void Shutdown();
  absl::StatusOr<gv1::WatchGroupResponse> WatchGroup(const gv1::WatchGroupRequest& request);
  absl::Status UnwatchGroup(const gv1::UnwatchGroupRequest& request);
  absl::StatusOr<gv1::InspectGroupResponse> InspectGroup(const gv1::InspectGroupRequest& request);
  absl::StatusOr<gv1::DescribeUpdateResponse> DescribeUpdate(
      const gv1::DescribeUpdateRequest& request);
  absl::StatusOr<std::unique_ptr<Subscription>> UpdateGroup(const gv1::UpdateGroupRequest& request,
                                                            UpdateProgressCallback on_progress,
                                                            StreamEndCallback on_end);
  absl::Status StopUpdate(const gv1::StopUpdateRequest& request);
  void DestroyGroup(const gv1::DestroyGroupRequest& request,
                    DoneCallback<gv1::DestroyGroupResponse> done);
  gv1::ListGroupsResponse ListGroups();
  absl::StatusOr<gv1::SetSizeResponse> SetSize(const gv1::SetSizeRequest& request);
  void DestroyInstances(const gv1::DestroyInstancesRequest& request,
                        DoneCallback<gv1::DestroyInstancesResponse> done);
  absl::StatusOr<std::unique_ptr<Subscription>> StreamGroupEvents(
      const gv1::StreamGroupEventsRequest& request, GroupEventCallback on_event,
      StreamEndCallback on_end);

 private:
  class Sink;
  using UpdateStream = Stream<gv1::UpdateGroupResponse>;
  using EventStream = Stream<gv1::GroupEvent>;

  struct Member {
    iv1::Description desc;
    std::string sha;
    std::string lid;
    fv1::Health health = fv1::HEALTH_UNSPECIFIED;
    std::string health_reason;
    absl::Time healthy_since = absl::InfiniteFuture();
    absl::Time unhealthy_since = absl::InfiniteFuture();
    // When the last verdict came (InfinitePast: never).
    absl::Time checked_at = absl::InfinitePast();
    // Reported HEALTHY at least once: its startup grace is over.
    bool ever_healthy = false;
    // Its CREATED event (or adoption) has been said: until then its health is not checked, so
    // that no verdict about it comes before the event that introduces it (see
    // FillMemberLocked).
    bool announced = true;
    absl::Time created;
    // Chosen to be destroyed (queued or under way): no longer a member for decisions.
    bool doomed = false;
    // Drain + Destroy under way.
    bool destroying = false;
    iv1::DestroyReason destroy_reason = iv1::DESTROY_REASON_UNSPECIFIED;
    std::string destroy_why;
    bool remediation = false;
    // The DestroyInstances request it belongs to, 0 for none.
    int64_t request = 0;
    bool health_queued = false;
    // Reported ready to the running update.
    bool reported_ready = false;
    // The update (generation) whose creation it is; 0 when none.
    int64_t update_generation = 0;
    // Its health was last checked with the current spec's flavor section although it was not
    // created from it nor from the previous spec (an unknown config): the verdict says little
    // about it, so it is never grounds for destroying it.
    bool health_untrusted = false;
    // The flavor said its verdict cannot change (HealthyResponse.constant) when checked with the
    // member's own flavor section: the resync does not ask again while that section applies.
    bool health_constant = false;
  };

  // kErased: only while a slot is being erased (it leaves every count).
  enum class SlotState { kQueued, kInFlight, kCreated, kErased };

  // A creation decided on and not yet listed.
  struct Slot {
    std::string key;
    std::string lid;
    int64_t sequence = 0;
    SlotState state = SlotState::kQueued;
    std::string instance_id;
    absl::Time provisioned_at;
    absl::Time first_failure = absl::InfiniteFuture();
    bool remediation = false;
    // The update (generation) that wanted it; 0 when none was running.
    int64_t update_generation = 0;
  };

  struct DestroyRequest {
    int pending = 0;
    std::vector<std::string> destroyed;
    absl::Status first_error;
    DoneCallback<gv1::DestroyInstancesResponse> done;
  };

  // Serialises the store writes of one group and remembers what was written.
  struct Writer {
    absl::Mutex mu;
    int64_t written = 0;
  };

  struct Group {
    std::string id;
    // Tells incarnations of a group ID apart (unwatch + watch), so stale task results are
    // dropped.
    int64_t uid = 0;
    // Reserved by WatchGroup while it validates and persists: invisible to everything else.
    bool starting = false;
    gv1::GroupSpec spec;
    std::string sha;
    UpdateState update;
    int64_t update_generation = 0;
    // ConfigSha(update.previous_spec()), computed for update generation
    // `previous_sha_generation` (-1: not yet).
    std::string previous_sha;
    int64_t previous_sha_generation = -1;
    int64_t next_sequence = 1;
    int64_t sequence_reserved = 0;
    bool destroying = false;
    std::vector<DoneCallback<gv1::DestroyGroupResponse>> destroy_waiters;
    // Instances destroyed since the group began being destroyed (the DestroyGroup answer):
    // its members then, including destroys already under way, and any that appeared since.
    int64_t destroyed_count = 0;
    bool finishing = false;

    // Membership.
    bool known = false;
    bool polling = false;
    int64_t listing_gen = 0;
    bool listing_in_flight = false;
    absl::Time listing_started;
    bool watch_synced = false;
    absl::btree_map<std::string, iv1::Description> initial;
    std::shared_ptr<Sink> sink;
    std::unique_ptr<spi::instance::WatchHandle> handle;
    int listing_failures = 0;
    bool empty_suspect = false;

    absl::btree_map<std::string, Member> members;
    // Members with doomed set, and slots in state kQueued: kept current as they change so that
    // a steady group's pass needs no walk over thousands of members (DecideSteadyCattleLocked).
    int64_t doomed_members = 0;
    // Members listed while creations were under way that no creation has claimed yet (see
    // FillMemberLocked).
    absl::flat_hash_set<std::string> unannounced;
    // Nothing queued or under way at the end of the last pass (see ControllerOptions::on_quiet).
    bool quiet = true;
    int64_t queued_slots = 0;
    int64_t in_flight_slots = 0;
    // The kCreated slots by (provisioned_at, sequence): the ones lost first come first.
    absl::btree_set<std::pair<absl::Time, int64_t>> created_slots;
    absl::btree_map<int64_t, Slot> slots;  // by sequence
    absl::flat_hash_map<std::string, int64_t> slot_by_key;
    absl::flat_hash_map<std::string, int64_t> slot_by_instance;
    absl::flat_hash_map<std::string, absl::Time> recently_destroyed;
    // Instances listed and then removed while a Provision was under way (when), forgotten
    // after listing_grace: one of them may be the instance that Provision is creating, dead
    // before the call returned, and then its creation is settled as gone at once.
    absl::flat_hash_map<std::string, absl::Time> vanished_early;
    std::deque<std::string> destroy_queue;
    int in_flight_provisions = 0;
    int in_flight_destroys = 0;
    int provision_failures = 0;
    absl::Time provision_retry_at = absl::InfinitePast();
    int destroy_failures = 0;
    absl::Time destroy_retry_at = absl::InfinitePast();
    int64_t remediation_debt = 0;
    bool breaker_open = false;

    std::string instance_error;
    std::string flavor_error;
    std::string last_error;

    std::deque<std::string> health_queue;
    int health_running = 0;
    // See PumpHealthLocked: the timer of members waiting for others, and its firing.
    TimerId health_gather_timer = 0;
    bool health_gathered = false;

    TimerId resync_timer = 0;
    TimerId wake_timer = 0;
    absl::Time wake_at = absl::InfiniteFuture();
    // Re-checks of pending verdicts (a running update's new members, remediation).
    TimerId recheck_timer = 0;
    TimerId listing_timer = 0;
    TimerId write_timer = 0;
    bool reconcile_posted = false;
    // Pacing of reconcile passes (see ScheduleReconcileLocked): no scheduled pass starts before
    // next_pass_at; pass_timer is the timer of a pass waiting for that moment.
    absl::Time next_pass_at = absl::InfinitePast();
    TimerId pass_timer = 0;

    std::shared_ptr<UpdateStream> update_stream;
    // The most members the running update has reported updated: its count never goes back
    // when a ready member's verdict flaps.
    int64_t updated_high = 0;
    // Step messages of the update waiting to be sent together (see ProgressLocked).
    std::vector<std::string> pending_progress;
    bool progress_posted = false;
    std::vector<std::shared_ptr<EventStream>> event_streams;

    int64_t dirty = 0;
    bool write_posted = false;
    int write_failures = 0;
    std::shared_ptr<Writer> writer = std::make_shared<Writer>();

    absl::btree_map<int64_t, DestroyRequest> requests;
    int64_t next_request = 1;
  };

  // Things to destroy after releasing the lock (a watch handle may wait for its sink's call to
  // return, and that call may be waiting for the lock).
  struct Trash {
    // Declared first, destroyed last: a sink outlives its handle.
    std::vector<std::shared_ptr<Sink>> sinks;
    std::vector<std::unique_ptr<spi::instance::WatchHandle>> handles;
    void Clear() {
      handles.clear();
      sinks.clear();
    }
    ~Trash() { Clear(); }
  };

  Group* FindLocked(absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Group* FindUidLocked(const std::string& id, int64_t uid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status NotFound(absl::string_view id) {
    return absl::NotFoundError(absl::StrCat("group \"", id, "\" is not watched"));
  }

  // --- Tasks and timers. ---
  void Post(std::function<void(Impl*)> fn);
  TimerId At(absl::Time when, std::function<void(Impl*)> fn);
  // At `when`, runs fn(self, g) under the lock if group `g` (this incarnation of its ID) is still
  // there then.
  TimerId AtGroupLocked(Group* g, absl::Time when, std::function<void(Impl*, Group*)> fn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleReconcileLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Reconcile(const std::string& id, int64_t uid);
  void ReconcileLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Decide() for a steady group of cattle (no update, no remediation, no extras) from counts
  // alone, into `d`; false when the group is not in that case (then Decide is needed).
  bool DecideSteadyCattleLocked(Group* g, Decision* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReconcileDestroyLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a health check of every member whose verdict is pending (see ReconcileLocked).
  void RecheckPendingLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a stopped update once no member of another config is left.
  void EndStoppedUpdateLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Notes whether the group's work ran out; calls options_.on_quiet when it just did.
  void NoteQuietLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WakeAtLocked(Group* g, absl::Time t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Resync(const std::string& id, int64_t uid);

  // --- Membership. ---
  void StartGroupLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartListingLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WatchTask(const std::string& id, int64_t uid, int64_t gen);
  void PollTask(const std::string& id, int64_t uid, int64_t gen);
  void ListingFailedLocked(Group* g, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWatchEvent(const std::string& id, int64_t uid, int64_t gen,
                    const iv1::WatchResponse& event);
  void OnWatchDone(const std::string& id, int64_t uid, int64_t gen, const absl::Status& status);
  void ApplyListingLocked(Group* g, absl::btree_map<std::string, iv1::Description> listing,
                          absl::Time started) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpsertLocked(Group* g, const iv1::Description& d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveLocked(Group* g, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FillMemberLocked(Group* g, Member* m, const iv1::Description& d, bool is_new)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Says a member is there (its health may be checked from now on).
  void AnnounceLocked(Group* g, Member* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Announces the members no creation claimed, once no creation is under way.
  void AnnounceUnclaimedLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Work. ---
  void CreateSlotLocked(Group* g, const std::string& lid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A new queued slot for `lid` with a fresh sequence and idempotency key.
  Slot& NewSlotLocked(Group* g, const std::string& lid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A member that vanished (not destroyed by us) may be the instance of a Provision still
  // under way: remembers it for that Provision's return.
  void NoteVanishedLocked(Group* g, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseSlotLocked(Group* g, int64_t seq) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Changes a slot's state, keeping the group's queued_slots / in_flight_slots counts.
  void SetSlotStateLocked(Group* g, Slot* s, SlotState state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets creations listed nowhere `listing_grace` after Provision returned, as of `as_of`
  // (and absent from `listing`, when given).
  void DropLostSlotsLocked(Group* g, absl::Time as_of,
                           const absl::btree_map<std::string, iv1::Description>* listing)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpProvisionsLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Prepares and provisions the queued slots `seqs` in one BatchPrepare (cattle) or one Prepare
  // per pet, then one BatchProvision; settles each slot.
  // `attempt` is the group's provision_failures when the call was started.
  void ProvisionTask(const std::string& id, int64_t uid, const std::vector<int64_t>& seqs,
                     int attempt);
  // How many of `queued` items one of `parallel` calls carries.
  size_t BatchSizeLocked(size_t queued, int parallel, int max) const;
  void OnProvisionDoneLocked(Group* g, int64_t seq, bool flavor_stage,
                             const absl::StatusOr<iv1::ProvisionResponse>& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DoomLocked(Group* g, Member* m, iv1::DestroyReason reason, const std::string& why,
                  bool remediation, int64_t request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpDestroysLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drains (BatchDrain per flavor section) and destroys (BatchDestroy) the doomed members
  // `instances`; settles each.
  // `attempt` is the group's destroy_failures when the call was started.
  void DestroyTask(const std::string& id, int64_t uid, const std::vector<std::string>& instances,
                   int attempt);
  void OnDestroyDoneLocked(Group* g, const std::string& instance,
                           const absl::Status& result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishRequestMemberLocked(Group* g, int64_t request, const std::string& instance,
                                 const absl::Status& result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void QueueHealthLocked(Group* g, Member* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpHealthLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Checks the health of the members `instances` (BatchHealthy per flavor section).
  void HealthTask(const std::string& id, int64_t uid, const std::vector<std::string>& instances);
  // Settles one member's health check.
  void OnHealthLocked(Group* g, const std::string& instance, const std::string& plugin, bool own,
                      const absl::StatusOr<fv1::HealthyResponse>& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The flavor section `m` was created from, by its config_sha: the current spec's, or the
  // previous spec's (kept during an update for rollback). When it is neither (an unknown
  // config), the current spec's, and `*own` is set to false (else true).
  const gv1::PluginSpec& MemberFlavorLocked(Group* g, const Member& m, bool* own)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Updates. ---
  void TrackUpdateLocked(Group* g, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailUpdateLocked(Group* g, const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends what pending_progress holds, with counts computed once.
  void FlushProgressLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ProgressLocked(Group* g, gv1::UpdatePhase phase, const std::string& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndUpdateStreamLocked(Group* g, gv1::UpdatePhase phase, const std::string& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t UpdatedCountLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool MemberReadyLocked(Group* g, const Member& m, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // When `m`'s UNHEALTHY verdicts start to count: at once for a member that has been HEALTHY,
  // else at the end of its startup grace (and never before it was first seen UNHEALTHY).
  static absl::Time UnhealthyWindowStart(const Member& m, const RemediationTiming& timing);
  // `m` has been seen UNHEALTHY at both ends of the threshold window: its latest verdict, still
  // UNHEALTHY, came at least `threshold` after the window started. A verdict older than the
  // window never condemns a member (it is checked again every probe interval meanwhile).
  static bool Remediable(const Member& m, const RemediationTiming& timing);
  // Its verdict is pending for remediation: not HEALTHY, not being destroyed, and checked with
  // its own flavor section; such members are re-checked every probe interval.
  static bool RemediationPending(const Member& m);
  std::vector<MemberView> MemberViewsLocked(Group* g, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<SlotView> SlotViewsLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckUpdatableLocked(Group* g, const gv1::GroupSpec& spec)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Status, events, persistence. ---
  gv1::GroupStatus StatusLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EmitLocked(Group* g, gv1::GroupEventType type, const std::string& instance,
                  const std::string& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ErrorLocked(Group* g, const std::string& instance, const std::string& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  GroupRecord RecordLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkDirtyLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Flush(const std::string& id, int64_t uid, std::shared_ptr<Writer> writer);
  void WriteTask(const std::string& id, int64_t uid);
  int64_t NextSequenceLocked(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ValidateWithPlugins(const gv1::GroupSpec& spec);
  void RemoveGroupLocked(Group* g, const absl::Status& end, const std::string& why, Trash* trash)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishDestroy(const std::string& id, int64_t uid);
  std::unique_ptr<Group> NewGroupLocked(const gv1::GroupSpec& spec)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ControllerOptions options_;
  spi::PluginResolver* const resolver_;
  Store* const store_;
  Clock* const clock_;
  Executor* const executor_;
  std::string nonce_;

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  int64_t next_uid_ ABSL_GUARDED_BY(mu_) = 1;
  absl::btree_map<std::string, std::unique_ptr<Group>> groups_ ABSL_GUARDED_BY(mu_);
};

// Forwards one watch's events to the controller, tagged with the listing generation they
// belong to (events of a replaced watch are dropped).
class Controller::Impl::Sink : public spi::instance::WatchSink {
 public:
  Sink(std::weak_ptr<Impl> impl, std::string id, int64_t uid, int64_t gen)
      : impl_(std::move(impl)), id_(std::move(id)), uid_(uid), gen_(gen) {}

  void OnEvent(const iv1::WatchResponse& event) override {
    if (auto impl = impl_.lock()) impl->OnWatchEvent(id_, uid_, gen_, event);
  }
  void OnDone(const absl::Status& status) override {
    if (auto impl = impl_.lock()) impl->OnWatchDone(id_, uid_, gen_, status);
  }

 private:
  const std::weak_ptr<Impl> impl_;
  const std::string id_;
  const int64_t uid_;
  const int64_t gen_;
};

// ------------------------------------------------------------------------------------------
// Tasks and timers.

void Controller::Impl::Post(std::function<void(Impl*)> fn) {
  executor_->Post([weak = weak_from_this(), fn = std::move(fn)] {
    if (auto self = weak.lock()) fn(self.get());
  });
}

TimerId Controller::Impl::At(absl::Time when, std::function<void(Impl*)> fn) {
  return clock_->Schedule(when, [weak = weak_from_this(), ex = executor_, fn = std::move(fn)] {
    ex->Post([weak, fn] {
      if (auto self = weak.lock()) fn(self.get());
    });
  });
}

TimerId Controller::Impl::AtGroupLocked(Group* g, absl::Time when,
                                        std::function<void(Impl*, Group*)> fn) {
  return At(when, [id = g->id, uid = g->uid, fn = std::move(fn)](Impl* self) {
    absl::MutexLock lock(&self->mu_);
    Group* g = self->FindUidLocked(id, uid);
    if (g != nullptr) fn(self, g);
  });
}

Controller::Impl::Group* Controller::Impl::FindLocked(absl::string_view id) {
  auto it = groups_.find(std::string(id));
  if (it == groups_.end() || it->second->starting) return nullptr;
  return it->second.get();
}

Controller::Impl::Group* Controller::Impl::FindUidLocked(const std::string& id, int64_t uid) {
  if (shut_down_) return nullptr;
  Group* g = FindLocked(id);
  return g != nullptr && g->uid == uid ? g : nullptr;
}

void Controller::Impl::ScheduleReconcileLocked(Group* g) {
  if (g->reconcile_posted) return;
  g->reconcile_posted = true;
  // A pass costs O(members). Run back to back, one per event, the passes of a group of
  // thousands, whose events come every few hundred microseconds while it converges, took all
  // of a core (tools/bench: 3/4 of the group service's CPU converging 10,000), the core the
  // plugins doing the actual work needed. So a pass waits, after the previous one, kPassPacing
  // times as long as that one took: passes take at most a quarter of a core and one pass
  // handles every event that came meanwhile. A quick pass (a small group, tens of microseconds)
  // delays nothing noticeable; at 10,000 members a pass waits a few milliseconds.
  if (clock_->Now() < g->next_pass_at) {
    g->pass_timer = At(g->next_pass_at,
                       [id = g->id, uid = g->uid](Impl* self) { self->Reconcile(id, uid); });
    return;
  }
  Post([id = g->id, uid = g->uid](Impl* self) { self->Reconcile(id, uid); });
}

void Controller::Impl::Reconcile(const std::string& id, int64_t uid) {
  absl::MutexLock lock(&mu_);
  Group* g = FindUidLocked(id, uid);
  if (g == nullptr) return;
  g->reconcile_posted = false;
  g->pass_timer = 0;
  const absl::Time start = clock_->Now();
  ReconcileLocked(g);
  const absl::Time end = clock_->Now();
  g->next_pass_at = end + kPassPacing * (end - start);
}

void Controller::Impl::WakeAtLocked(Group* g, absl::Time t) {
  if (t == absl::InfiniteFuture()) return;
  // A moment already past would fire at once and find nothing new: never a timer loop.
  t = std::max(t, clock_->Now() + absl::Milliseconds(1));
  if (g->wake_timer != 0 && g->wake_at <= t) return;
  if (g->wake_timer != 0) clock_->Cancel(g->wake_timer);
  g->wake_at = t;
  g->wake_timer = AtGroupLocked(g, t, [](Impl* self, Group* g) {
    g->wake_timer = 0;
    g->wake_at = absl::InfiniteFuture();
    self->ReconcileLocked(g);
  });
}

bool Controller::Impl::MemberReadyLocked(Group* g, const Member& m, absl::Time now) {
  if (m.health != fv1::HEALTH_HEALTHY) return false;
  absl::Duration min_ready = absl::Seconds(g->spec.update_policy().min_ready_seconds());
  return now - m.healthy_since >= min_ready;
}

std::vector<MemberView> Controller::Impl::MemberViewsLocked(Group* g, absl::Time now) {
  const RemediationTiming timing = TimingOf(g->spec.remediation());
  std::vector<MemberView> views;
  views.reserve(g->members.size());
  for (const auto& [id, m] : g->members) {
    MemberView v;
    v.id = id;
    v.logical_id = m.lid;
    v.config_sha = m.sha;
    v.health = m.health;
    if (m.health_untrusted && m.health != fv1::HEALTH_HEALTHY &&
        m.health != fv1::HEALTH_UNSPECIFIED) {
      // Probed with another config's check: replaced in the normal outdated order (as a
      // healthy member, while the availability allows), never sooner, never remediated.
      v.health = fv1::HEALTH_HEALTHY;
    }
    const absl::Time grace_end = UnhealthyWindowStart(m, timing);
    if (v.health == fv1::HEALTH_UNHEALTHY && now < grace_end) {
      // Still starting (never HEALTHY, within its grace): pending, not unhealthy, for
      // remediation and the circuit breaker alike.
      v.health = fv1::HEALTH_UNKNOWN;
    }
    v.ready = MemberReadyLocked(g, m, now);
    v.destroying = m.doomed || m.destroying;
    v.remediable = v.health == fv1::HEALTH_UNHEALTHY && Remediable(m, timing);
    v.created = m.created;
    v.unhealthy_since = std::max(m.unhealthy_since, grace_end);
    views.push_back(std::move(v));
  }
  return views;
}

absl::Time Controller::Impl::UnhealthyWindowStart(const Member& m,
                                                   const RemediationTiming& timing) {
  if (m.ever_healthy) return m.unhealthy_since;
  return std::max(m.unhealthy_since, m.created + timing.initial_delay);
}

bool Controller::Impl::Remediable(const Member& m, const RemediationTiming& timing) {
  if (m.health != fv1::HEALTH_UNHEALTHY || m.health_untrusted) return false;
  const absl::Time start = UnhealthyWindowStart(m, timing);
  return m.checked_at >= start && m.checked_at - start >= timing.threshold;
}

bool Controller::Impl::RemediationPending(const Member& m) {
  return !m.doomed && !m.health_untrusted && m.health != fv1::HEALTH_HEALTHY;
}

std::vector<SlotView> Controller::Impl::SlotViewsLocked(Group* g) {
  std::vector<SlotView> views;
  views.reserve(g->slots.size());
  for (const auto& [seq, s] : g->slots) {
    views.push_back(SlotView{s.key, s.lid, s.state != SlotState::kQueued,
                             s.state == SlotState::kInFlight});
  }
  return views;
}

bool Controller::Impl::DecideSteadyCattleLocked(Group* g, Decision* d) {
  // The common case (a group of cattle converging or holding its size, no update running, no
  // remediation) needs counts only, not the planner's sorted views of every member: for a
  // group of thousands, building those (strings copied per member) was most of a pass's cost,
  // and a pass runs per batch of events. Decide gives the same answer here (planner_test
  // checks Decide; controller tests cover both paths).
  if (IsPets(g->spec) || g->update.active() || g->spec.remediation().enabled()) return false;
  const int64_t n = g->spec.allocation().size();
  const int64_t existing_members = static_cast<int64_t>(g->members.size());
  // (Only doomed members are ever destroying.)
  const int64_t live = existing_members - g->doomed_members;
  const int64_t started = static_cast<int64_t>(g->slots.size()) - g->queued_slots;
#ifndef NDEBUG
  // Tests (built without NDEBUG) check the counters against a count on every pass.
  int64_t slow_live = 0, slow_started = 0;
  for (const auto& [id, m] : g->members) {
    if (!m.doomed && !m.destroying) ++slow_live;
  }
  for (const auto& [seq, s] : g->slots) {
    if (s.state != SlotState::kQueued) ++slow_started;
  }
  CHECK_EQ(live, slow_live) << "doomed_members out of step";
  CHECK_EQ(started, slow_started) << "queued_slots out of step";
  int64_t slow_in_flight = 0;
  for (const auto& [seq, s] : g->slots) {
    if (s.state == SlotState::kInFlight) ++slow_in_flight;
  }
  CHECK_EQ(g->in_flight_slots, slow_in_flight) << "in_flight_slots out of step";
  size_t slow_created = 0;
  for (const auto& [seq, s] : g->slots) {
    if (s.state == SlotState::kCreated) {
      ++slow_created;
      CHECK(g->created_slots.contains({s.provisioned_at, seq})) << "created_slots out of step";
    }
  }
  CHECK_EQ(g->created_slots.size(), slow_created) << "created_slots out of step";
#endif
  const int64_t slots = static_cast<int64_t>(g->slots.size());
  const int64_t have = live + slots;
  if (have <= n) {
    // Never more instances than the size, counting those still being destroyed.
    const int64_t creates = std::min(n - have, n - existing_members - started);
    for (int64_t i = 0; i < creates; ++i) d->creates.push_back({});
  } else {
    // More than the size, counting creations under way (whose instances may be listed already,
    // counted twice: common while a group converges). As Decide: creations not started yet go
    // first, newest first; members beyond the size, not counting creations under way, would be
    // extras to choose among, which the planner does.
    const int64_t cancel = std::min(have - n, g->queued_slots);
    if (live + (slots - cancel) - g->in_flight_slots - n > 0) return false;
    int64_t left = cancel;
    for (auto it = g->slots.rbegin(); it != g->slots.rend() && left > 0; ++it) {
      if (it->second.state != SlotState::kQueued) continue;
      d->cancel_slots.push_back(it->second.key);
      --left;
    }
  }
  d->breaker_open = false;
  return true;
}

void Controller::Impl::ReconcileLocked(Group* g) {
  if (shut_down_ || g->finishing) return;
  const absl::Time now = clock_->Now();

  // With a watch, a creation that Provision returned but that no event has shown for too long
  // was lost: stop counting it. (When polling, listings decide: see ApplyListingLocked.)
  if (!g->polling) DropLostSlotsLocked(g, now, nullptr);

  if (g->destroying) {
    ReconcileDestroyLocked(g);
    return;
  }
  // Never act on a membership that is not known.
  if (!g->known || g->empty_suspect) return;

  const gv1::RemediationPolicy& r = g->spec.remediation();
  Decision d;
  DecideInput in;
  if (!DecideSteadyCattleLocked(g, &d)) {
    const bool rolling = Rolling(g->update);
    in.pets = IsPets(g->spec);
    in.size = g->spec.allocation().size();
    if (in.pets) {
      in.logical_ids.assign(g->spec.allocation().logical_ids().ids().begin(),
                            g->spec.allocation().logical_ids().ids().end());
    }
    in.target_sha = g->sha;
    in.rolling = rolling;
    in.hold = g->update.active() && g->update.paused() && !g->update.stopped();
    in.stopped = g->update.active() && g->update.stopped();
    in.limits = ResolveRollingLimits(g->spec, DesiredCount(g->spec));
    in.remediation = r.enabled();
    in.remediation_max_concurrent = r.max_concurrent() > 0 ? r.max_concurrent() : 1;
    in.max_unhealthy_percent =
        r.max_unhealthy_percent() > 0 ? r.max_unhealthy_percent() : kDefaultMaxUnhealthyPercent;
    int64_t in_progress = g->remediation_debt;
    for (const auto& [id, m] : g->members) {
      if (m.doomed && m.remediation) ++in_progress;
    }
    for (const auto& [seq, s] : g->slots) {
      if (s.remediation) ++in_progress;
    }
    in.remediation_in_progress = in_progress;
    in.members = MemberViewsLocked(g, now);
    in.slots = SlotViewsLocked(g);

    d = Decide(in);
  }

  if (d.breaker_open != g->breaker_open) {
    g->breaker_open = d.breaker_open;
    if (d.breaker_open) {
      std::string msg = absl::StrCat(
          "remediation paused (circuit breaker): ", d.unhealthy, " of ", DesiredCount(g->spec),
          " members are unhealthy, more than ", in.max_unhealthy_percent, "%");
      g->last_error = msg;
      EmitLocked(g, gv1::GROUP_EVENT_TYPE_ERROR, "", msg);
      LOG(WARNING) << "group " << g->id << ": " << msg;
    } else {
      g->last_error.clear();
      EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "",
                 "remediation resumed: unhealthy members back within the allowed share");
    }
  }

  for (const std::string& key : d.cancel_slots) {
    auto it = g->slot_by_key.find(key);
    if (it != g->slot_by_key.end()) EraseSlotLocked(g, it->second);
  }
  for (const CreateAction& c : d.creates) CreateSlotLocked(g, c.logical_id);
  for (const DestroyAction& a : d.destroys) {
    auto it = g->members.find(a.id);
    if (it == g->members.end() || it->second.doomed) continue;
    DoomLocked(g, &it->second, a.reason, a.why, a.remediation, 0);
  }
  PumpProvisionsLocked(g);
  PumpDestroysLocked(g);

  if (Rolling(g->update)) TrackUpdateLocked(g, now);
  if (g->update.active() && g->update.stopped()) EndStoppedUpdateLocked(g);

  // The next moment something may change without an event: a backoff ending, a member
  // becoming ready, a deadline, a remediation threshold, a creation's listing grace.
  absl::Time wake = absl::InfiniteFuture();
  // Only moments still ahead: a condition due now has been acted on above.
  auto consider = [&wake, now](absl::Time t) {
    if (t > now) wake = std::min(wake, t);
  };
  // The oldest creation not listed yet is the first that may be lost (dropped above if due).
  if (!g->created_slots.empty() && !g->polling) {
    consider(g->created_slots.begin()->first + options_.listing_grace);
  }
  if (g->queued_slots > 0) consider(g->provision_retry_at);
  if (!g->destroy_queue.empty()) consider(g->destroy_retry_at);
  const bool update_running = Rolling(g->update);
  const absl::Duration min_ready = absl::Seconds(g->spec.update_policy().min_ready_seconds());
  const double deadline_s = g->spec.update_policy().health_deadline_seconds();
  const absl::Duration deadline =
      absl::Seconds(deadline_s > 0 ? deadline_s : kDefaultHealthDeadlineSeconds);
  const absl::Time update_started =
      update_running ? FromProto(g->update.started()) : absl::InfinitePast();
  // Remediation waits for fresh verdicts of pending members (re-checked below) while the
  // breaker lets it act.
  const bool remediating = r.enabled() && !g->breaker_open && !g->destroying;
  bool pending_ready = false;
  bool pending_remediation = false;
  // Members matter for the wake-up only to an update or to remediation.
  for (const auto& [id, m] : g->members) {
    if (!update_running && !r.enabled()) break;
    if (m.doomed) continue;
    if (update_running && m.sha == g->sha && !MemberReadyLocked(g, m, now)) {
      pending_ready = true;
      if (m.health == fv1::HEALTH_HEALTHY) consider(m.healthy_since + min_ready);
      consider(std::max(m.created, update_started) + deadline);
    }
    if (remediating && RemediationPending(m)) pending_remediation = true;
  }
  if (update_running) {
    for (const auto& [seq, s] : g->slots) {
      if (s.first_failure != absl::InfiniteFuture()) {
        consider(std::max(s.first_failure, update_started) + deadline);
      }
    }
  }
  WakeAtLocked(g, wake);

  NoteQuietLocked(g);

  // Members whose verdict is pending are checked more often than the rest: a running update's
  // new members not ready yet, and (with remediation) members not HEALTHY, so that neither a
  // readiness nor a replacement waits for the resync or rests on an old verdict.
  if ((pending_ready || pending_remediation) && g->recheck_timer == 0) {
    absl::Duration period = absl::InfiniteDuration();
    if (pending_ready) period = options_.update_health_period;
    if (pending_remediation) period = std::min(period, TimingOf(r).probe_interval);
    g->recheck_timer = AtGroupLocked(g, now + period, [](Impl* self, Group* g) {
      g->recheck_timer = 0;
      self->RecheckPendingLocked(g);
    });
  }
}

void Controller::Impl::RecheckPendingLocked(Group* g) {
  const absl::Time now = clock_->Now();
  const bool rolling = Rolling(g->update);
  const bool remediating =
      g->spec.remediation().enabled() && !g->breaker_open && !g->destroying;
  for (auto& [iid, m] : g->members) {
    if (!m.announced) continue;
    if ((rolling && m.sha == g->sha && !MemberReadyLocked(g, m, now)) ||
        (remediating && RemediationPending(m))) {
      QueueHealthLocked(g, &m);
    }
  }
  PumpHealthLocked(g);
  ScheduleReconcileLocked(g);
}

void Controller::Impl::EndStoppedUpdateLocked(Group* g) {
  // A stopped update holds both configs' members; once none of the older config is left (they
  // died and were replaced on the current one), there is nothing left to hold.
  for (const auto& [id, m] : g->members) {
    if (!m.doomed && m.sha != g->sha) return;
  }
  if (!g->slots.empty()) return;
  const std::string msg = absl::StrCat("every member runs config ", ShortSha(g->sha),
                                       ": the stopped update's group is whole again");
  LOG(INFO) << "group " << g->id << ": " << msg;
  EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
  g->update.Clear();
  MarkDirtyLocked(g);
}

void Controller::Impl::NoteQuietLocked(Group* g) {
  // The end of a burst of work (a convergence, a heal, a scale): said once.
  const bool quiet = g->slots.empty() && g->destroy_queue.empty() &&
                     g->in_flight_provisions == 0 && g->in_flight_destroys == 0 &&
                     g->health_queue.empty() && g->health_running == 0;
  if (quiet && !g->quiet && options_.on_quiet) executor_->Post(options_.on_quiet);
  g->quiet = quiet;
}

void Controller::Impl::ReconcileDestroyLocked(Group* g) {
  std::vector<int64_t> queued;
  for (const auto& [seq, s] : g->slots) {
    if (s.state == SlotState::kQueued) queued.push_back(seq);
  }
  for (int64_t seq : queued) EraseSlotLocked(g, seq);
  if (!g->known || g->empty_suspect) return;
  for (auto& [id, m] : g->members) {
    if (!m.doomed) DoomLocked(g, &m, iv1::DESTROY_REASON_TERMINATE, "group destroyed", false, 0);
  }
  PumpDestroysLocked(g);
  if (g->members.empty() && g->slots.empty() && g->in_flight_provisions == 0 &&
      g->in_flight_destroys == 0) {
    g->finishing = true;
    Post([id = g->id, uid = g->uid](Impl* self) { self->FinishDestroy(id, uid); });
  } else if (!g->destroy_queue.empty() && g->destroy_retry_at > clock_->Now()) {
    WakeAtLocked(g, g->destroy_retry_at);
  }
}

void Controller::Impl::FinishDestroy(const std::string& id, int64_t uid) {
  std::shared_ptr<Writer> writer;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr) return;
    writer = g->writer;
  }
  Trash trash;
  {
    absl::MutexLock write_lock(&writer->mu);
    absl::Status deleted = store_->Delete(id);
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr) return;
    if (!deleted.ok()) {
      g->finishing = false;
      ++g->write_failures;
      ErrorLocked(g, "", absl::StrCat("forgetting the destroyed group failed: ",
                                      deleted.ToString()));
      WakeAtLocked(g, clock_->Now() + Backoff(options_, g->write_failures));
      return;
    }
    gv1::DestroyGroupResponse response;
    response.set_destroyed(g->destroyed_count);
    for (auto& done : g->destroy_waiters) {
      executor_->Post([done = std::move(done), response] { done(response); });
    }
    g->destroy_waiters.clear();
    LOG(INFO) << "group " << id << " destroyed (" << g->destroyed_count << " instances)";
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "",
               absl::StrCat("group destroyed (", Plural(g->destroyed_count, "instance"), ")"));
    RemoveGroupLocked(g, absl::OkStatus(), "group destroyed", &trash);
  }
  trash.Clear();
}

void Controller::Impl::Resync(const std::string& id, int64_t uid) {
  absl::MutexLock lock(&mu_);
  Group* g = FindUidLocked(id, uid);
  if (g == nullptr) return;
  const absl::Time now = clock_->Now();
  g->resync_timer = At(now + options_.resync_period, [id, uid](Impl* self) {
    self->Resync(id, uid);
  });
  // Re-list when there is no live watch (polling, or a watch that ended and is not being
  // retried already).
  if (!g->listing_in_flight && g->listing_timer == 0 && (g->polling || g->handle == nullptr)) {
    StartListingLocked(g);
  }
  for (auto& [mid, m] : g->members) {
    if (m.health_constant) {
      bool own = true;
      MemberFlavorLocked(g, m, &own);
      if (own) continue;
    }
    QueueHealthLocked(g, &m);
  }
  PumpHealthLocked(g);
  for (auto it = g->recently_destroyed.begin(); it != g->recently_destroyed.end();) {
    if (now - it->second >= options_.listing_grace) {
      g->recently_destroyed.erase(it++);
    } else {
      ++it;
    }
  }
  for (auto it = g->vanished_early.begin(); it != g->vanished_early.end();) {
    if (now - it->second >= options_.listing_grace) {
      g->vanished_early.erase(it++);
    } else {
      ++it;
    }
  }
  if (g->dirty > g->writer->written && !g->write_posted && g->write_timer == 0) {
    g->write_posted = true;
    Post([id, uid](Impl* self) { self->WriteTask(id, uid); });
  }
  ScheduleReconcileLocked(g);
}

// ------------------------------------------------------------------------------------------
// Membership.

void Controller::Impl::StartGroupLocked(Group* g) {
  const absl::Time now = clock_->Now();
  g->resync_timer = At(now + options_.resync_period, [id = g->id, uid = g->uid](Impl* self) {
    self->Resync(id, uid);
  });
  StartListingLocked(g);
}

void Controller::Impl::StartListingLocked(Group* g) {
  if (g->listing_in_flight) return;
  g->listing_in_flight = true;
  ++g->listing_gen;
  g->listing_started = clock_->Now();
  g->watch_synced = false;
  g->initial.clear();
  if (g->polling) {
    Post([id = g->id, uid = g->uid, gen = g->listing_gen](Impl* self) {
      self->PollTask(id, uid, gen);
    });
  } else {
    Post([id = g->id, uid = g->uid, gen = g->listing_gen](Impl* self) {
      self->WatchTask(id, uid, gen);
    });
  }
}

void Controller::Impl::WatchTask(const std::string& id, int64_t uid, int64_t gen) {
  std::string plugin;
  std::shared_ptr<Sink> sink;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr || g->listing_gen != gen) return;
    plugin = g->spec.instance().plugin();
    sink = std::make_shared<Sink>(weak_from_this(), id, uid, gen);
  }
  auto instance = resolver_->Instance(plugin);
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> handle =
      instance.ok() ? absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>>(
                          absl::UnknownError(""))
                    : instance.status();
  if (instance.ok()) {
    iv1::WatchRequest request;
    (*request.mutable_tags())[kGroupTag] = id;
    handle = (*instance)->Watch(request, sink.get());
  }
  Trash trash;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr || g->listing_gen != gen) {
      if (handle.ok()) trash.handles.push_back(std::move(*handle));
    } else if (handle.ok()) {
      if (g->handle != nullptr) trash.handles.push_back(std::move(g->handle));
      if (g->sink != nullptr) trash.sinks.push_back(std::move(g->sink));
      g->handle = std::move(*handle);
      g->sink = sink;
      g->listing_in_flight = false;
    } else if (handle.status().code() == absl::StatusCode::kUnimplemented) {
      LOG(INFO) << "group " << id << ": instance plugin " << plugin
                << " cannot watch; polling every " << absl::FormatDuration(options_.resync_period);
      g->polling = true;
      g->listing_in_flight = false;
      StartListingLocked(g);
    } else {
      ListingFailedLocked(g, instance.ok() ? handle.status() : instance.status());
    }
  }
  trash.Clear();
  // The sink outlives its handle.
  sink.reset();
}

void Controller::Impl::PollTask(const std::string& id, int64_t uid, int64_t gen) {
  std::string plugin;
  absl::Time started;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr || g->listing_gen != gen) return;
    plugin = g->spec.instance().plugin();
    started = g->listing_started;
  }
  absl::StatusOr<iv1::DescribeResponse> response = absl::UnknownError("");
  auto instance = resolver_->Instance(plugin);
  if (instance.ok()) {
    iv1::DescribeRequest request;
    (*request.mutable_tags())[kGroupTag] = id;
    response = (*instance)->Describe(request);
  } else {
    response = instance.status();
  }
  absl::MutexLock lock(&mu_);
  Group* g = FindUidLocked(id, uid);
  if (g == nullptr || g->listing_gen != gen) return;
  if (!response.ok()) {
    ListingFailedLocked(g, response.status());
    return;
  }
  g->listing_in_flight = false;
  absl::btree_map<std::string, iv1::Description> listing;
  for (iv1::Description& d : *response->mutable_instances()) {
    // The plugin filters by tag; a plugin that does not is not trusted with other groups'.
    if (TagOf(d, kGroupTag) != id) continue;
    std::string iid = d.id();
    listing.emplace(std::move(iid), std::move(d));
  }
  ApplyListingLocked(g, std::move(listing), started);
}

void Controller::Impl::ListingFailedLocked(Group* g, const absl::Status& status) {
  g->listing_in_flight = false;
  g->known = false;
  ++g->listing_failures;
  ErrorLocked(g, "", absl::StrCat("listing the members from instance plugin ",
                                  g->spec.instance().plugin(), " failed: ", status.ToString(),
                                  "; waiting for it"));
  absl::Duration delay = std::min(Backoff(options_, g->listing_failures), options_.resync_period);
  if (g->listing_timer != 0) clock_->Cancel(g->listing_timer);
  g->listing_timer = AtGroupLocked(g, clock_->Now() + delay, [](Impl* self, Group* g) {
    g->listing_timer = 0;
    self->StartListingLocked(g);
  });
}

void Controller::Impl::OnWatchEvent(const std::string& id, int64_t uid, int64_t gen,
                                    const iv1::WatchResponse& event) {
  absl::MutexLock lock(&mu_);
  Group* g = FindUidLocked(id, uid);
  if (g == nullptr || g->listing_gen != gen) return;
  const iv1::Description& d = event.instance();
  if (event.type() != iv1::EVENT_TYPE_SYNCED && event.type() != iv1::EVENT_TYPE_REMOVED &&
      TagOf(d, kGroupTag) != id) {
    return;
  }
  if (!g->watch_synced) {
    switch (event.type()) {
      case iv1::EVENT_TYPE_ADDED:
      case iv1::EVENT_TYPE_CHANGED:
        g->initial[d.id()] = d;
        break;
      case iv1::EVENT_TYPE_REMOVED:
        g->initial.erase(d.id());
        break;
      case iv1::EVENT_TYPE_SYNCED: {
        g->watch_synced = true;
        absl::btree_map<std::string, iv1::Description> listing;
        listing.swap(g->initial);
        ApplyListingLocked(g, std::move(listing), g->listing_started);
        break;
      }
      default:
        break;
    }
    return;
  }
  switch (event.type()) {
    case iv1::EVENT_TYPE_ADDED:
    case iv1::EVENT_TYPE_CHANGED:
      UpsertLocked(g, d);
      break;
    case iv1::EVENT_TYPE_REMOVED:
      RemoveLocked(g, d.id());
      break;
    default:
      return;
  }
  PumpHealthLocked(g);
  ScheduleReconcileLocked(g);
}

void Controller::Impl::OnWatchDone(const std::string& id, int64_t uid, int64_t gen,
                                   const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  Group* g = FindUidLocked(id, uid);
  if (g == nullptr || g->listing_gen != gen) return;
  // Destroying the handle here, on the plugin's thread inside its own callback, could wait for
  // this very call: hand it to a task.
  auto trash = std::make_shared<Trash>();
  if (g->handle != nullptr) trash->handles.push_back(std::move(g->handle));
  if (g->sink != nullptr) trash->sinks.push_back(std::move(g->sink));
  executor_->Post([trash] { trash->Clear(); });
  ++g->listing_gen;  // the ended watch's stragglers are ignored
  ListingFailedLocked(g, status.ok() ? absl::UnavailableError("the watch ended") : status);
}

void Controller::Impl::FillMemberLocked(Group* g, Member* m, const iv1::Description& d,
                                        bool is_new) {
  m->desc = d;
  m->sha = TagOf(d, kShaTag);
  m->lid = d.logical_id().empty() ? TagOf(d, kLogicalIdTag) : d.logical_id();
  if (!is_new) return;
  m->created = clock_->Now();
  auto slot = g->slot_by_instance.find(d.id());
  if (slot != g->slot_by_instance.end()) {
    m->created = g->slots[slot->second].provisioned_at;
    m->update_generation = g->slots[slot->second].update_generation;
    EraseSlotLocked(g, slot->second);
  } else if (g->in_flight_slots > 0) {
    // Possibly the instance of a creation whose call has not returned: its CREATED event comes
    // when it does, and no verdict about it may come first. Checked once a creation claims it
    // or no creation is under way any more (then it was not ours: adopted).
    m->announced = false;
    g->unannounced.insert(d.id());
    return;
  }
  QueueHealthLocked(g, m);
}

void Controller::Impl::AnnounceLocked(Group* g, Member* m) {
  if (m->announced) return;
  m->announced = true;
  g->unannounced.erase(m->desc.id());
  QueueHealthLocked(g, m);
}

void Controller::Impl::AnnounceUnclaimedLocked(Group* g) {
  if (g->in_flight_slots > 0 || g->unannounced.empty()) return;
  absl::flat_hash_set<std::string> ids;
  ids.swap(g->unannounced);
  for (const std::string& id : ids) {
    auto it = g->members.find(id);
    if (it != g->members.end()) AnnounceLocked(g, &it->second);
  }
  PumpHealthLocked(g);
}

void Controller::Impl::ApplyListingLocked(Group* g,
                                          absl::btree_map<std::string, iv1::Description> listing,
                                          absl::Time started) {
  int64_t live_before = 0;
  for (const auto& [id, m] : g->members) {
    if (!m.doomed) ++live_before;
  }
  g->listing_failures = 0;
  if (listing.empty() && live_before > 0 && !g->empty_suspect) {
    // A plugin that lost its state (or a glitch) must not make the group recreate everything:
    // believe an empty listing only when a second one, a little later, says the same.
    g->empty_suspect = true;
    ErrorLocked(g, "", absl::StrCat("instance plugin ", g->spec.instance().plugin(),
                                    " lists no member while ", live_before,
                                    " were known; confirming with another listing"));
    if (g->listing_timer != 0) clock_->Cancel(g->listing_timer);
    g->listing_timer = AtGroupLocked(g, clock_->Now() + options_.empty_listing_confirm_delay,
                                     [](Impl* self, Group* g) {
                                       g->listing_timer = 0;
                                       g->listing_in_flight = false;
                                       self->StartListingLocked(g);
                                     });
    return;
  }
  if (g->empty_suspect) {
    g->empty_suspect = false;
    g->last_error.clear();
  }

  absl::btree_map<std::string, Member> members;
  for (auto& [id, d] : listing) {
    // Destroyed by us: a listing that began before the destroy returned is stale about it.
    if (g->recently_destroyed.count(id)) continue;
    auto old = g->members.extract(id);
    if (!old.empty()) {
      FillMemberLocked(g, &old.mapped(), d, false);
      members.insert(std::move(old));
    } else {
      Member m;
      FillMemberLocked(g, &m, d, true);
      members.emplace(id, std::move(m));
    }
  }
  for (auto& [id, m] : g->members) {
    if (m.destroying) {
      // Its Destroy is under way: it exists until that returns.
      members.emplace(id, std::move(m));
      continue;
    }
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_DESTROYED, id,
               absl::StrCat("instance ", id, " disappeared"));
    NoteVanishedLocked(g, id);
    if (m.request != 0) FinishRequestMemberLocked(g, m.request, id, absl::OkStatus());
  }
  g->members.swap(members);
  g->doomed_members = 0;
  for (const auto& [id, m] : g->members) {
    if (m.doomed) ++g->doomed_members;
  }
  // A creation that a listing begun `listing_grace` after it still does not show was lost.
  DropLostSlotsLocked(g, started, &listing);
  // Health-queued IDs of vanished members are skipped when popped.
  for (auto it = g->recently_destroyed.begin(); it != g->recently_destroyed.end();) {
    if (it->second < started && !listing.count(it->first)) {
      g->recently_destroyed.erase(it++);
    } else {
      ++it;
    }
  }
  g->known = true;
  PumpHealthLocked(g);
  ScheduleReconcileLocked(g);
}

void Controller::Impl::UpsertLocked(Group* g, const iv1::Description& d) {
  if (g->recently_destroyed.count(d.id())) return;
  auto [it, inserted] = g->members.try_emplace(d.id());
  FillMemberLocked(g, &it->second, d, inserted);
}

void Controller::Impl::RemoveLocked(Group* g, const std::string& id) {
  g->recently_destroyed.erase(id);
  auto it = g->members.find(id);
  if (it == g->members.end()) return;
  Member& m = it->second;
  // Our own Destroy under way: its completion reports it and forgets the member.
  if (m.destroying) return;
  EmitLocked(g, gv1::GROUP_EVENT_TYPE_DESTROYED, id,
             absl::StrCat("instance ", id, " disappeared"));
  NoteVanishedLocked(g, id);
  if (m.request != 0) FinishRequestMemberLocked(g, m.request, id, absl::OkStatus());
  if (m.doomed) --g->doomed_members;
  g->unannounced.erase(id);
  g->members.erase(it);
}

void Controller::Impl::NoteVanishedLocked(Group* g, const std::string& id) {
  if (g->in_flight_provisions > 0) g->vanished_early[id] = clock_->Now();
}

// ------------------------------------------------------------------------------------------
// Creating.

int64_t Controller::Impl::NextSequenceLocked(Group* g) {
  int64_t seq = g->next_sequence++;
  if (g->next_sequence > g->sequence_reserved) {
    g->sequence_reserved = g->next_sequence + kSequenceBlock;
    MarkDirtyLocked(g);
  }
  return seq;
}

Controller::Impl::Slot& Controller::Impl::NewSlotLocked(Group* g, const std::string& lid) {
  Slot s;
  s.sequence = NextSequenceLocked(g);
  // The incarnation (uid) is part of the key: after unwatch + watch, sequence numbers start
  // again, and a key of the old incarnation would make the plugin answer with that
  // incarnation's instance instead of creating one.
  s.key = absl::StrCat(g->id, "-", nonce_, "-", g->uid, "-", s.sequence);
  s.lid = lid;
  const int64_t seq = s.sequence;
  g->slot_by_key[s.key] = seq;
  ++g->queued_slots;
  return g->slots.emplace(seq, std::move(s)).first->second;
}

void Controller::Impl::CreateSlotLocked(Group* g, const std::string& lid) {
  Slot& s = NewSlotLocked(g, lid);
  if (Rolling(g->update)) s.update_generation = g->update.generation();
  if (g->remediation_debt > 0) {
    --g->remediation_debt;
    s.remediation = true;
  }
}

void Controller::Impl::DropLostSlotsLocked(
    Group* g, absl::Time as_of, const absl::btree_map<std::string, iv1::Description>* listing) {
  std::vector<int64_t> lost;
  // Oldest first: only the ones past the grace are looked at.
  for (const auto& [provisioned_at, seq] : g->created_slots) {
    if (as_of - provisioned_at < options_.listing_grace) break;
    if (listing == nullptr || !listing->count(g->slots[seq].instance_id)) lost.push_back(seq);
  }
  for (int64_t seq : lost) {
    const std::string iid = g->slots[seq].instance_id;
    ErrorLocked(g, iid, absl::StrCat("instance ", iid, " was created but plugin ",
                                     g->spec.instance().plugin(), " has not listed it within ",
                                     absl::FormatDuration(options_.listing_grace),
                                     "; no longer counting it"));
    EraseSlotLocked(g, seq);
  }
}

void Controller::Impl::SetSlotStateLocked(Group* g, Slot* s, SlotState state) {
  if (s->state == SlotState::kQueued) --g->queued_slots;
  if (s->state == SlotState::kInFlight) --g->in_flight_slots;
  if (s->state == SlotState::kCreated) g->created_slots.erase({s->provisioned_at, s->sequence});
  s->state = state;
  if (state == SlotState::kQueued) ++g->queued_slots;
  if (state == SlotState::kInFlight) ++g->in_flight_slots;
  if (state == SlotState::kCreated) g->created_slots.insert({s->provisioned_at, s->sequence});
}

void Controller::Impl::EraseSlotLocked(Group* g, int64_t seq) {
  auto it = g->slots.find(seq);
  if (it == g->slots.end()) return;
  g->slot_by_key.erase(it->second.key);
  if (!it->second.instance_id.empty()) g->slot_by_instance.erase(it->second.instance_id);
  SetSlotStateLocked(g, &it->second, SlotState::kErased);
  g->slots.erase(it);
}

size_t Controller::Impl::BatchSizeLocked(size_t queued, int parallel, int max) const {
  // Spread what is queued over the calls allowed at once, so they all work (the plugins run
  // calls concurrently), and cap a call so its results come back while others are under way.
  const size_t cap =
      static_cast<size_t>(std::clamp<int>(max, 1, static_cast<int>(spi::kMaxBatchSize)));
  const size_t spread = (queued + std::max(parallel, 1) - 1) / std::max(parallel, 1);
  return std::max<size_t>(1, std::min(cap, std::max(spread, std::min(queued, kMinPerCall))));
}

void Controller::Impl::PumpProvisionsLocked(Group* g) {
  if (g->destroying || !g->known) return;
  if (clock_->Now() < g->provision_retry_at) return;
  if (g->in_flight_provisions >= options_.max_parallel_provisions) return;
  if (g->queued_slots == 0) return;
  // After a failure, probe with one creation until one succeeds: no burst into a broken
  // plugin.
  const bool probing = g->provision_failures > 0;
  // Bounded in bytes too: a prepared spec is the group's instance section plus what the flavor
  // adds (init lines, often the bigger part): with a large one (megabytes of user data) a
  // batch must stay far below the 64 MiB message limit of our channels.
  constexpr size_t kMaxBatchBytes = 16 << 20;
  const size_t spec_bytes = std::max<size_t>(1, 4 * g->spec.ByteSizeLong());
  const int max_by_bytes = static_cast<int>(std::max<size_t>(1, kMaxBatchBytes / spec_bytes));
  const size_t per_call =
      probing ? 1
              : BatchSizeLocked(static_cast<size_t>(g->queued_slots),
                                options_.max_parallel_provisions,
                                std::min(options_.max_batch_size, max_by_bytes));
  // Oldest first; the walk stops once the free calls are full (a group of thousands converging
  // calls this as each batch returns).
  auto it = g->slots.begin();
  while (g->queued_slots > 0 && g->in_flight_provisions < options_.max_parallel_provisions) {
    std::vector<int64_t> batch;
    for (; it != g->slots.end() && batch.size() < per_call; ++it) {
      if (it->second.state != SlotState::kQueued) continue;
      SetSlotStateLocked(g, &it->second, SlotState::kInFlight);
      batch.push_back(it->first);
    }
    if (batch.empty()) break;
    ++g->in_flight_provisions;
    Post([id = g->id, uid = g->uid, batch = std::move(batch),
          attempt = g->provision_failures](Impl* self) {
      self->ProvisionTask(id, uid, batch, attempt);
    });
    if (probing) break;
  }
}

void Controller::Impl::ProvisionTask(const std::string& id, int64_t uid,
                                     const std::vector<int64_t>& seqs, int attempt) {
  struct Item {
    int64_t seq;
    std::string lid;
    std::string key;
    // Filled in stages: Prepare's spec, then the outcome.
    iv1::Spec spec;
    bool flavor_stage = true;
    absl::StatusOr<iv1::ProvisionResponse> result = absl::UnknownError("not attempted");
  };
  std::vector<Item> items;
  std::string instance_plugin, flavor_plugin, sha;
  // What every member's Prepare starts from: the group's instance section and tags. Pets add
  // their logical ID (a flavor may attach per logical ID), so each pet is prepared alone;
  // cattle differ only in their index and go to the flavor in one BatchPrepare.
  fv1::BatchPrepareRequest base;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr) return;
    instance_plugin = g->spec.instance().plugin();
    flavor_plugin = g->spec.flavor().plugin();
    sha = g->sha;
    *base.mutable_properties() = g->spec.flavor().properties();
    *base.mutable_allocation() = g->spec.allocation();
    *base.mutable_spec()->mutable_properties() = g->spec.instance().properties();
    items.reserve(seqs.size());
    for (int64_t seq : seqs) {
      auto it = g->slots.find(seq);
      if (it == g->slots.end()) continue;
      items.push_back(Item{seq, it->second.lid, it->second.key});
    }
    if (items.empty()) {
      --g->in_flight_provisions;
      PumpProvisionsLocked(g);
      return;
    }
  }
  // The group's tags are set before Prepare (the flavor keeps them) and again after (they are
  // how the group finds its members: nothing may change them).
  auto set_tags = [&](iv1::Spec* spec, const Item& item) {
    auto& tags = *spec->mutable_tags();
    tags[kGroupTag] = id;
    tags[kShaTag] = sha;
    if (!item.lid.empty()) {
      tags[kLogicalIdTag] = item.lid;
      spec->set_logical_id(item.lid);
    }
    spec->set_idempotency_key(item.key);
  };
  {
    auto& tags = *base.mutable_spec()->mutable_tags();
    tags[kGroupTag] = id;
    tags[kShaTag] = sha;
  }

  auto flavor = resolver_->Flavor(flavor_plugin);
  if (!flavor.ok()) {
    for (Item& item : items) item.result = flavor.status();
  } else {
    fv1::BatchPrepareRequest cattle = base;
    std::vector<Item*> cattle_items;
    for (Item& item : items) {
      if (!item.lid.empty()) {
        fv1::PrepareRequest pet;
        *pet.mutable_properties() = base.properties();
        *pet.mutable_allocation() = base.allocation();
        *pet.mutable_spec() = base.spec();
        set_tags(pet.mutable_spec(), item);
        pet.mutable_index()->set_group(id);
        pet.mutable_index()->set_sequence(item.seq);
        absl::StatusOr<fv1::PrepareResponse> prepared = (*flavor)->Prepare(pet);
        if (prepared.ok()) {
          item.spec = std::move(*prepared->mutable_spec());
          item.flavor_stage = false;
        } else {
          item.result = Prefixed(prepared.status(), "Prepare: ");
        }
        continue;
      }
      fv1::Index* index = cattle.add_indexes();
      index->set_group(id);
      index->set_sequence(item.seq);
      cattle_items.push_back(&item);
    }
    if (!cattle_items.empty()) {
      absl::StatusOr<fv1::BatchPrepareResponse> prepared = (*flavor)->BatchPrepare(cattle);
      if (prepared.ok() && prepared->results_size() != static_cast<int>(cattle_items.size())) {
        prepared = absl::InternalError(
            absl::StrCat("BatchPrepare answered ", prepared->results_size(), " results for ",
                         cattle_items.size(), " indexes"));
      }
      for (size_t i = 0; i < cattle_items.size(); ++i) {
        Item& item = *cattle_items[i];
        if (!prepared.ok()) {
          item.result = Prefixed(prepared.status(), "Prepare: ");
          continue;
        }
        fv1::PrepareResult* r = prepared->mutable_results(static_cast<int>(i));
        if (r->has_error()) {
          item.result = Prefixed(spi::FromItemStatus(r->error()), "Prepare: ");
          continue;
        }
        item.spec = std::move(*r->mutable_response()->mutable_spec());
        item.flavor_stage = false;
      }
    }
  }
  iv1::BatchProvisionRequest provision;
  std::vector<Item*> provisioned;
  for (Item& item : items) {
    if (item.flavor_stage) continue;
    iv1::Spec* spec = provision.add_requests()->mutable_spec();
    *spec = std::move(item.spec);
    set_tags(spec, item);
    provisioned.push_back(&item);
  }
  if (!provisioned.empty()) {
    auto instance = resolver_->Instance(instance_plugin);
    absl::StatusOr<iv1::BatchProvisionResponse> created =
        instance.ok() ? (*instance)->BatchProvision(provision)
                      : absl::StatusOr<iv1::BatchProvisionResponse>(instance.status());
    if (created.ok() && created->results_size() != static_cast<int>(provisioned.size())) {
      created = absl::InternalError(absl::StrCat("BatchProvision answered ",
                                                 created->results_size(), " results for ",
                                                 provisioned.size(), " requests"));
    }
    for (size_t i = 0; i < provisioned.size(); ++i) {
      Item& item = *provisioned[i];
      if (!created.ok()) {
        item.result = created.status();
        continue;
      }
      iv1::ProvisionResult* r = created->mutable_results(static_cast<int>(i));
      if (r->has_error()) {
        item.result = spi::FromItemStatus(r->error());
      } else {
        item.result = std::move(*r->mutable_response());
      }
    }
  }

  absl::MutexLock lock(&mu_);
  Group* g = FindUidLocked(id, uid);
  if (g == nullptr) return;
  --g->in_flight_provisions;
  // The call's first failure, for its error message and the plugin the group waits for. An
  // instance gone before its creation returned (OnProvisionDoneLocked replaces it) is a failed
  // attempt too, not a success.
  int failures = 0;
  bool succeeded = false;
  bool failed_in_flavor = false;
  std::string failure;
  for (const Item& item : items) {
    std::string why;
    if (!item.result.ok()) {
      why = item.result.status().ToString();
    } else if (g->vanished_early.contains(item.result->id())) {
      why = absl::StrCat("instance ", item.result->id(), " was gone before its creation returned");
    } else {
      succeeded = true;
      continue;
    }
    if (failures++ == 0) {
      failure = std::move(why);
      failed_in_flavor = item.flavor_stage;
    }
  }
  // A success ends the failures, and their backoff, only when no failure came since this call
  // was started: a call of the same wave succeeding does not make a failed creation's retry
  // immediate, nor hide its error.
  if (succeeded && g->provision_failures <= attempt) {
    if (g->provision_failures > 0 || !g->instance_error.empty() || !g->flavor_error.empty()) {
      g->last_error.clear();
    }
    g->provision_failures = 0;
    g->provision_retry_at = absl::InfinitePast();
    g->instance_error.clear();
    g->flavor_error.clear();
  }
  for (const Item& item : items) {
    if (item.result.ok()) OnProvisionDoneLocked(g, item.seq, item.flavor_stage, item.result);
  }
  for (const Item& item : items) {
    if (!item.result.ok()) OnProvisionDoneLocked(g, item.seq, item.flavor_stage, item.result);
  }
  if (failures > 0 && g->provision_failures > attempt) {
    // A call started alongside this one already failed and counted the attempt: the calls of
    // one wave are one attempt, as are the instances of one call (the backoff grows per
    // attempt, not per call or instance). Its slots are queued again for the next try.
    (failed_in_flavor ? g->flavor_error : g->instance_error) = failure;
  } else if (failures > 0) {
    const absl::Time now = clock_->Now();
    const std::string& plugin =
        failed_in_flavor ? g->spec.flavor().plugin() : g->spec.instance().plugin();
    ++g->provision_failures;
    absl::Duration backoff = Backoff(options_, g->provision_failures);
    g->provision_retry_at = now + backoff;
    // The group waits for the plugin that failed (status.waiting_for_plugin names it).
    (failed_in_flavor ? g->flavor_error : g->instance_error) = failure;
    ErrorLocked(g, "",
                absl::StrCat("creating ",
                             failures == 1 ? "an instance" : Plural(failures, "instance"),
                             " failed (", plugin, ", attempt ", g->provision_failures,
                             "; next try in ", absl::FormatDuration(backoff), "): ", failure));
    WakeAtLocked(g, g->provision_retry_at);
  }
  // The next queued creations start now rather than at the next pass: they were decided by a
  // pass already (a pass that changes its mind cancels queued slots first).
  PumpProvisionsLocked(g);
  AnnounceUnclaimedLocked(g);
  PumpHealthLocked(g);
  ScheduleReconcileLocked(g);
}

void Controller::Impl::OnProvisionDoneLocked(Group* g, int64_t seq, bool flavor_stage,
                                             const absl::StatusOr<iv1::ProvisionResponse>& result) {
  auto it = g->slots.find(seq);
  const absl::Time now = clock_->Now();
  if (!result.ok()) {
    // Queued again; ProvisionTask counts the attempt and sets the backoff once per call.
    if (it != g->slots.end()) {
      SetSlotStateLocked(g, &it->second, SlotState::kQueued);
      it->second.first_failure = std::min(it->second.first_failure, now);
    }
    return;
  }
  if (auto gone = g->vanished_early.find(result->id()); gone != g->vanished_early.end()) {
    // Its instance was listed and removed before the call returned (it died at once): the
    // creation is settled as gone now rather than counted for the listing grace. The
    // replacement is a new creation (the old idempotency key names the dead instance) that
    // waits like after a failure (ProvisionTask counts the attempt once per call), so a config
    // whose instances keep dying backs off.
    g->vanished_early.erase(gone);
    if (it != g->slots.end()) {
      Slot old = it->second;
      EraseSlotLocked(g, seq);
      if (!g->destroying) {
        Slot& s = NewSlotLocked(g, old.lid);
        s.update_generation = old.update_generation;
        s.remediation = old.remediation;
        s.first_failure = std::min(old.first_failure, now);
      }
    }
    return;
  }
  const std::string& iid = result->id();
  const bool update_running = Rolling(g->update);
  if (it != g->slots.end()) {
    auto member = g->members.find(iid);
    if (member != g->members.end()) {
      // Listed before Provision returned: checked from now on, after its CREATED event below.
      member->second.created = now;
      member->second.update_generation = it->second.update_generation;
      EraseSlotLocked(g, seq);
      AnnounceLocked(g, &member->second);
    } else if (!g->recently_destroyed.count(iid)) {
      it->second.instance_id = iid;
      it->second.provisioned_at = now;  // before: created_slots is ordered by it
      SetSlotStateLocked(g, &it->second, SlotState::kCreated);
      g->slot_by_instance[iid] = seq;
    } else {
      EraseSlotLocked(g, seq);
    }
  }
  EmitLocked(g, gv1::GROUP_EVENT_TYPE_CREATED, iid,
             absl::StrCat("created ", iid, " on config ", ShortSha(g->sha)));
  if (update_running) {
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE_STEP, iid,
               absl::StrCat("update: created ", iid));
    ProgressLocked(g, gv1::UPDATE_PHASE_PROGRESS, absl::StrCat("created ", iid));
  }
}

// ------------------------------------------------------------------------------------------
// Destroying.

void Controller::Impl::DoomLocked(Group* g, Member* m, iv1::DestroyReason reason,
                                  const std::string& why, bool remediation, int64_t request) {
  if (!m->doomed) ++g->doomed_members;
  m->doomed = true;
  m->destroy_reason = reason;
  m->destroy_why = why;
  m->remediation = remediation;
  m->request = request;
  g->destroy_queue.push_back(m->desc.id());
}

void Controller::Impl::PumpDestroysLocked(Group* g) {
  if (clock_->Now() < g->destroy_retry_at) return;
  if (g->destroy_queue.empty()) return;
  // After a failure, one at a time until one succeeds.
  const bool probing = g->destroy_failures > 0;
  const size_t per_call =
      probing ? 1
              : BatchSizeLocked(g->destroy_queue.size(), options_.max_parallel_destroys,
                                options_.max_batch_size);
  while (!g->destroy_queue.empty() && g->in_flight_destroys < options_.max_parallel_destroys) {
    std::vector<std::string> batch;
    while (!g->destroy_queue.empty() && batch.size() < per_call) {
      std::string iid = std::move(g->destroy_queue.front());
      g->destroy_queue.pop_front();
      auto it = g->members.find(iid);
      if (it == g->members.end() || !it->second.doomed || it->second.destroying) continue;
      it->second.destroying = true;
      batch.push_back(std::move(iid));
    }
    if (batch.empty()) break;
    ++g->in_flight_destroys;
    Post([id = g->id, uid = g->uid, batch = std::move(batch),
          attempt = g->destroy_failures](Impl* self) {
      self->DestroyTask(id, uid, batch, attempt);
    });
    if (probing) break;
  }
}

void Controller::Impl::DestroyTask(const std::string& id, int64_t uid,
                                   const std::vector<std::string>& instances, int attempt) {
  struct Item {
    std::string id;
    iv1::DestroyReason reason;
    bool flavor_stage = true;
    absl::Status result;
  };
  // Members are drained with the flavor section they were created from (the current spec's or
  // the previous one's during an update): one BatchDrain per section.
  struct DrainGroup {
    std::string plugin;
    fv1::BatchDrainRequest request;
    std::vector<size_t> items;
  };
  std::vector<Item> items;
  std::vector<DrainGroup> drains;
  std::string instance_plugin;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr) return;
    instance_plugin = g->spec.instance().plugin();
    absl::flat_hash_map<const gv1::PluginSpec*, size_t> drain_of;
    for (const std::string& instance : instances) {
      auto it = g->members.find(instance);
      if (it == g->members.end()) {
        // Gone meanwhile (listed as removed): nothing to do.
        items.push_back(Item{instance, iv1::DESTROY_REASON_UNSPECIFIED, false, absl::OkStatus()});
        continue;
      }
      bool own = true;
      const gv1::PluginSpec& flavor = MemberFlavorLocked(g, it->second, &own);
      auto [d, added] = drain_of.try_emplace(&flavor, drains.size());
      if (added) {
        drains.emplace_back();
        drains.back().plugin = flavor.plugin();
        *drains.back().request.mutable_properties() = flavor.properties();
      }
      *drains[d->second].request.add_instances() = it->second.desc;
      drains[d->second].items.push_back(items.size());
      items.push_back(Item{instance, it->second.destroy_reason, true, absl::OkStatus()});
    }
  }
  for (DrainGroup& drain : drains) {
    auto flavor = resolver_->Flavor(drain.plugin);
    absl::StatusOr<fv1::BatchDrainResponse> drained =
        flavor.ok() ? (*flavor)->BatchDrain(drain.request)
                    : absl::StatusOr<fv1::BatchDrainResponse>(flavor.status());
    if (drained.ok() && drained->results_size() != static_cast<int>(drain.items.size())) {
      drained = absl::InternalError(absl::StrCat("BatchDrain answered ", drained->results_size(),
                                                 " results for ", drain.items.size(),
                                                 " instances"));
    }
    for (size_t i = 0; i < drain.items.size(); ++i) {
      Item& item = items[drain.items[i]];
      absl::Status s = !flavor.ok()    ? flavor.status()
                       : drained.ok() ? spi::FromItemStatus(drained->results(static_cast<int>(i)))
                                      : Prefixed(drained.status(), "Drain: ");
      if (flavor.ok() && drained.ok() && !s.ok()) s = Prefixed(s, "Drain: ");
      item.result = s;
      item.flavor_stage = !s.ok();
    }
  }
  iv1::BatchDestroyRequest destroy;
  std::vector<Item*> destroyed;
  // Only members that were found and drained are destroyed.
  for (const DrainGroup& drain : drains) {
    for (size_t index : drain.items) {
      Item& item = items[index];
      if (item.result.ok()) destroyed.push_back(&item);
    }
  }
  for (Item* item : destroyed) {
    iv1::DestroyRequest* r = destroy.add_requests();
    r->set_id(item->id);
    r->set_reason(item->reason);
  }
  if (!destroyed.empty()) {
    auto plugin = resolver_->Instance(instance_plugin);
    absl::StatusOr<iv1::BatchDestroyResponse> done =
        plugin.ok() ? (*plugin)->BatchDestroy(destroy)
                    : absl::StatusOr<iv1::BatchDestroyResponse>(plugin.status());
    if (done.ok() && done->results_size() != static_cast<int>(destroyed.size())) {
      done = absl::InternalError(absl::StrCat("BatchDestroy answered ", done->results_size(),
                                              " results for ", destroyed.size(), " requests"));
    }
    for (size_t i = 0; i < destroyed.size(); ++i) {
      absl::Status s =
          done.ok() ? spi::FromItemStatus(done->results(static_cast<int>(i))) : done.status();
      // Already gone is what we wanted.
      if (s.code() == absl::StatusCode::kNotFound && done.ok()) s = absl::OkStatus();
      destroyed[i]->result = s;
    }
  }

  absl::MutexLock lock(&mu_);
  Group* g = FindUidLocked(id, uid);
  if (g == nullptr) return;
  --g->in_flight_destroys;
  const Item* failed = nullptr;
  int failures = 0;
  // As for creations: a success ends the failures only when none came since the call started.
  const bool any_ok = std::any_of(items.begin(), items.end(),
                                  [](const Item& item) { return item.result.ok(); });
  if (any_ok && g->destroy_failures <= attempt) {
    if (g->destroy_failures > 0) g->last_error.clear();
    g->destroy_failures = 0;
    g->destroy_retry_at = absl::InfinitePast();
    g->instance_error.clear();
    g->flavor_error.clear();
  }
  for (const Item& item : items) {
    if (item.result.ok()) OnDestroyDoneLocked(g, item.id, item.result);
  }
  for (const Item& item : items) {
    if (item.result.ok()) continue;
    ++failures;
    if (failed == nullptr) failed = &item;
    OnDestroyDoneLocked(g, item.id, item.result);
  }
  if (failed != nullptr && g->destroy_failures > attempt) {
    // Counted already by a call of the same wave (see ProvisionTask).
    (failed->flavor_stage ? g->flavor_error : g->instance_error) = failed->result.ToString();
    if (g->destroy_retry_at > clock_->Now()) WakeAtLocked(g, g->destroy_retry_at);
  } else if (failed != nullptr) {
    // One failed call (or batch with failures) is one attempt.
    ++g->destroy_failures;
    absl::Duration backoff = Backoff(options_, g->destroy_failures);
    g->destroy_retry_at = clock_->Now() + backoff;
    const std::string& plugin =
        failed->flavor_stage ? g->spec.flavor().plugin() : g->spec.instance().plugin();
    (failed->flavor_stage ? g->flavor_error : g->instance_error) = failed->result.ToString();
    ErrorLocked(g, failures == 1 ? failed->id : "",
                absl::StrCat("destroying ",
                             failures == 1 ? failed->id : Plural(failures, "instance"),
                             " failed (", plugin, ", attempt ", g->destroy_failures,
                             "; next try in ", absl::FormatDuration(backoff), "): ",
                             failed->result.ToString()));
    WakeAtLocked(g, g->destroy_retry_at);
  }
  PumpDestroysLocked(g);
  ScheduleReconcileLocked(g);
}

void Controller::Impl::OnDestroyDoneLocked(Group* g, const std::string& instance,
                                           const absl::Status& result) {
  auto it = g->members.find(instance);
  const absl::Time now = clock_->Now();
  if (!result.ok()) {
    // Back in the group; DestroyTask counts the attempt and sets the backoff once per call.
    int64_t request = 0;
    if (it != g->members.end()) {
      Member& m = it->second;
      request = m.request;
      m.destroying = false;
      if (m.doomed) --g->doomed_members;
      m.doomed = false;
      m.remediation = false;
      m.request = 0;
    }
    if (request != 0) FinishRequestMemberLocked(g, request, instance, result);
    return;
  }
  std::string why = "destroyed";
  iv1::DestroyReason reason = iv1::DESTROY_REASON_UNSPECIFIED;
  int64_t request = 0;
  if (it != g->members.end()) {
    why = it->second.destroy_why;
    reason = it->second.destroy_reason;
    request = it->second.request;
    if (it->second.remediation) ++g->remediation_debt;
    if (it->second.doomed) --g->doomed_members;
    g->unannounced.erase(instance);
    g->members.erase(it);
  }
  g->recently_destroyed[instance] = now;
  if (g->destroying) ++g->destroyed_count;
  EmitLocked(g, gv1::GROUP_EVENT_TYPE_DESTROYED, instance,
             absl::StrCat("destroyed ", instance, " (", why, ")"));
  if (request != 0) FinishRequestMemberLocked(g, request, instance, absl::OkStatus());
  if (Rolling(g->update) &&
      (reason == iv1::DESTROY_REASON_ROLLING_UPDATE || reason == iv1::DESTROY_REASON_SCALE_DOWN)) {
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE_STEP, instance,
               absl::StrCat("update: destroyed ", instance, " (", why, ")"));
    ProgressLocked(g, gv1::UPDATE_PHASE_PROGRESS,
                   absl::StrCat("destroyed ", instance, " (", why, ")"));
  }
}

void Controller::Impl::FinishRequestMemberLocked(Group* g, int64_t request,
                                                 const std::string& instance,
                                                 const absl::Status& result) {
  auto it = g->requests.find(request);
  if (it == g->requests.end()) return;
  DestroyRequest& r = it->second;
  if (result.ok()) {
    r.destroyed.push_back(instance);
  } else {
    if (r.first_error.ok()) r.first_error = result;
    // Its place in the group comes back.
    auto m = g->members.find(instance);
    if (IsPets(g->spec)) {
      if (m != g->members.end() && !m->second.lid.empty()) {
        g->spec.mutable_allocation()->mutable_logical_ids()->add_ids(m->second.lid);
      }
    } else {
      g->spec.mutable_allocation()->set_size(g->spec.allocation().size() + 1);
    }
    MarkDirtyLocked(g);
  }
  if (--r.pending > 0) return;
  absl::StatusOr<gv1::DestroyInstancesResponse> response;
  if (r.destroyed.empty() && !r.first_error.ok()) {
    response = r.first_error;
  } else {
    gv1::DestroyInstancesResponse ok;
    for (const std::string& d : r.destroyed) ok.add_destroyed(d);
    ok.set_size(DesiredCount(g->spec));
    response = std::move(ok);
  }
  executor_->Post([done = std::move(r.done), response] { done(response); });
  g->requests.erase(it);
}

// ------------------------------------------------------------------------------------------
// Health.

void Controller::Impl::QueueHealthLocked(Group* g, Member* m) {
  if (m->health_queued || m->doomed || !m->announced) return;
  m->health_queued = true;
  g->health_queue.push_back(m->desc.id());
}

void Controller::Impl::PumpHealthLocked(Group* g) {
  if (g->health_queue.empty()) return;
  if (g->health_queue.size() < kMinPerCall &&
      options_.health_gather_delay > absl::ZeroDuration() && !g->health_gathered) {
    // A few members, one event at a time: let the ones right behind them join (see
    // ControllerOptions::health_gather_delay); never longer than that, whatever calls are
    // under way (a slow probe's batch must not hold back a new member's first check).
    if (g->health_gather_timer == 0) {
      g->health_gather_timer = AtGroupLocked(g, clock_->Now() + options_.health_gather_delay,
                                             [](Impl* self, Group* g) {
                                               g->health_gather_timer = 0;
                                               g->health_gathered = true;
                                               self->PumpHealthLocked(g);
                                               g->health_gathered = false;
                                             });
    }
    return;
  }
  const size_t per_call =
      BatchSizeLocked(g->health_queue.size(), options_.max_parallel_health_checks,
                      options_.max_health_batch_size);
  while (!g->health_queue.empty() && g->health_running < options_.max_parallel_health_checks) {
    std::vector<std::string> batch;
    while (!g->health_queue.empty() && batch.size() < per_call) {
      std::string iid = std::move(g->health_queue.front());
      g->health_queue.pop_front();
      auto it = g->members.find(iid);
      if (it == g->members.end() || !it->second.health_queued) continue;
      batch.push_back(std::move(iid));
    }
    if (batch.empty()) break;
    ++g->health_running;
    Post([id = g->id, uid = g->uid, batch = std::move(batch)](Impl* self) {
      self->HealthTask(id, uid, batch);
    });
  }
}

void Controller::Impl::HealthTask(const std::string& id, int64_t uid,
                                  const std::vector<std::string>& instances) {
  // Members are checked with the flavor section they were created from: an old member probed
  // with the new config's check during a roll would look broken and be replaced too soon. One
  // BatchHealthy per section.
  struct Check {
    std::string plugin;
    bool own = true;
    fv1::BatchHealthyRequest request;
    std::vector<std::string> instances;
  };
  std::vector<Check> checks;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr) return;
    absl::flat_hash_map<std::pair<const gv1::PluginSpec*, bool>, size_t> check_of;
    for (const std::string& instance : instances) {
      auto it = g->members.find(instance);
      if (it == g->members.end()) continue;
      it->second.health_queued = false;
      if (it->second.doomed) continue;
      bool own = true;
      const gv1::PluginSpec& flavor = MemberFlavorLocked(g, it->second, &own);
      auto [c, added] = check_of.try_emplace(std::make_pair(&flavor, own), checks.size());
      if (added) {
        checks.emplace_back();
        checks.back().plugin = flavor.plugin();
        checks.back().own = own;
        *checks.back().request.mutable_properties() = flavor.properties();
      }
      *checks[c->second].request.add_instances() = it->second.desc;
      checks[c->second].instances.push_back(instance);
    }
    if (checks.empty()) {
      --g->health_running;
      PumpHealthLocked(g);
      return;
    }
  }
  std::vector<absl::StatusOr<fv1::BatchHealthyResponse>> results;
  results.reserve(checks.size());
  for (const Check& check : checks) {
    auto flavor = resolver_->Flavor(check.plugin);
    absl::StatusOr<fv1::BatchHealthyResponse> r =
        flavor.ok() ? (*flavor)->BatchHealthy(check.request)
                    : absl::StatusOr<fv1::BatchHealthyResponse>(flavor.status());
    if (r.ok() && r->results_size() != static_cast<int>(check.instances.size())) {
      r = absl::InternalError(absl::StrCat("BatchHealthy answered ", r->results_size(),
                                           " results for ", check.instances.size(),
                                           " instances"));
    }
    results.push_back(std::move(r));
  }

  absl::MutexLock lock(&mu_);
  Group* g = FindUidLocked(id, uid);
  if (g == nullptr) return;
  --g->health_running;
  PumpHealthLocked(g);
  for (size_t c = 0; c < checks.size(); ++c) {
    for (size_t i = 0; i < checks[c].instances.size(); ++i) {
      absl::StatusOr<fv1::HealthyResponse> one = absl::UnknownError("");
      if (!results[c].ok()) {
        one = results[c].status();
      } else if (results[c]->results(static_cast<int>(i)).has_error()) {
        one = spi::FromItemStatus(results[c]->results(static_cast<int>(i)).error());
      } else {
        one = results[c]->results(static_cast<int>(i)).response();
      }
      OnHealthLocked(g, checks[c].instances[i], checks[c].plugin, checks[c].own, one);
    }
  }
  // Health results do not always lead to a pass: the last check of a burst may end it.
  NoteQuietLocked(g);
}

void Controller::Impl::OnHealthLocked(Group* g, const std::string& instance,
                                      const std::string& plugin, bool own,
                                      const absl::StatusOr<fv1::HealthyResponse>& result) {
  if (!result.ok()) {
    bool first = g->flavor_error.empty();
    g->flavor_error = result.status().ToString();
    if (first) {
      ErrorLocked(g, instance, absl::StrCat("health check of ", instance, " failed (", plugin,
                                            "): ", result.status().ToString()));
    }
    return;
  }
  if (!g->flavor_error.empty()) {
    g->flavor_error.clear();
    if (g->instance_error.empty()) g->last_error.clear();
  }
  auto it = g->members.find(instance);
  if (it == g->members.end()) return;
  Member& m = it->second;
  const fv1::Health previous = m.health;
  const bool was_untrusted = m.health_untrusted;
  const absl::Time now = clock_->Now();
  m.health = result->health();
  m.health_reason = result->reason();
  m.health_untrusted = !own;
  m.health_constant = own && result->constant();
  m.checked_at = now;
  if (m.health == fv1::HEALTH_HEALTHY && own) m.ever_healthy = true;
  if (previous == m.health) {
    // A fresh UNHEALTHY verdict may make the member remediable (see Remediable).
    const bool remediation_news =
        g->spec.remediation().enabled() && m.health == fv1::HEALTH_UNHEALTHY;
    if (remediation_news || (was_untrusted != m.health_untrusted &&
                             (g->update.active() || g->spec.remediation().enabled() ||
                              g->destroying))) {
      ScheduleReconcileLocked(g);
    }
    return;
  }
  m.healthy_since = absl::InfiniteFuture();
  m.unhealthy_since = absl::InfiniteFuture();
  m.reported_ready = false;
  if (m.health == fv1::HEALTH_HEALTHY) {
    m.healthy_since = now;
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_HEALTHY, instance, absl::StrCat(instance, " is healthy"));
  } else if (m.health == fv1::HEALTH_UNHEALTHY) {
    m.unhealthy_since = now;
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_UNHEALTHY, instance,
               absl::StrCat(instance, " is unhealthy: ", m.health_reason));
  } else if (previous == fv1::HEALTH_HEALTHY) {
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_UNHEALTHY, instance,
               absl::StrCat(instance, " health is unknown: ", m.health_reason));
  }
  // Health decides only updates and remediation (and which extras go first, which the pass
  // that removes them reads): a steady group does not need a pass per health change.
  if (g->update.active() || g->spec.remediation().enabled() || g->destroying) {
    ScheduleReconcileLocked(g);
  }
}

const gv1::PluginSpec& Controller::Impl::MemberFlavorLocked(Group* g, const Member& m,
                                                            bool* own) {
  *own = true;
  if (m.sha == g->sha) return g->spec.flavor();
  if (g->update.active() && g->update.has_previous_spec()) {
    if (g->previous_sha_generation != g->update.generation()) {
      g->previous_sha = ConfigSha(g->update.previous_spec());
      g->previous_sha_generation = g->update.generation();
    }
    if (m.sha == g->previous_sha) return g->update.previous_spec().flavor();
  }
  *own = false;
  return g->spec.flavor();
}

// ------------------------------------------------------------------------------------------
// Updates.

int64_t Controller::Impl::UpdatedCountLocked(Group* g) {
  const absl::Time now = clock_->Now();
  int64_t n = 0;
  for (const auto& [id, m] : g->members) {
    if (!m.doomed && m.sha == g->sha && MemberReadyLocked(g, m, now)) ++n;
  }
  g->updated_high = std::max(g->updated_high, std::min(n, DesiredCount(g->spec)));
  return g->updated_high;
}

void Controller::Impl::ProgressLocked(Group* g, gv1::UpdatePhase phase,
                                      const std::string& message) {
  if (g->update_stream == nullptr) return;
  if (phase == gv1::UPDATE_PHASE_PROGRESS) {
    // A step message carries the update's counts and the group's status, each a walk over the
    // members: computed per step, a rolling update of n members cost O(n^2). Steps wait for the
    // task below (or the next phase change) and go together with counts computed once; a batch
    // call's 128 creations then cost one walk.
    g->pending_progress.push_back(message);
    if (!g->progress_posted) {
      g->progress_posted = true;
      Post([id = g->id, uid = g->uid](Impl* self) {
        absl::MutexLock lock(&self->mu_);
        Group* g = self->FindUidLocked(id, uid);
        if (g == nullptr) return;
        g->progress_posted = false;
        self->FlushProgressLocked(g);
      });
    }
    return;
  }
  FlushProgressLocked(g);
  gv1::UpdateGroupResponse r;
  r.set_phase(phase);
  r.set_message(message);
  r.set_updated(UpdatedCountLocked(g));
  r.set_total(DesiredCount(g->spec));
  *r.mutable_status() = StatusLocked(g);
  g->update_stream->Push(std::move(r));
}

void Controller::Impl::FlushProgressLocked(Group* g) {
  if (g->pending_progress.empty()) return;
  std::vector<std::string> messages;
  messages.swap(g->pending_progress);
  if (g->update_stream == nullptr) return;
  const int64_t updated = UpdatedCountLocked(g);
  const int64_t total = DesiredCount(g->spec);
  const gv1::GroupStatus status = StatusLocked(g);
  for (std::string& message : messages) {
    gv1::UpdateGroupResponse r;
    r.set_phase(gv1::UPDATE_PHASE_PROGRESS);
    r.set_message(std::move(message));
    r.set_updated(updated);
    r.set_total(total);
    *r.mutable_status() = status;
    g->update_stream->Push(std::move(r));
  }
}

void Controller::Impl::EndUpdateStreamLocked(Group* g, gv1::UpdatePhase phase,
                                             const std::string& message) {
  if (g->update_stream == nullptr) return;
  ProgressLocked(g, phase, message);
  g->update_stream->End(absl::OkStatus());
  g->update_stream.reset();
}

void Controller::Impl::TrackUpdateLocked(Group* g, absl::Time now) {
  if (g->update.paused()) return;
  const gv1::UpdatePolicy& p = g->spec.update_policy();
  const absl::Duration deadline = absl::Seconds(
      p.health_deadline_seconds() > 0 ? p.health_deadline_seconds()
                                      : kDefaultHealthDeadlineSeconds);
  const absl::Time started = FromProto(g->update.started());

  bool complete = g->slots.empty();
  int64_t live = 0;
  absl::flat_hash_set<std::string> lids;
  for (auto& [id, m] : g->members) {
    if (m.doomed || m.sha != g->sha) {
      complete = false;
      continue;
    }
    ++live;
    if (IsPets(g->spec)) lids.insert(m.lid);
    if (MemberReadyLocked(g, m, now)) {
      // Members this update made: the ones it had already are not news.
      if (!m.reported_ready && m.update_generation == g->update.generation()) {
        m.reported_ready = true;
        EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE_STEP, id, absl::StrCat("update: ", id,
                                                                          " is ready"));
        ProgressLocked(g, gv1::UPDATE_PHASE_PROGRESS, absl::StrCat(id, " is ready"));
      }
      continue;
    }
    complete = false;
    if (now - std::max(m.created, started) >= deadline) {
      FailUpdateLocked(g, absl::StrCat(
                              "instance ", id, " did not become healthy within ",
                              absl::FormatDuration(deadline), " (health: ",
                              fv1::Health_Name(m.health),
                              m.health_reason.empty() ? "" : ", " + m.health_reason, ")"));
      return;
    }
  }
  for (const auto& [seq, s] : g->slots) {
    if (s.first_failure != absl::InfiniteFuture() &&
        now - std::max(s.first_failure, started) >= deadline) {
      FailUpdateLocked(g, absl::StrCat("creating instances has been failing for longer than ",
                                       absl::FormatDuration(deadline), ": ", g->last_error));
      return;
    }
  }
  if (live != DesiredCount(g->spec)) complete = false;
  if (IsPets(g->spec)) {
    for (const std::string& lid : g->spec.allocation().logical_ids().ids()) {
      if (!lids.count(lid)) complete = false;
    }
  }
  if (!complete) return;

  const bool rollback = g->update.rollback();
  std::string msg =
      absl::StrCat(rollback ? "rollback completed: " : "update completed: ",
                   Plural(live, "instance"), " on config ", ShortSha(g->sha), " and ready");
  LOG(INFO) << "group " << g->id << ": " << msg;
  // A rollback's stream is the failed update's: it ends once the group is back.
  EndUpdateStreamLocked(g, rollback ? gv1::UPDATE_PHASE_ROLLED_BACK : gv1::UPDATE_PHASE_COMPLETED,
                        msg);
  EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
  g->update.Clear();
  MarkDirtyLocked(g);
}

void Controller::Impl::FailUpdateLocked(Group* g, const std::string& reason) {
  const bool can_roll_back =
      g->spec.update_policy().on_failure() == gv1::FAILURE_ACTION_ROLLBACK &&
      !g->update.rollback() && g->update.has_previous_spec();
  if (can_roll_back) {
    gv1::GroupSpec failed = g->spec;
    gv1::GroupSpec previous = g->update.previous_spec();
    std::string previous_sha = ConfigSha(previous);
    std::string msg = absl::StrCat("update failed (", reason, "); rolling back to config ",
                                   ShortSha(previous_sha));
    LOG(WARNING) << "group " << g->id << ": " << msg;
    // The stream goes on with the rollback's progress; ROLLED_BACK ends it once the group is
    // back on the previous config (PAUSED if the rollback fails too).
    ProgressLocked(g, gv1::UPDATE_PHASE_ROLLING_BACK, msg);
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
    g->last_error = msg;
    g->spec = std::move(previous);
    g->sha = previous_sha;
    UpdateState u;
    u.set_active(true);
    u.set_rollback(true);
    *u.mutable_previous_spec() = std::move(failed);
    *u.mutable_started() = ToProto(clock_->Now());
    u.set_generation(++g->update_generation);
    u.set_summary(absl::StrCat("Rolls back to config ", ShortSha(previous_sha)));
    g->update = std::move(u);
    g->updated_high = 0;
    for (auto& [iid, m] : g->members) m.reported_ready = false;
    MarkDirtyLocked(g);
    ScheduleReconcileLocked(g);
    return;
  }
  std::string msg = absl::StrCat("update paused: ", reason);
  LOG(WARNING) << "group " << g->id << ": " << msg;
  g->update.set_paused(true);
  g->update.set_pause_reason(reason);
  g->last_error = msg;
  EndUpdateStreamLocked(g, gv1::UPDATE_PHASE_PAUSED, msg);
  EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
  MarkDirtyLocked(g);
  ScheduleReconcileLocked(g);
}

absl::Status Controller::Impl::CheckUpdatableLocked(Group* g, const gv1::GroupSpec& spec) {
  if (g->destroying) {
    return absl::FailedPreconditionError(
        absl::StrCat("group \"", g->id, "\" is being destroyed"));
  }
  if (spec.instance().plugin() != g->spec.instance().plugin()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "instance.plugin: cannot change from \"", g->spec.instance().plugin(), "\" to \"",
        spec.instance().plugin(), "\" in an update (the members live in \"",
        g->spec.instance().plugin(), "\"); destroy the group and watch it anew instead"));
  }
  if (IsPets(spec) != IsPets(g->spec)) {
    return absl::FailedPreconditionError(
        "allocation: cannot switch between a size and logical IDs in an update");
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------------------
// Status, events, persistence.

gv1::GroupStatus Controller::Impl::StatusLocked(Group* g) {
  gv1::GroupStatus s;
  s.set_desired(DesiredCount(g->spec));
  int64_t listed = 0, healthy = 0, outdated = 0, destroying = 0, live = 0;
  for (const auto& [id, m] : g->members) {
    ++listed;
    if (m.doomed) {
      ++destroying;
      continue;
    }
    ++live;
    if (m.health == fv1::HEALTH_HEALTHY) ++healthy;
    if (m.sha != g->sha) ++outdated;
  }
  int64_t under_way = 0;
  for (const auto& [seq, slot] : g->slots) {
    if (slot.state != SlotState::kQueued) ++under_way;
  }
  s.set_actual(listed + under_way);
  s.set_healthy(healthy);
  s.set_outdated(outdated);
  s.set_updating(Rolling(g->update));
  s.set_paused(g->update.active() && g->update.paused() && !g->update.stopped());
  s.set_stopped(g->update.active() && g->update.stopped());
  if (!g->instance_error.empty() || !g->known) {
    s.set_waiting_for_plugin(g->spec.instance().plugin());
  } else if (!g->flavor_error.empty()) {
    s.set_waiting_for_plugin(g->spec.flavor().plugin());
  }
  s.set_last_error(g->last_error);
  s.set_config_sha(g->sha);
  s.set_provisioning(static_cast<int64_t>(g->slots.size()));
  s.set_destroying(destroying);
  // A stopped update keeps members of the older config on purpose: converged with them.
  s.set_converged(g->known && !g->empty_suspect && !g->destroying && live == s.desired() &&
                  (outdated == 0 || s.stopped()) && g->slots.empty() && destroying == 0);
  return s;
}

void Controller::Impl::EmitLocked(Group* g, gv1::GroupEventType type, const std::string& instance,
                                  const std::string& message) {
  VLOG(1) << "group " << g->id << " " << gv1::GroupEventType_Name(type) << ": " << message;
  if (g->event_streams.empty()) return;
  gv1::GroupEvent e;
  *e.mutable_time() = ToProto(clock_->Now());
  e.set_type(type);
  e.set_group(g->id);
  e.set_instance_id(instance);
  e.set_message(message);
  auto& streams = g->event_streams;
  streams.erase(std::remove_if(streams.begin(), streams.end(),
                               [](const std::shared_ptr<EventStream>& s) { return s->closed(); }),
                streams.end());
  for (const auto& s : streams) s->Push(e);
}

void Controller::Impl::ErrorLocked(Group* g, const std::string& instance,
                                   const std::string& message) {
  LOG(WARNING) << "group " << g->id << ": " << message;
  g->last_error = message;
  EmitLocked(g, gv1::GROUP_EVENT_TYPE_ERROR, instance, message);
}

GroupRecord Controller::Impl::RecordLocked(Group* g) {
  GroupRecord r;
  *r.mutable_spec() = g->spec;
  if (g->update.active()) *r.mutable_update() = g->update;
  r.set_sequence_reserved(g->sequence_reserved);
  r.set_destroying(g->destroying);
  r.set_update_generation(g->update_generation);
  return r;
}

void Controller::Impl::MarkDirtyLocked(Group* g) {
  ++g->dirty;
  if (g->write_posted || g->write_timer != 0) return;
  g->write_posted = true;
  Post([id = g->id, uid = g->uid](Impl* self) { self->WriteTask(id, uid); });
}

absl::Status Controller::Impl::Flush(const std::string& id, int64_t uid,
                                     std::shared_ptr<Writer> writer) {
  absl::MutexLock write_lock(&writer->mu);
  GroupRecord record;
  int64_t gen;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr) return absl::OkStatus();
    gen = g->dirty;
    if (gen <= writer->written) return absl::OkStatus();
    record = RecordLocked(g);
  }
  absl::Status st = store_->Put(record);
  absl::MutexLock lock(&mu_);
  Group* g = FindUidLocked(id, uid);
  if (st.ok()) {
    writer->written = std::max(writer->written, gen);
    if (g != nullptr && g->write_failures > 0) {
      g->write_failures = 0;
      g->last_error.clear();
    }
    return st;
  }
  if (g != nullptr) {
    ++g->write_failures;
    ErrorLocked(g, "", absl::StrCat("saving the group's state failed (retrying): ",
                                    st.ToString()));
    if (g->write_timer == 0) {
      g->write_timer =
          At(clock_->Now() + Backoff(options_, g->write_failures), [id, uid](Impl* self) {
            {
              absl::MutexLock lock(&self->mu_);
              Group* g = self->FindUidLocked(id, uid);
              if (g == nullptr) return;
              g->write_timer = 0;
            }
            self->WriteTask(id, uid);
          });
    }
  }
  return st;
}

void Controller::Impl::WriteTask(const std::string& id, int64_t uid) {
  std::shared_ptr<Writer> writer;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(id, uid);
    if (g == nullptr) return;
    g->write_posted = false;
    writer = g->writer;
  }
  Flush(id, uid, writer).IgnoreError();
}

absl::Status Controller::Impl::ValidateWithPlugins(const gv1::GroupSpec& spec) {
  const std::string& ip = spec.instance().plugin();
  auto instance = resolver_->Instance(ip);
  if (!instance.ok()) {
    return Prefixed(instance.status(), absl::StrCat("instance.plugin: instance plugin \"", ip,
                                                    "\": "));
  }
  iv1::ValidateRequest iv;
  *iv.mutable_properties() = spec.instance().properties();
  if (absl::Status st = (*instance)->Validate(iv); !st.ok()) {
    return Prefixed(st, st.code() == absl::StatusCode::kInvalidArgument
                            ? absl::StrCat("instance.properties (checked by ", ip, "): ")
                            : absl::StrCat("instance plugin \"", ip, "\": "));
  }
  const std::string& fp = spec.flavor().plugin();
  auto flavor = resolver_->Flavor(fp);
  if (!flavor.ok()) {
    return Prefixed(flavor.status(), absl::StrCat("flavor.plugin: flavor plugin \"", fp, "\": "));
  }
  fv1::ValidateRequest fv;
  *fv.mutable_properties() = spec.flavor().properties();
  *fv.mutable_allocation() = spec.allocation();
  if (absl::Status st = (*flavor)->Validate(fv); !st.ok()) {
    return Prefixed(st, st.code() == absl::StatusCode::kInvalidArgument
                            ? absl::StrCat("flavor.properties (checked by ", fp, "): ")
                            : absl::StrCat("flavor plugin \"", fp, "\": "));
  }
  return absl::OkStatus();
}

std::unique_ptr<Controller::Impl::Group> Controller::Impl::NewGroupLocked(
    const gv1::GroupSpec& spec) {
  auto g = std::make_unique<Group>();
  g->id = spec.id();
  g->uid = next_uid_++;
  g->spec = spec;
  g->sha = ConfigSha(spec);
  return g;
}

void Controller::Impl::RemoveGroupLocked(Group* g, const absl::Status& end, const std::string& why,
                                         Trash* trash) {
  for (TimerId* t : {&g->resync_timer, &g->wake_timer, &g->recheck_timer, &g->listing_timer,
                     &g->write_timer, &g->pass_timer, &g->health_gather_timer}) {
    if (*t != 0) clock_->Cancel(*t);
    *t = 0;
  }
  if (g->update_stream != nullptr) {
    if (end.ok()) {
      EndUpdateStreamLocked(g, gv1::UPDATE_PHASE_STOPPED, why);
    } else {
      FlushProgressLocked(g);
      g->update_stream->End(end);
      g->update_stream.reset();
    }
  }
  for (auto& s : g->event_streams) s->End(end);
  g->event_streams.clear();
  absl::Status gone = end.ok() ? absl::AbortedError(absl::StrCat("group \"", g->id, "\": ", why))
                               : end;
  for (auto& [rid, r] : g->requests) {
    executor_->Post([done = std::move(r.done), gone] { done(gone); });
  }
  g->requests.clear();
  for (auto& done : g->destroy_waiters) {
    executor_->Post([done = std::move(done), gone] { done(gone); });
  }
  g->destroy_waiters.clear();
  if (g->handle != nullptr) trash->handles.push_back(std::move(g->handle));
  if (g->sink != nullptr) trash->sinks.push_back(std::move(g->sink));
  groups_.erase(g->id);
}

// ------------------------------------------------------------------------------------------
// Operations.

absl::Status Controller::Impl::Start() {
  absl::StatusOr<std::vector<GroupRecord>> records = store_->LoadAll();
  if (!records.ok()) return records.status();
  absl::MutexLock lock(&mu_);
  if (shut_down_) return absl::UnavailableError("the group controller is shut down");
  for (GroupRecord& r : *records) {
    if (groups_.count(r.spec().id())) continue;
    if (absl::Status valid = ValidateGroupSpec(r.spec()); !valid.ok()) {
      LOG(WARNING) << "stored group " << r.spec().id() << " does not pass today's checks ("
                   << valid << "); managing it anyway";
    }
    std::unique_ptr<Group> g = NewGroupLocked(r.spec());
    if (r.update().active()) g->update = r.update();
    g->update_generation = r.update_generation();
    g->sequence_reserved = r.sequence_reserved();
    g->next_sequence = std::max<int64_t>(1, r.sequence_reserved());
    g->destroying = r.destroying();
    g->writer->written = 0;
    Group* raw = g.get();
    groups_.emplace(raw->id, std::move(g));
    LOG(INFO) << "resuming group " << raw->id
              << (!raw->update.active()     ? ""
                  : raw->update.stopped() ? " (update stopped)"
                  : raw->update.paused()  ? " (update paused)"
                                          : " (update in progress)")
              << (raw->destroying ? " (being destroyed)" : "");
    if (Rolling(raw->update)) {
      EmitLocked(raw, gv1::GROUP_EVENT_TYPE_UPDATE, "", "update resumed after a restart");
    }
    StartGroupLocked(raw);
  }
  return absl::OkStatus();
}

void Controller::Impl::Shutdown() {
  Trash trash;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    std::vector<Group*> all;
    for (auto& [id, g] : groups_) all.push_back(g.get());
    absl::Status down = absl::UnavailableError("the group service is shutting down");
    for (Group* g : all) RemoveGroupLocked(g, down, "shutdown", &trash);
    shut_down_ = true;
  }
  trash.Clear();
}

absl::StatusOr<gv1::WatchGroupResponse> Controller::Impl::WatchGroup(
    const gv1::WatchGroupRequest& request) {
  const gv1::GroupSpec& spec = request.spec();
  if (absl::Status st = ValidateGroupSpec(spec); !st.ok()) return Prefixed(st, "spec.");
  int64_t uid;
  std::shared_ptr<Writer> writer;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return absl::UnavailableError("the group service is shutting down");
    if (groups_.count(spec.id())) {
      return absl::AlreadyExistsError(absl::StrCat("group \"", spec.id(), "\" is already watched"));
    }
    std::unique_ptr<Group> g = NewGroupLocked(spec);
    g->starting = true;
    uid = g->uid;
    writer = g->writer;
    groups_.emplace(spec.id(), std::move(g));
  }
  auto abandon = [&](absl::Status st) {
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(spec.id());
    if (it != groups_.end() && it->second->uid == uid) groups_.erase(it);
    return st;
  };
  if (absl::Status st = ValidateWithPlugins(spec); !st.ok()) return abandon(st);
  GroupRecord record;
  *record.mutable_spec() = spec;
  {
    absl::MutexLock write_lock(&writer->mu);
    if (absl::Status st = store_->Put(record); !st.ok()) {
      return abandon(Prefixed(st, "saving the group failed: "));
    }
  }
  gv1::WatchGroupResponse response;
  {
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(spec.id());
    if (shut_down_ || it == groups_.end() || it->second->uid != uid) {
      return absl::UnavailableError("the group service is shutting down");
    }
    Group* g = it->second.get();
    g->starting = false;
    LOG(INFO) << "watching group " << g->id << " (config " << g->sha << ")";
    StartGroupLocked(g);
    response.set_message(absl::StrCat("watching ", g->id));
    response.set_config_sha(g->sha);
  }
  return response;
}

absl::Status Controller::Impl::UnwatchGroup(const gv1::UnwatchGroupRequest& request) {
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return absl::UnavailableError("the group service is shutting down");
    Group* g = FindLocked(request.id());
    if (g == nullptr) return NotFound(request.id());
    writer = g->writer;
    uid = g->uid;
  }
  Trash trash;
  {
    absl::MutexLock write_lock(&writer->mu);
    if (absl::Status st = store_->Delete(request.id()); !st.ok()) {
      return Prefixed(st, "forgetting the group failed: ");
    }
    absl::MutexLock lock(&mu_);
    Group* g = FindUidLocked(request.id(), uid);
    if (g == nullptr) return NotFound(request.id());
    LOG(INFO) << "unwatching group " << g->id;
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "", "group unwatched");
    RemoveGroupLocked(g, absl::OkStatus(), "group unwatched", &trash);
  }
  trash.Clear();
  return absl::OkStatus();
}

absl::StatusOr<gv1::InspectGroupResponse> Controller::Impl::InspectGroup(
    const gv1::InspectGroupRequest& request) {
  absl::MutexLock lock(&mu_);
  Group* g = FindLocked(request.id());
  if (g == nullptr) return NotFound(request.id());
  gv1::InspectGroupResponse r;
  *r.mutable_spec() = g->spec;
  *r.mutable_status() = StatusLocked(g);
  for (const auto& [id, m] : g->members) {
    gv1::Member* out = r.add_members();
    out->set_id(id);
    out->set_logical_id(m.lid);
    *out->mutable_tags() = m.desc.tags();
    out->set_health(m.health == fv1::HEALTH_UNSPECIFIED ? fv1::HEALTH_UNKNOWN : m.health);
    out->set_health_reason(m.health == fv1::HEALTH_UNSPECIFIED ? "not checked yet"
                                                               : m.health_reason);
    out->set_state(m.desc.state());
    out->set_outdated(m.sha != g->sha);
  }
  return r;
}

absl::StatusOr<gv1::DescribeUpdateResponse> Controller::Impl::DescribeUpdate(
    const gv1::DescribeUpdateRequest& request) {
  const gv1::GroupSpec& spec = request.spec();
  if (absl::Status st = ValidateGroupSpec(spec); !st.ok()) return Prefixed(st, "spec.");
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindLocked(spec.id());
    if (g == nullptr) return NotFound(spec.id());
    if (absl::Status st = CheckUpdatableLocked(g, spec); !st.ok()) return st;
  }
  if (absl::Status st = ValidateWithPlugins(spec); !st.ok()) return st;
  absl::MutexLock lock(&mu_);
  Group* g = FindLocked(spec.id());
  if (g == nullptr) return NotFound(spec.id());
  if (absl::Status st = CheckUpdatableLocked(g, spec); !st.ok()) return st;
  if (!g->known) {
    return absl::UnavailableError(absl::StrCat(
        "the members of group \"", g->id, "\" are not known yet: waiting for instance plugin \"",
        g->spec.instance().plugin(), "\""));
  }
  gv1::DescribeUpdateResponse r;
  *r.mutable_plan() =
      MakePlan(MemberViewsLocked(g, clock_->Now()), SlotViewsLocked(g), spec, ConfigSha(spec));
  return r;
}

absl::StatusOr<std::unique_ptr<Subscription>> Controller::Impl::UpdateGroup(
    const gv1::UpdateGroupRequest& request, UpdateProgressCallback on_progress,
    StreamEndCallback on_end) {
  const gv1::GroupSpec& spec = request.spec();
  if (absl::Status st = ValidateGroupSpec(spec); !st.ok()) return Prefixed(st, "spec.");
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return absl::UnavailableError("the group service is shutting down");
    Group* g = FindLocked(spec.id());
    if (g == nullptr) return NotFound(spec.id());
    if (absl::Status st = CheckUpdatableLocked(g, spec); !st.ok()) return st;
  }
  if (absl::Status st = ValidateWithPlugins(spec); !st.ok()) return st;

  auto stream = std::make_shared<UpdateStream>(std::move(on_progress), std::move(on_end),
                                               executor_);
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindLocked(spec.id());
    if (g == nullptr) return NotFound(spec.id());
    if (absl::Status st = CheckUpdatableLocked(g, spec); !st.ok()) return st;
    if (!g->known) {
      return absl::UnavailableError(absl::StrCat(
          "the members of group \"", g->id,
          "\" are not known yet: waiting for instance plugin \"", g->spec.instance().plugin(),
          "\""));
    }
    const std::string sha = ConfigSha(spec);
    gv1::Plan plan = MakePlan(MemberViewsLocked(g, clock_->Now()), SlotViewsLocked(g), spec, sha);
    gv1::GroupSpec previous = g->update.active() ? g->update.previous_spec() : g->spec;
    if (g->update.active() && !g->update.stopped()) {
      std::string msg = "superseded by a newer update";
      EndUpdateStreamLocked(g, gv1::UPDATE_PHASE_SUPERSEDED, msg);
      EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", absl::StrCat("update ", msg));
    }
    g->spec = spec;
    g->sha = sha;
    UpdateState u;
    u.set_active(true);
    *u.mutable_previous_spec() = std::move(previous);
    *u.mutable_started() = ToProto(clock_->Now());
    u.set_generation(++g->update_generation);
    u.set_summary(plan.summary());
    g->update = std::move(u);
    FlushProgressLocked(g);  // the previous stream's steps (ended above) are not this one's
    g->update_stream = stream;
    for (auto& [iid, m] : g->members) m.reported_ready = false;
    g->updated_high = 0;
    g->last_error.clear();
    LOG(INFO) << "group " << g->id << ": update to config " << sha << ": " << plan.summary();
    ProgressLocked(g, gv1::UPDATE_PHASE_STARTED, plan.summary());
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "",
               absl::StrCat("update to config ", ShortSha(sha), " started: ", plan.summary()));
    MarkDirtyLocked(g);
    ScheduleReconcileLocked(g);
    writer = g->writer;
    uid = g->uid;
  }
  // Durable before answering, so that a crash right after resumes this update; a failure is
  // reported in the status and retried.
  Flush(spec.id(), uid, writer).IgnoreError();
  std::weak_ptr<UpdateStream> weak_stream = stream;
  return std::unique_ptr<Subscription>(new StreamSubscription(
      [weak_stream] {
        if (auto s = weak_stream.lock()) s->Cancel();
      },
      nullptr));
}

absl::Status Controller::Impl::StopUpdate(const gv1::StopUpdateRequest& request) {
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindLocked(request.id());
    if (g == nullptr) return NotFound(request.id());
    if (!g->update.active() || g->update.stopped()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "group \"", g->id, "\" has no update in progress",
          g->update.stopped() ? " (the last one was stopped already)" : ""));
    }
    int64_t current = 0, older = 0;
    for (const auto& [id, m] : g->members) {
      if (m.doomed) continue;
      ++(m.sha == g->sha ? current : older);
    }
    const std::string msg = absl::StrCat(
        "update stopped: the group keeps its members of both configs (", current, " on config ",
        ShortSha(g->sha), ", ", older, " on older configs) at size ", DesiredCount(g->spec),
        "; members that are not healthy go first if it is above that");
    EndUpdateStreamLocked(g, gv1::UPDATE_PHASE_STOPPED, msg);
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE, "", msg);
    LOG(INFO) << "group " << g->id << ": " << msg;
    g->update.set_stopped(true);
    g->update.set_paused(false);
    g->update.clear_pause_reason();
    g->last_error.clear();
    MarkDirtyLocked(g);
    ScheduleReconcileLocked(g);
    writer = g->writer;
    uid = g->uid;
  }
  Flush(request.id(), uid, writer).IgnoreError();
  return absl::OkStatus();
}

void Controller::Impl::DestroyGroup(const gv1::DestroyGroupRequest& request,
                                    DoneCallback<gv1::DestroyGroupResponse> done) {
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    absl::MutexLock lock(&mu_);
    Group* g = shut_down_ ? nullptr : FindLocked(request.id());
    if (g == nullptr) {
      absl::Status st = shut_down_ ? absl::UnavailableError("the group service is shutting down")
                                   : NotFound(request.id());
      executor_->Post([done = std::move(done), st] { done(st); });
      return;
    }
    g->destroy_waiters.push_back(std::move(done));
    if (g->destroying) return;
    g->destroying = true;
    g->destroyed_count = 0;
    if (g->update.active()) {
      EndUpdateStreamLocked(g, gv1::UPDATE_PHASE_STOPPED, "the group is being destroyed");
      g->update.Clear();
    }
    LOG(INFO) << "destroying group " << g->id;
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "", "destroying the group");
    MarkDirtyLocked(g);
    ScheduleReconcileLocked(g);
    writer = g->writer;
    uid = g->uid;
  }
  Flush(request.id(), uid, writer).IgnoreError();
}

gv1::ListGroupsResponse Controller::Impl::ListGroups() {
  absl::MutexLock lock(&mu_);
  gv1::ListGroupsResponse r;
  for (auto& [id, g] : groups_) {
    if (g->starting) continue;
    gv1::GroupSummary* s = r.add_groups();
    *s->mutable_spec() = g->spec;
    *s->mutable_status() = StatusLocked(g.get());
  }
  return r;
}

absl::StatusOr<gv1::SetSizeResponse> Controller::Impl::SetSize(const gv1::SetSizeRequest& request) {
  if (request.size() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("size: must be >= 0, got ", request.size()));
  }
  std::shared_ptr<Writer> writer;
  int64_t uid;
  gv1::SetSizeResponse response;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindLocked(request.id());
    if (g == nullptr) return NotFound(request.id());
    if (IsPets(g->spec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "group \"", g->id,
          "\" is a group of pets (logical IDs): change its list of logical IDs with an update"));
    }
    if (g->destroying) {
      return absl::FailedPreconditionError(
          absl::StrCat("group \"", g->id, "\" is being destroyed"));
    }
    response.set_previous_size(g->spec.allocation().size());
    g->spec.mutable_allocation()->set_size(request.size());
    if (g->update.active() && g->update.previous_spec().allocation().has_size()) {
      g->update.mutable_previous_spec()->mutable_allocation()->set_size(request.size());
    }
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "",
               absl::StrCat("size ", response.previous_size(), " -> ", request.size()));
    MarkDirtyLocked(g);
    ScheduleReconcileLocked(g);
    writer = g->writer;
    uid = g->uid;
  }
  Flush(request.id(), uid, writer).IgnoreError();
  return response;
}

void Controller::Impl::DestroyInstances(const gv1::DestroyInstancesRequest& request,
                                        DoneCallback<gv1::DestroyInstancesResponse> done) {
  std::shared_ptr<Writer> writer;
  int64_t uid;
  {
    absl::MutexLock lock(&mu_);
    auto fail = [&](absl::Status st) {
      executor_->Post([done = std::move(done), st] { done(st); });
    };
    Group* g = shut_down_ ? nullptr : FindLocked(request.id());
    if (g == nullptr) {
      fail(shut_down_ ? absl::UnavailableError("the group service is shutting down")
                      : NotFound(request.id()));
      return;
    }
    if (g->destroying) {
      fail(absl::FailedPreconditionError(
          absl::StrCat("group \"", g->id, "\" is being destroyed")));
      return;
    }
    if (!g->known) {
      fail(absl::UnavailableError(absl::StrCat(
          "the members of group \"", g->id, "\" are not known yet: waiting for instance plugin \"",
          g->spec.instance().plugin(), "\"")));
      return;
    }
    std::vector<std::string> ids;
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < request.instance_ids_size(); ++i) {
      const std::string& iid = request.instance_ids(i);
      if (!seen.insert(iid).second) continue;
      auto it = g->members.find(iid);
      if (it == g->members.end() || it->second.doomed) {
        fail(absl::NotFoundError(absl::StrCat("instance_ids[", i, "]: \"", iid,
                                              "\" is not a member of group \"", g->id, "\"")));
        return;
      }
      ids.push_back(iid);
    }
    if (ids.empty()) {
      gv1::DestroyInstancesResponse r;
      r.set_size(DesiredCount(g->spec));
      executor_->Post([done = std::move(done), r] { done(r); });
      return;
    }
    int64_t rid = g->next_request++;
    DestroyRequest& r = g->requests[rid];
    r.pending = static_cast<int>(ids.size());
    r.done = std::move(done);
    const int64_t before = DesiredCount(g->spec);
    for (const std::string& iid : ids) {
      Member& m = g->members[iid];
      if (IsPets(g->spec)) {
        auto* list = g->spec.mutable_allocation()->mutable_logical_ids()->mutable_ids();
        auto pos = std::find(list->begin(), list->end(), m.lid);
        if (pos != list->end()) list->erase(pos);
      } else {
        g->spec.mutable_allocation()->set_size(
            std::max<int64_t>(0, g->spec.allocation().size() - 1));
      }
      DoomLocked(g, &m, iv1::DESTROY_REASON_TERMINATE, "destroyed on request", false, rid);
    }
    EmitLocked(g, gv1::GROUP_EVENT_TYPE_SPEC_CHANGED, "",
               absl::StrCat("size ", before, " -> ", DesiredCount(g->spec), " (destroying ",
                            Plural(static_cast<int64_t>(ids.size()), "instance"), ")"));
    MarkDirtyLocked(g);
    PumpDestroysLocked(g);
    ScheduleReconcileLocked(g);
    writer = g->writer;
    uid = g->uid;
  }
  Flush(request.id(), uid, writer).IgnoreError();
}

absl::StatusOr<std::unique_ptr<Subscription>> Controller::Impl::StreamGroupEvents(
    const gv1::StreamGroupEventsRequest& request, GroupEventCallback on_event,
    StreamEndCallback on_end) {
  auto stream = std::make_shared<EventStream>(std::move(on_event), std::move(on_end), executor_);
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return absl::UnavailableError("the group service is shutting down");
    Group* g = FindLocked(request.id());
    if (g == nullptr) return NotFound(request.id());
    g->event_streams.push_back(stream);
  }
  std::weak_ptr<EventStream> weak_stream = stream;
  std::weak_ptr<Impl> weak_impl = weak_from_this();
  std::string id = request.id();
  return std::unique_ptr<Subscription>(new StreamSubscription(
      [weak_stream] {
        if (auto s = weak_stream.lock()) s->Cancel();
      },
      [weak_impl, weak_stream, id] {
        auto impl = weak_impl.lock();
        auto s = weak_stream.lock();
        if (impl == nullptr || s == nullptr) return;
        absl::MutexLock lock(&impl->mu_);
        Group* g = impl->FindLocked(id);
        if (g == nullptr) return;
        auto& v = g->event_streams;
        v.erase(std::remove(v.begin(), v.end(), s), v.end());
      }));
}

// ------------------------------------------------------------------------------------------

Controller::Controller(ControllerOptions options, spi::PluginResolver* resolver, Store* store,
                       Clock* clock, Executor* executor)
    : impl_(std::make_shared<Impl>(options, resolver, store, clock, executor)) {}

Controller::~Controller() { impl_->Shutdown(); }

absl::Status Controller::Start() { return impl_->Start(); }
void Controller::Shutdown() { impl_->Shutdown(); }

absl::StatusOr<gv1::WatchGroupResponse> Controller::WatchGroup(
    const gv1::WatchGroupRequest& request) {
  return impl_->WatchGroup(request);
}
absl::Status Controller::UnwatchGroup(const gv1::UnwatchGroupRequest& request) {
  return impl_->UnwatchGroup(request);
}
absl::StatusOr<gv1::InspectGroupResponse> Controller::InspectGroup(
    const gv1::InspectGroupRequest& request) {
  return impl_->InspectGroup(request);
}
absl::StatusOr<gv1::DescribeUpdateResponse> Controller::DescribeUpdate(
    const gv1::DescribeUpdateRequest& request) {
  return impl_->DescribeUpdate(request);
}
absl::StatusOr<std::unique_ptr<Subscription>> Controller::UpdateGroup(
    const gv1::UpdateGroupRequest& request, UpdateProgressCallback on_progress,
    StreamEndCallback on_end) {
  return impl_->UpdateGroup(request, std::move(on_progress), std::move(on_end));
}
absl::Status Controller::StopUpdate(const gv1::StopUpdateRequest& request) {
  return impl_->StopUpdate(request);
}
void Controller::DestroyGroup(const gv1::DestroyGroupRequest& request,
                              DoneCallback<gv1::DestroyGroupResponse> done) {
  impl_->DestroyGroup(request, std::move(done));
}
gv1::ListGroupsResponse Controller::ListGroups() { return impl_->ListGroups(); }
absl::StatusOr<gv1::SetSizeResponse> Controller::SetSize(const gv1::SetSizeRequest& request) {
  return impl_->SetSize(request);
}
void Controller::DestroyInstances(const gv1::DestroyInstancesRequest& request,
                                  DoneCallback<gv1::DestroyInstancesResponse> done) {
  impl_->DestroyInstances(request, std::move(done));
}
absl::StatusOr<std::unique_ptr<Subscription>> Controller::StreamGroupEvents(
    const gv1::StreamGroupEventsRequest& request, GroupEventCallback on_event,
    StreamEndCallback on_end) {
  return impl_->StreamGroupEvents(request, std::move(on_event), std::move(on_end));
}

}  // namespace infrakit::services::group
