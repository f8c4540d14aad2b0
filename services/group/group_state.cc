#include "services/group/group_state.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/group/planner.h"

namespace infrakit::services::group {
namespace {

// Adds (sign +1) or removes (-1) a published member's part of the status counts.
void CountMember(const PublishedMember* p, int sign, const std::string& sha,
                 Group::MemberCounts* counts) {
  if (p == nullptr) return;
  counts->listed += sign;
  if (p->doomed) {
    counts->destroying += sign;
    return;
  }
  counts->live += sign;
  if (p->health == fv1::HEALTH_HEALTHY) counts->healthy += sign;
  if (*p->sha != sha) counts->outdated += sign;
}

void CountPublished(const PublishedMembers& members, Group::MemberCounts* counts) {
  members.snapshot()->ForEach([&](const PublishedMembers::Entry& e) {
    CountMember(e.value.get(), +1, counts->sha, counts);
    return true;
  });
}

}  // namespace

void Group::SetSlotState(Slot* s, SlotState state) {
  const bool sent = sent_slots.contains(s->sequence);
  if (s->state == SlotState::kQueued) {
    --queued_slots;
    if (sent) --queued_resends;
  }
  if (s->state == SlotState::kInFlight) --in_flight_slots;
  if (s->state == SlotState::kCreated) created_slots.erase({s->provisioned_at, s->sequence});
  s->state = state;
  if (state == SlotState::kQueued) {
    ++queued_slots;
    if (sent) ++queued_resends;
  }
  if (state == SlotState::kInFlight) ++in_flight_slots;
  if (state == SlotState::kCreated) created_slots.insert({s->provisioned_at, s->sequence});
}

void Group::EraseSlot(int64_t seq) {
  auto it = slots.find(seq);
  if (it == slots.end()) return;
  slot_by_key.erase(it->second.key);
  if (!it->second.instance_id.empty()) slot_by_instance.erase(it->second.instance_id);
  SetSlotState(&it->second, SlotState::kErased);
  sent_slots.erase(seq);
  slots.erase(it);
}

void Group::ForgetSent(int64_t seq) {
  auto it = slots.find(seq);
  if (it == slots.end() || !sent_slots.erase(seq)) return;
  if (it->second.state == SlotState::kQueued) --queued_resends;
}

void Group::RememberConfigFlavor() {
  absl::flat_hash_set<std::string> in_use = {sha};
  for (const auto& [id, m] : members) in_use.insert(m.sha);
  for (const auto& [seq, s] : slots) {
    if (!s.sha.empty()) in_use.insert(s.sha);
  }
  absl::erase_if(config_flavors, [&](const auto& e) { return !in_use.contains(e.first); });
  config_flavors[sha] = spec.flavor();
}

void Group::SetDoomed(Member* m, bool doomed) {
  if (m->doomed != doomed) {
    doomed_members += doomed ? 1 : -1;
    TouchMember(m->desc->id());
  }
  m->doomed = doomed;
}

absl::Status Group::CheckInvariants() const {
  int64_t doomed = 0;
  for (const auto& [id, m] : members) {
    if (m.doomed) ++doomed;
    // Only doomed members are ever destroying.
    if (m.destroying && !m.doomed) {
      return absl::InternalError(absl::StrCat(id, " is destroying but not doomed"));
    }
  }
  if (doomed != doomed_members) {
    return absl::InternalError(
        absl::StrCat("doomed_members ", doomed_members, " but ", doomed, " doomed"));
  }
  if (touched_members.empty() && !all_members_touched) {
    if (published_members.size() != members.size()) {
      return absl::InternalError(absl::StrCat("published ", published_members.size(),
                                              " members but ", members.size(), " are listed"));
    }
    for (const auto& [id, m] : members) {
      PublishedMembers::Value published = published_members.Find(id);
      std::shared_ptr<const PublishedMember> now = PublishedMemberOf(id, m, published_sha);
      if (published == nullptr || *published->sha != *now->sha ||
          published->doomed != now->doomed || published->logical_id != now->logical_id ||
          published->health != now->health || published->health_reason != now->health_reason ||
          published->role != now->role ||
          !google::protobuf::util::MessageDifferencer::Equals(*published->description,
                                                              *now->description)) {
        return absl::InternalError(absl::StrCat("member ", id, " changed but was not touched"));
      }
    }
    if (member_counts.sha == sha) {
      MemberCounts fresh;
      fresh.sha = sha;
      CountPublished(published_members, &fresh);
      if (fresh.listed != member_counts.listed || fresh.live != member_counts.live ||
          fresh.healthy != member_counts.healthy || fresh.outdated != member_counts.outdated ||
          fresh.destroying != member_counts.destroying) {
        return absl::InternalError("member_counts out of step with the published members");
      }
    }
  }
  int64_t queued = 0, in_flight = 0, resends = 0;
  size_t created = 0;
  for (const auto& [seq, s] : slots) {
    if (s.state == SlotState::kQueued) ++queued;
    if (s.state == SlotState::kQueued && sent_slots.contains(seq)) ++resends;
    if (s.state == SlotState::kInFlight) ++in_flight;
    if (s.state == SlotState::kCreated) {
      ++created;
      if (!created_slots.contains({s.provisioned_at, seq})) {
        return absl::InternalError(absl::StrCat("created slot ", seq, " not in created_slots"));
      }
    }
    auto key = slot_by_key.find(s.key);
    if (key == slot_by_key.end() || key->second != seq) {
      return absl::InternalError(absl::StrCat("slot ", seq, " not indexed by its key"));
    }
  }
  if (queued != queued_slots) {
    return absl::InternalError(absl::StrCat("queued_slots ", queued_slots, " but ", queued));
  }
  if (resends != queued_resends) {
    return absl::InternalError(absl::StrCat("queued_resends ", queued_resends, " but ", resends));
  }
  if (in_flight != in_flight_slots) {
    return absl::InternalError(
        absl::StrCat("in_flight_slots ", in_flight_slots, " but ", in_flight));
  }
  if (created != created_slots.size()) {
    return absl::InternalError(absl::StrCat("created_slots has ", created_slots.size(),
                                            " entries for ", created, " created slots"));
  }
  if (slot_by_key.size() != slots.size()) {
    return absl::InternalError("slot_by_key indexes slots that are gone");
  }
  return absl::OkStatus();
}

gv1::GroupStatus GroupStatusOf(Group* g) {
  gv1::GroupStatus s;
  s.set_desired(DesiredCount(g->spec));
  g->SyncPublishedMembers();
  const Group::MemberCounts& counts = g->member_counts;
  const int64_t listed = counts.listed, healthy = counts.healthy, outdated = counts.outdated,
                destroying = counts.destroying, live = counts.live;
  const int64_t under_way = static_cast<int64_t>(g->slots.size()) - g->queued_slots;
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

void Group::SyncPublishedMembers() {
  if (published_sha == nullptr || *published_sha != sha) {
    published_sha = std::make_shared<const std::string>(sha);
  }
  if (all_members_touched) {
    published_members.Clear();
    for (const auto& [id, m] : members) {
      published_members.Set(id, PublishedMemberOf(id, m, published_sha));
    }
    all_members_touched = false;
    touched_members.clear();
    member_counts = MemberCounts();
    member_counts.sha = sha;
    CountPublished(published_members, &member_counts);
    return;
  }
  const bool same_config = member_counts.sha == sha;
  for (const std::string& id : touched_members) {
    PublishedMembers::Value before = published_members.Find(id);
    auto it = members.find(id);
    PublishedMembers::Value after =
        it == members.end() ? nullptr : PublishedMemberOf(id, it->second, published_sha);
    if (same_config) {
      CountMember(before.get(), -1, sha, &member_counts);
      CountMember(after.get(), +1, sha, &member_counts);
    }
    if (after != nullptr) {
      published_members.Set(id, std::move(after));
    } else {
      published_members.Erase(id);
    }
  }
  touched_members.clear();
  if (!same_config) {
    member_counts = MemberCounts();
    member_counts.sha = sha;
    CountPublished(published_members, &member_counts);
  }
}

const std::shared_ptr<const iv1::Description>& EmptyDescription() {
  static const auto* const empty =
      new std::shared_ptr<const iv1::Description>(std::make_shared<const iv1::Description>());
  return *empty;
}

std::shared_ptr<const PublishedMember> PublishedMemberOf(
    const std::string& id, const Member& m, const std::shared_ptr<const std::string>& config_sha) {
  auto p = std::make_shared<PublishedMember>();
  p->description = m.desc;
  p->logical_id = m.lid;
  p->health = m.health == fv1::HEALTH_UNSPECIFIED ? fv1::HEALTH_UNKNOWN : m.health;
  p->health_reason = m.health == fv1::HEALTH_UNSPECIFIED ? "not checked yet" : m.health_reason;
  p->role = m.role;
  p->sha = config_sha != nullptr && *config_sha == m.sha
               ? config_sha
               : std::make_shared<const std::string>(m.sha);
  p->doomed = m.doomed;
  return p;
}

std::string TagOf(const iv1::Description& d, const char* key) {
  auto it = d.tags().find(key);
  return it == d.tags().end() ? std::string() : it->second;
}

std::string Plural(int64_t n, absl::string_view what) {
  return absl::StrCat(n, " ", what, n == 1 ? "" : "s");
}

}  // namespace infrakit::services::group
