// The state the group controller keeps per group: its members, its creations under way
// ("slots"), the counters that let a steady group be decided without walking its members, and
// the bookkeeping of every part of the controller (membership, creation, destruction, health,
// rollout, persistence, streams). Plain data with the few operations that keep the counters in
// step; CheckInvariants() checks them against a full count (tests and debug builds).
//
// Threading: none of its own. Every field is guarded by the controller's one lock (see
// runtime.h); nothing here blocks or calls out.
#ifndef INFRAKIT_SERVICES_GROUP_GROUP_STATE_H_
#define INFRAKIT_SERVICES_GROUP_GROUP_STATE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "services/group/callbacks.h"
#include "services/group/clock.h"
#include "services/group/group_view.h"
#include "services/group/retry.h"
#include "services/group/state.pb.h"
#include "services/group/stream.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::services::group {

namespace gv1 = ::infrakit::group::v1;
namespace fv1 = ::infrakit::flavor::v1;
namespace iv1 = ::infrakit::instance::v1;

using UpdateStream = Stream<gv1::UpdateGroupResponse>;
using EventStream = Stream<gv1::GroupEvent>;

// An empty description, shared: what a member holds before it is listed.
const std::shared_ptr<const iv1::Description>& EmptyDescription();

// A listed instance of the group.
struct Member {
  // As listed; shared with what readers see of it (PublishedMember). Never null.
  std::shared_ptr<const iv1::Description> desc = EmptyDescription();
  std::string sha;
  std::string lid;
  fv1::Health health = fv1::HEALTH_UNSPECIFIED;
  std::string health_reason;
  absl::Time healthy_since = absl::InfiniteFuture();
  absl::Time unhealthy_since = absl::InfiniteFuture();
  // When the last verdict came (InfinitePast: never).
  absl::Time checked_at = absl::InfinitePast();
  // The number of the health check whose verdict it holds (see Health): a check's answer is
  // taken only if no later check's answer has been (two checks of one member may be under way,
  // and a slow one may return last with the older verdict).
  uint64_t verdict_check = 0;
  // Reported HEALTHY at least once: its startup grace is over.
  bool ever_healthy = false;
  // Its CREATED event (or adoption) has been said: until then its health is not checked, so
  // that no verdict about it comes before the event that introduces it (see
  // Membership::FillMemberLocked).
  bool announced = true;
  absl::Time created;
  // A listing (a poll, or a watch's initial set) has shown it; false while it is known from an
  // event or a Provision's answer only (a listing begun soon after may lag behind it).
  bool listed = false;
  // The last listing missed it and it was kept only because that listing may lag behind it:
  // it still exists for the counts, but is not available to an update until seen again.
  bool unconfirmed = false;
  // Chosen to be destroyed (queued or under way): no longer a member for decisions.
  bool doomed = false;
  // Drain + Destroy under way.
  bool destroying = false;
  // When it was doomed, and whether a Drain/Destroy of it has started since (see
  // Destruction::Task).
  absl::Time doomed_at;
  bool destroy_started = false;
  // Group::intent_version when it was doomed.
  int64_t doomed_intent = 0;
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
  // From the member's latest verdict (HealthyResponse): its rank in a rolling update (lower is
  // replaced first) and its role in its service.
  int32_t update_order = 0;
  std::string role;
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
  // When its last Provision failed (or, for one restored after a restart, when it was
  // restored): a listing begun listing_grace later shows the instance it may have made.
  absl::Time attempt_failed = absl::InfinitePast();
  // The config its Provision was built on ("" until it was sent): the instance it makes is
  // checked with that config's flavor, so the flavor is kept while the creation is pending.
  std::string sha;
};

// A DestroyInstances call waiting for its members.
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
  // Bumped whenever what the group wants changes (its spec or size, an update started, stopped,
  // paused or rolled back): a scale-down or rolling-update destroy decided under an older intent
  // and not started yet is decided again (Destruction::WithdrawLocked).
  int64_t intent_version = 0;
  // ConfigSha(update.previous_spec()), computed for update generation
  // `previous_sha_generation` (-1: not yet).
  std::string previous_sha;
  int64_t previous_sha_generation = -1;
  // The flavor section of each config (by config SHA) the group has been on while a member of
  // it may still exist: every member is checked by its own config's flavor, however many
  // updates ago that config was (see RememberConfigFlavor).
  absl::btree_map<std::string, gv1::PluginSpec> config_flavors;
  // The flavor's limit on members down at once (ValidateResponse.max_unavailable); 0: none.
  int32_t flavor_max_unavailable = 0;
  int64_t next_sequence = 1;
  int64_t sequence_reserved = 0;
  bool destroying = false;
  std::vector<DoneCallback<gv1::DestroyGroupResponse>> destroy_waiters;
  // Instances destroyed since the group began being destroyed (the DestroyGroup answer):
  // its members then, including destroys already under way, and any that appeared since.
  int64_t destroyed_count = 0;
  bool finishing = false;

  // --- Membership. ---
  bool known = false;
  bool polling = false;
  int64_t listing_gen = 0;
  bool listing_in_flight = false;
  absl::Time listing_started;
  bool watch_synced = false;
  absl::btree_map<std::string, iv1::Description> initial;
  std::shared_ptr<spi::instance::WatchSink> sink;
  std::unique_ptr<spi::instance::WatchHandle> handle;
  RetryState listing_retry;
  bool empty_suspect = false;
  // Resumed from the store and no listing believed since: its members are unknown to this
  // process, not absent, so an empty listing is confirmed as when members were known (a plugin
  // still loading its state must not make a restarted service recreate the whole group).
  bool resumed = false;
  // When a listing must be taken again: a member missing from the last one was kept because it
  // appeared too recently for that listing to show it (InfiniteFuture: none).
  absl::Time relist_at = absl::InfiniteFuture();
  TimerId listing_timer = 0;

  absl::btree_map<std::string, Member> members;
  // Members listed while creations were under way that no creation has claimed yet (see
  // Membership::FillMemberLocked).
  absl::btree_set<std::string> unannounced;
  // Members that have not been HEALTHY since they appeared, within their startup window
  // (InitialDelaySeconds + UnhealthySeconds of the remediation timing, remediation or not): they
  // are checked every probe interval, so a member that starts is seen HEALTHY within about a
  // second rather than at the next resync.
  absl::btree_set<std::string> starting_members;
  // Instances destroyed by us, and when: a listing that began before the destroy returned is
  // stale about them.
  absl::flat_hash_map<std::string, absl::Time> recently_destroyed;
  // Instances listed and then removed while a Provision was under way (when), forgotten
  // after listing_grace: one of them may be the instance that Provision is creating, dead
  // before the call returned, and then its creation is settled as gone at once.
  absl::flat_hash_map<std::string, absl::Time> vanished_early;

  // --- Counters kept current as members and slots change (see CheckInvariants), so that a
  // steady group's pass needs no walk over thousands of members. ---
  // Members with doomed set.
  int64_t doomed_members = 0;
  // Slots in state kQueued / kInFlight.
  int64_t queued_slots = 0;
  // The kQueued slots among sent_slots: the retry of a Provision that failed or timed out (it
  // may have created its instance), or of one sent before a restart. They count as existing
  // instances and are never cancelled, until a listing begun listing_grace after the attempt
  // shows what it did (Creation::DropLostSlotsLocked).
  int64_t queued_resends = 0;
  int64_t in_flight_slots = 0;
  // The kCreated slots by (provisioned_at, sequence): the ones lost first come first.
  absl::btree_set<std::pair<absl::Time, int64_t>> created_slots;

  // --- Creation. ---
  absl::btree_map<int64_t, Slot> slots;  // by sequence
  // Slots whose key a Provision has carried (or is about to): persisted as PendingCreation, so
  // that a restarted service provisions them again with the same keys.
  absl::btree_set<int64_t> sent_slots;
  absl::flat_hash_map<std::string, int64_t> slot_by_key;
  absl::flat_hash_map<std::string, int64_t> slot_by_instance;
  int in_flight_provisions = 0;
  RetryState provision_retry;

  // --- Destruction. ---
  std::deque<std::string> destroy_queue;
  int in_flight_destroys = 0;
  RetryState destroy_retry;
  absl::btree_map<int64_t, DestroyRequest> requests;
  int64_t next_request = 1;

  // --- Remediation. ---
  int64_t remediation_debt = 0;
  bool breaker_open = false;

  // --- Errors: the plugin the group waits for, and the latest error. ---
  std::string instance_error;
  std::string flavor_error;
  std::string last_error;

  // --- Health. ---
  std::deque<std::string> health_queue;
  int health_running = 0;
  // The timer of members waiting for others to be checked together, and its firing.
  TimerId health_gather_timer = 0;
  bool health_gathered = false;
  // Re-checks of pending verdicts (a running update's new members, remediation).
  TimerId recheck_timer = 0;

  // --- Passes. ---
  TimerId resync_timer = 0;
  TimerId wake_timer = 0;
  absl::Time wake_at = absl::InfiniteFuture();
  bool reconcile_posted = false;
  // Pacing of reconcile passes: no scheduled pass starts before next_pass_at; pass_timer is the
  // timer of a pass waiting for that moment.
  absl::Time next_pass_at = absl::InfinitePast();
  TimerId pass_timer = 0;
  // Nothing queued or under way at the end of the last pass (see ControllerOptions::on_quiet).
  bool quiet = true;

  // --- Streams. ---
  std::shared_ptr<UpdateStream> update_stream;
  // The most members the running update has reported updated: its count never goes back
  // when a ready member's verdict flaps.
  int64_t updated_high = 0;
  // Step messages of the update waiting to be sent together.
  std::vector<std::string> pending_progress;
  bool progress_posted = false;
  std::vector<std::shared_ptr<EventStream>> event_streams;

  // --- What readers see (group_view.h), published by Runtime::PublishLocked. ---
  // Touched during the current step (found under the lock): published when the step ends.
  bool view_dirty = false;
  // Members added, removed or changed (in a field readers see, or doomed) since the last
  // SyncPublishedMembers; all of them when all_members_touched.
  absl::flat_hash_set<std::string> touched_members;
  bool all_members_touched = false;
  // The members as readers see them, as of the last SyncPublishedMembers: snapshots of it are
  // published, and a step copies only the leaves it changes.
  PublishedMembers published_members;
  // `sha` as of the last SyncPublishedMembers, shared by the published members created from it
  // (PublishedMember::sha); null before the first.
  std::shared_ptr<const std::string> published_sha;
  // Counts of published_members for the status, kept in step by SyncPublishedMembers (counted
  // again in full only when the group's config `sha` changed).
  struct MemberCounts {
    std::string sha;
    int64_t listed = 0;
    int64_t live = 0;
    int64_t healthy = 0;
    int64_t outdated = 0;
    int64_t destroying = 0;
  } member_counts;

  // --- Persistence. ---
  int64_t dirty = 0;
  bool write_posted = false;
  RetryState write_retry;
  TimerId write_timer = 0;
  std::shared_ptr<Writer> writer = std::make_shared<Writer>();

  // Changes a slot's state, keeping queued_slots / in_flight_slots / created_slots in step.
  void SetSlotState(Slot* s, SlotState state);
  // Forgets a slot (and its key and instance indexes). Unknown sequences are ignored.
  void EraseSlot(int64_t seq);
  // Slot `seq` is no longer one whose Provision may have created its instance (a listing has
  // shown what it did): it leaves sent_slots, and may be cancelled like a creation not started.
  void ForgetSent(int64_t seq);
  // Marks a member doomed (or not), keeping doomed_members in step.
  void SetDoomed(Member* m, bool doomed);
  // Records the flavor of the current config (spec, sha) in config_flavors and forgets the
  // configs no member and no sent creation is on any more. O(members + slots); called when the
  // config changes.
  void RememberConfigFlavor();
  // Member `id` was added or removed, or a field readers see of it changed (its description,
  // health, role, doomed): published_members takes it at the next SyncPublishedMembers.
  void TouchMember(const std::string& id) { touched_members.insert(id); }
  // Every member may have changed (a full listing replaced them).
  void TouchAllMembers() { all_members_touched = true; }
  // Brings published_members and member_counts in step with the members touched since the
  // last call: O(touched * log members), O(members) after TouchAllMembers or a config change.
  void SyncPublishedMembers();

  // The counters above against a full count of members and slots, and (when no member was
  // touched since the last SyncPublishedMembers) published_members and member_counts against
  // what they would be made from now: OK, or INTERNAL naming the first one out of step.
  // O(members + slots); for tests and debug builds.
  absl::Status CheckInvariants() const;
};

// The group is pets (logical IDs) rather than cattle (a size).
inline bool IsPets(const gv1::GroupSpec& spec) { return spec.allocation().has_logical_ids(); }

// The update is rolling: neither paused nor stopped.
inline bool Rolling(const UpdateState& u) { return u.active() && !u.paused() && !u.stopped(); }

// HEALTHY for at least the update policy's min ready seconds at `now`.
inline bool MemberReady(const Group& g, const Member& m, absl::Time now) {
  if (m.health != fv1::HEALTH_HEALTHY) return false;
  return now - m.healthy_since >= absl::Seconds(g.spec.update_policy().min_ready_seconds());
}

// The group's status: counts, whether it is updating / paused / stopped / converged, the
// plugin it waits for and its latest error. Syncs the published members first
// (Group::SyncPublishedMembers), then O(1).
gv1::GroupStatus GroupStatusOf(Group* g);

// What readers see of member `id` (InspectGroup's Member, `outdated` aside). Its sha is
// `config_sha` itself when equal (shared), else a string of its own; `config_sha` may be null.
std::shared_ptr<const PublishedMember> PublishedMemberOf(
    const std::string& id, const Member& m, const std::shared_ptr<const std::string>& config_sha);

// The value of tag `key` of `d`, "" when missing.
std::string TagOf(const iv1::Description& d, const char* key);

// "1 instance", "2 instances".
std::string Plural(int64_t n, absl::string_view what);

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_GROUP_STATE_H_
