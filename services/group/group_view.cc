#include "services/group/group_view.h"

#include <utility>

namespace infrakit::services::group {

namespace gv1 = ::infrakit::group::v1;

void GroupView::FillMember(const PublishedMember& member, gv1::Member* out) const {
  FillPublishedMember(member, out);
  out->set_outdated(*member.sha != status.config_sha());
}

void FillPublishedMember(const PublishedMember& member, gv1::Member* out) {
  out->set_id(member.description->id());
  out->set_logical_id(member.logical_id);
  *out->mutable_tags() = member.description->tags();
  out->set_health(member.health);
  out->set_health_reason(member.health_reason);
  out->set_state(member.description->state());
  out->set_role(member.role);
}

gv1::InspectGroupResponse GroupView::Inspect() const {
  gv1::InspectGroupResponse r;
  *r.mutable_spec() = spec;
  *r.mutable_status() = status;
  r.mutable_members()->Reserve(static_cast<int>(members->size()));
  members->ForEach([&](const PublishedMembers::Entry& e) {
    FillMember(*e.value, r.add_members());
    return true;
  });
  return r;
}

void GroupViews::Publish(const std::string& id, std::shared_ptr<const GroupView> view) {
  std::shared_ptr<const GroupView> old;
  {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<const GroupView>& slot = views_[id];
    old = std::move(slot);
    slot = std::move(view);
  }
  // The previous view (perhaps the last reference to thousands of members) is freed here,
  // outside the lock readers take.
}

void GroupViews::Remove(const std::string& id) {
  std::shared_ptr<const GroupView> old;
  absl::MutexLock lock(&mu_);
  auto it = views_.find(id);
  if (it == views_.end()) return;
  old = std::move(it->second);
  views_.erase(it);
  // `old` is declared before the lock: freed after it is released.
}

std::shared_ptr<const GroupView> GroupViews::Find(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = views_.find(id);
  return it == views_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const GroupView>> GroupViews::All() const {
  std::vector<std::shared_ptr<const GroupView>> all;
  absl::MutexLock lock(&mu_);
  all.reserve(views_.size());
  for (const auto& [id, view] : views_) all.push_back(view);
  return all;
}

}  // namespace infrakit::services::group
