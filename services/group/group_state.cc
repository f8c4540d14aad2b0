#include "services/group/group_state.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace infrakit::services::group {

void Group::SetSlotState(Slot* s, SlotState state) {
  if (s->state == SlotState::kQueued) --queued_slots;
  if (s->state == SlotState::kInFlight) --in_flight_slots;
  if (s->state == SlotState::kCreated) created_slots.erase({s->provisioned_at, s->sequence});
  s->state = state;
  if (state == SlotState::kQueued) ++queued_slots;
  if (state == SlotState::kInFlight) ++in_flight_slots;
  if (state == SlotState::kCreated) created_slots.insert({s->provisioned_at, s->sequence});
}

void Group::EraseSlot(int64_t seq) {
  auto it = slots.find(seq);
  if (it == slots.end()) return;
  slot_by_key.erase(it->second.key);
  if (!it->second.instance_id.empty()) slot_by_instance.erase(it->second.instance_id);
  sent_slots.erase(seq);
  SetSlotState(&it->second, SlotState::kErased);
  slots.erase(it);
}

void Group::RememberConfigFlavor() {
  absl::flat_hash_set<std::string> in_use = {sha};
  for (const auto& [id, m] : members) in_use.insert(m.sha);
  absl::erase_if(config_flavors, [&](const auto& e) { return !in_use.contains(e.first); });
  config_flavors[sha] = spec.flavor();
}

void Group::SetDoomed(Member* m, bool doomed) {
  if (m->doomed != doomed) doomed_members += doomed ? 1 : -1;
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
  int64_t queued = 0, in_flight = 0;
  size_t created = 0;
  for (const auto& [seq, s] : slots) {
    if (s.state == SlotState::kQueued) ++queued;
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

std::string TagOf(const iv1::Description& d, const char* key) {
  auto it = d.tags().find(key);
  return it == d.tags().end() ? std::string() : it->second;
}

std::string Plural(int64_t n, absl::string_view what) {
  return absl::StrCat(n, " ", what, n == 1 ? "" : "s");
}

}  // namespace infrakit::services::group
