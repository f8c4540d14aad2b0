// What readers (ListGroups, InspectGroup) see of the groups: immutable pictures that the
// controller publishes at the end of every step that touched a group (see runtime.h, StepLock),
// so that a read never takes the controller's lock, never waits for a pass or a plugin call,
// and copies no more than what it answers (a page of members).
//
// Threading: a GroupView and a PublishedMember never change once published; any number of threads
// read them. GroupViews is thread-safe; its lock is held only to find or swap a pointer.
#ifndef INFRAKIT_SERVICES_GROUP_GROUP_VIEW_H_
#define INFRAKIT_SERVICES_GROUP_GROUP_VIEW_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/synchronization/mutex.h"
#include "common/cow_sorted_map.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::services::group {

// One member as InspectGroup shows it: what InspectGroup's Member is made of when a page is
// answered (GroupView::FillMember), sharing the instance's description with the controller.
struct PublishedMember {
  // As listed by the instance plugin (ID, tags, state); never null.
  std::shared_ptr<const ::infrakit::instance::v1::Description> description;
  std::string logical_id;
  // HEALTH_UNKNOWN until a verdict came.
  ::infrakit::flavor::v1::Health health = ::infrakit::flavor::v1::HEALTH_UNKNOWN;
  std::string health_reason;
  std::string role;
  // The config_sha the member was created from (`outdated` when not the group's); never null.
  // Shared by the published members of one config (Group::SyncPublishedMembers): 10,000 copies
  // of the same 40 characters were ~0.7 MiB of a group service's heap.
  std::shared_ptr<const std::string> sha = std::make_shared<const std::string>();
  // Chosen to be destroyed: counted in the status as destroying, not as a live member.
  bool doomed = false;
};

// `member` as InspectGroup's Member, `outdated` aside.
void FillPublishedMember(const PublishedMember& member, ::infrakit::group::v1::Member* out);

// Published members by instance ID.
using PublishedMembers = common::CowSortedMap<PublishedMember>;

// One group at the end of a step.
struct GroupView {
  ::infrakit::group::v1::GroupSpec spec;
  ::infrakit::group::v1::GroupStatus status;
  // By instance ID; shares with the views of other steps every leaf no step changed.
  std::shared_ptr<const PublishedMembers::Snapshot> members;

  // `member` as InspectGroup answers it (`outdated` when it was not created from the group's
  // config).
  void FillMember(const PublishedMember& member, ::infrakit::group::v1::Member* out) const;
  // Every member, as InspectGroup answers them.
  ::infrakit::group::v1::InspectGroupResponse Inspect() const;
};

// The published views, by group ID.
class GroupViews {
 public:
  // Makes `view` the one readers get for group `id` from now on.
  void Publish(const std::string& id, std::shared_ptr<const GroupView> view);
  // Readers no longer find group `id`.
  void Remove(const std::string& id);
  // Group `id`'s view; null when there is none.
  std::shared_ptr<const GroupView> Find(const std::string& id) const;
  // Every group's view, ordered by ID.
  std::vector<std::shared_ptr<const GroupView>> All() const;

 private:
  mutable absl::Mutex mu_;
  absl::btree_map<std::string, std::shared_ptr<const GroupView>> views_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_GROUP_VIEW_H_
