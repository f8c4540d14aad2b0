// The group controller's decisions as pure functions: what to create and destroy now
// (Decide), and what a whole update would do (MakePlan). No I/O, no time, no locks: the
// controller builds the inputs from its state under its lock and carries out the result.
//
// Cost: O(n log n) in the number of members and pending creations.
#ifndef INFRAKIT_SERVICES_GROUP_PLANNER_H_
#define INFRAKIT_SERVICES_GROUP_PLANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::services::group {

namespace gv1 = ::infrakit::group::v1;
namespace fv1 = ::infrakit::flavor::v1;
namespace iv1 = ::infrakit::instance::v1;

// What the planner knows of one member (a listed instance of the group).
struct MemberView {
  std::string id;
  // For pets; empty for cattle.
  std::string logical_id;
  // Its infrakit.config_sha tag ("" when missing).
  std::string config_sha;
  // Last reported health; HEALTH_UNSPECIFIED when never checked.
  fv1::Health health = fv1::HEALTH_UNSPECIFIED;
  // HEALTHY for at least the update's min ready seconds.
  bool ready = false;
  // Being destroyed (or asked to be): no longer counted as a member, still counted as an
  // existing instance.
  bool destroying = false;
  // UNHEALTHY for longer than the remediation threshold.
  bool remediable = false;
  // When it was created (or first seen, when the controller did not create it).
  absl::Time created = absl::InfinitePast();
  // Since when it has been UNHEALTHY (meaningful when health is UNHEALTHY).
  absl::Time unhealthy_since = absl::InfinitePast();
  // Its only verdict came from another config's check (its own config is unknown to the group)
  // and was not HEALTHY: it may well be serving. Its health reads HEALTH_UNSPECIFIED (available
  // to nothing, never remediated, never counted for another member's replacement), but a
  // rolling update replaces it in the order of a HEALTHY member, judging the floor as if the
  // other unproven members (not itself) were available.
  bool unproven = false;
  // Its flavor's rank for rolling updates (HealthyResponse.update_order): among healthy members,
  // lower is replaced first (an ensemble's leader last).
  int32_t update_order = 0;
};

// A creation the controller has decided on and not yet seen listed.
struct SlotView {
  std::string key;
  std::string logical_id;
  // A Provision was sent (it may have created an instance): counts as an existing instance and
  // cannot be cancelled.
  bool exists = false;
  // A Provision was sent and its answer has not come: it is in flight (a plugin may list the
  // instance before answering), or it is a retry of one whose answer was lost, waiting to be
  // sent again or to settle (a group resumed by a restarted service or a new leader resumes
  // the creations its record names as sent, whose instances are usually listed already). Its
  // instance may be among the members, counted twice. Counting it makes creations wait (never
  // too many); it is left out when deciding that members are extras (never a member destroyed
  // for a double count).
  bool unanswered = false;
};

// Max surge / max unavailable resolved to counts for a given desired size.
struct RollingLimits {
  int64_t surge = 0;
  int64_t unavailable = 0;
};

struct DecideInput {
  // Pets (logical IDs) rather than cattle (size).
  bool pets = false;
  // Cattle: the desired size.
  int64_t size = 0;
  // Pets: the logical IDs, in order.
  std::vector<std::string> logical_ids;
  // The spec's config_sha.
  std::string target_sha;
  // A rolling update is running (not paused).
  bool rolling = false;
  // An update is paused: the group keeps what it has (up to size + surge, including the
  // members the update created) and only replaces members that are gone.
  bool hold = false;
  // An update was stopped: the group keeps the members of both configs at its size. Above the
  // size, the members that go first are the ones not HEALTHY, then the ones not ready, then
  // the newest (the surge member the update was waiting for), so stopping never reduces the
  // HEALTHY members below the size. Below the size it creates on target_sha. Remediation
  // applies as in a steady group.
  bool stopped = false;
  RollingLimits limits;
  // Remediation settings (used when not rolling).
  bool remediation = false;
  int64_t remediation_max_concurrent = 1;
  int64_t max_unhealthy_percent = 50;
  // Replacements for remediation under way (destroys, debts, creations).
  int64_t remediation_in_progress = 0;
  // Every member, including the ones being destroyed.
  std::vector<MemberView> members;
  std::vector<SlotView> slots;
};

struct CreateAction {
  // For pets; empty for cattle.
  std::string logical_id;
};

struct DestroyAction {
  std::string id;
  iv1::DestroyReason reason = iv1::DESTROY_REASON_UNSPECIFIED;
  // A readable reason for events and logs.
  std::string why;
  // A remediation replacement (counted against the remediation concurrency).
  bool remediation = false;
};

struct Decision {
  std::vector<CreateAction> creates;
  std::vector<DestroyAction> destroys;
  // Slots (by key) no longer wanted; only ones with exists == false are listed.
  std::vector<std::string> cancel_slots;
  // Remediation is enabled and more than the allowed share of the group is unhealthy.
  bool breaker_open = false;
  // Members UNHEALTHY.
  int64_t unhealthy = 0;
};

// What to do now. Invariants kept:
//  - cattle: creations never bring the existing instances (members, including those being
//    destroyed, plus sent Provisions) above size (+ surge while rolling);
//  - while rolling, a HEALTHY member is destroyed only if the members that are available
//    (outdated and HEALTHY, or current and ready) stay >= size - unavailable; outdated members
//    never checked for health are not touched; current-config members are destroyed only as
//    extras, duplicates or for remediation, never to roll, and as extras only while the members
//    proven available stay >= the floor without them (unless known not HEALTHY); an unproven
//    outdated member is never counted available for a HEALTHY member's replacement, and is
//    itself replaced only while the available members plus the other unproven ones stay >= the
//    floor (pets: the unavailable, those others not counted, within the allowance);
//  - pets: at most one member per logical ID; a logical ID is recreated only once its old
//    member is gone;
//  - stopped (cattle): extras go not-HEALTHY first, so HEALTHY members are destroyed only while
//    more than the size of them remain, and members of unknown health only while the size of
//    proven HEALTHY ones remain.
Decision Decide(const DecideInput& in);

// The counts of a group of cattle that is not rolling, and what they call for: the one
// arithmetic behind Decide (steady and stopped groups), MakePlan (cattle) and the controller's
// decision from counters alone (a steady group of thousands is decided without walking its
// members; planner_test checks that it always agrees with Decide).
struct CattleCounts {
  // The desired size.
  int64_t size = 0;
  // Members not being destroyed.
  int64_t live = 0;
  // Instances that exist: every member (including those being destroyed) and every creation
  // whose Provision was sent.
  int64_t existing = 0;
  // Creations decided and not listed yet, of which `queued` are not started and `unanswered`
  // were sent and have no answer (SlotView::unanswered).
  int64_t slots = 0;
  int64_t queued = 0;
  int64_t unanswered = 0;
};

struct CattleArithmetic {
  // Members missing once every creation under way is listed.
  int64_t missing = 0;
  // Creations to add now: the missing ones, but never more instances than the size counting
  // those still being destroyed.
  int64_t creates = 0;
  // Queued creations to cancel, newest first (more than the size is wanted).
  int64_t cancel = 0;
  // Members beyond the size after the cancellations, not counting creations whose Provision
  // has not answered (their instance may be listed already, counted twice): that many must go.
  int64_t extras = 0;
};

CattleArithmetic CountCattle(const CattleCounts& c);

// What the rollout of a running update knows of one member.
struct RolloutMember {
  std::string id;
  std::string logical_id;
  // On the update's config and not being destroyed.
  bool current = false;
  // Not being destroyed.
  bool live = false;
  // HEALTHY for the update's min ready seconds.
  bool ready = false;
  fv1::Health health = fv1::HEALTH_UNSPECIFIED;
  std::string health_reason;
  // When it was created (or first seen).
  absl::Time created = absl::InfinitePast();
};

struct RolloutInput {
  bool pets = false;
  // Cattle: the size; pets: the number of logical IDs.
  int64_t desired = 0;
  // Pets: every logical ID must have a current member.
  std::vector<std::string> logical_ids;
  std::vector<RolloutMember> members;
  // Creations not listed yet, and the first failure among them (InfiniteFuture: none).
  int64_t slots = 0;
  absl::Time first_slot_failure = absl::InfiniteFuture();
  absl::Time now;
  // When the update (or its rollback) started, and its health deadline.
  absl::Time started;
  absl::Duration deadline;
};

struct RolloutDecision {
  enum class Outcome {
    // Under way.
    kContinue,
    // Every member is on the update's config and ready: done.
    kComplete,
    // A member was not ready within the deadline, or creations kept failing past it.
    kFail,
  };
  Outcome outcome = Outcome::kContinue;
  // kFail: why, for the user ("instance X did not become healthy within 5m (health: ...)").
  std::string failure;
  // kFail because creations kept failing (the caller adds their latest error).
  bool creations_failed = false;
  // Members on the update's config (kComplete: the group's size).
  int64_t current = 0;
};

// Where a running update stands. Invariants: kComplete only when nothing is being created or
// destroyed, every live member is current and ready, and (pets) every logical ID has one; a
// member fails the update only when it has not been ready for `deadline` since the later of
// its creation and the update's start.
RolloutDecision DecideRollout(const RolloutInput& in);

// How long a new member of an update of `spec` has to become ready (default 300 s).
absl::Duration HealthDeadline(const gv1::GroupSpec& spec);

// The members a group wants: its size, or the number of its logical IDs.
int64_t DesiredCount(const gv1::GroupSpec& spec);

// Max surge / max unavailable of `spec`'s update policy for `desired` members, with the
// defaults (cattle: surge 1, unavailable 0, and surge 1 when both come out 0; pets: surge 0,
// unavailable 1 at least, i.e. in place, one at a time). `flavor_max_unavailable` (> 0) caps
// the unavailable members, whatever the policy says (an ensemble's quorum); pets still roll one
// at a time at least.
RollingLimits ResolveRollingLimits(const gv1::GroupSpec& spec, int64_t desired,
                                   int32_t flavor_max_unavailable = 0);

// The plan of updating a group with `members` (and `slots` not yet listed) to `proposed`,
// whose config_sha is `proposed_sha`. Steps in the order they are carried out: extras
// destroyed and missing members created at once, then the replacements of outdated members.
// Summary in the original InfraKit's words, e.g. "Noop", "Performs a rolling update of 3 instances,
// then terminates 2 instances", "Adds 2 instances".
gv1::Plan MakePlan(const std::vector<MemberView>& members, const std::vector<SlotView>& slots,
                   const gv1::GroupSpec& proposed, const std::string& proposed_sha);

// The first characters of a config_sha, for readable messages.
std::string ShortSha(const std::string& sha);

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_PLANNER_H_
