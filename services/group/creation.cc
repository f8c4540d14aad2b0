#include "services/group/creation.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/group/batch_call.h"
#include "services/group/events.h"
#include "services/group/health.h"
#include "services/group/persistence.h"
#include "services/group/planner.h"
#include "spec/tags.h"
#include "spi/item_status.h"

namespace infrakit::services::group {
namespace {

using Item = CreationItem;

// The group's tags are set before Prepare (the flavor keeps them) and again after (they are how
// the group finds its members: nothing may change them).
void SetTags(iv1::Spec* spec, const std::string& group, const std::string& sha, const Item* item) {
  auto& tags = *spec->mutable_tags();
  tags[spec::kGroupTag] = group;
  tags[spec::kShaTag] = sha;
  if (item == nullptr) return;
  if (!item->lid.empty()) {
    tags[spec::kLogicalIdTag] = item->lid;
    spec->set_logical_id(item->lid);
  }
  spec->set_idempotency_key(item->key);
}

// Prepares every item with the flavor: pets one by one (a flavor may attach per logical ID),
// cattle together in one BatchPrepare (they differ only in their index).
void PrepareAll(spi::PluginResolver* resolver, const std::string& flavor_plugin,
                const fv1::BatchPrepareRequest& base, const std::string& group,
                const std::string& sha, std::vector<Item>* items) {
  auto flavor = resolver->Flavor(flavor_plugin);
  if (!flavor.ok()) {
    for (Item& item : *items) item.result = flavor.status();
    return;
  }
  fv1::BatchPrepareRequest cattle = base;
  std::vector<Item*> cattle_items;
  for (Item& item : *items) {
    if (item.lid.empty()) {
      fv1::Index* index = cattle.add_indexes();
      index->set_group(group);
      index->set_sequence(item.seq);
      cattle_items.push_back(&item);
      continue;
    }
    fv1::PrepareRequest pet;
    *pet.mutable_properties() = base.properties();
    *pet.mutable_allocation() = base.allocation();
    *pet.mutable_spec() = base.spec();
    SetTags(pet.mutable_spec(), group, sha, &item);
    pet.mutable_index()->set_group(group);
    pet.mutable_index()->set_sequence(item.seq);
    absl::StatusOr<fv1::PrepareResponse> prepared = (*flavor)->Prepare(pet);
    if (prepared.ok()) {
      item.spec = std::move(*prepared->mutable_spec());
      item.flavor_stage = false;
    } else {
      item.result = Prefixed(prepared.status(), "Prepare: ");
    }
  }
  if (cattle_items.empty()) return;
  auto specs =
      SplitBatch((*flavor)->BatchPrepare(cattle), cattle_items.size(), "BatchPrepare", "indexes",
                 [](fv1::BatchPrepareResponse& r, int i) -> absl::StatusOr<iv1::Spec> {
                   fv1::PrepareResult* result = r.mutable_results(i);
                   if (result->has_error()) return spi::FromItemStatus(result->error());
                   return std::move(*result->mutable_response()->mutable_spec());
                 });
  for (size_t i = 0; i < cattle_items.size(); ++i) {
    Item& item = *cattle_items[i];
    if (!specs[i].ok()) {
      item.result = Prefixed(specs[i].status(), "Prepare: ");
      continue;
    }
    item.spec = std::move(*specs[i]);
    item.flavor_stage = false;
  }
}

// Provisions the prepared items in one BatchProvision, with the group's tags and each item's
// idempotency key; settles each item's result.
void ProvisionAll(spi::PluginResolver* resolver, const std::string& instance_plugin,
                  const std::string& group, const std::string& sha, std::vector<Item>* items) {
  iv1::BatchProvisionRequest provision;
  std::vector<Item*> provisioned;
  for (Item& item : *items) {
    if (item.flavor_stage) continue;
    iv1::Spec* spec = provision.add_requests()->mutable_spec();
    *spec = std::move(item.spec);
    SetTags(spec, group, sha, &item);
    provisioned.push_back(&item);
  }
  if (provisioned.empty()) return;
  auto created = SplitBatch(
      CallResolved(resolver->Instance(instance_plugin),
                   [&](auto instance) { return instance->BatchProvision(provision); }),
      provisioned.size(), "BatchProvision", "requests",
      [](iv1::BatchProvisionResponse& r, int i) -> absl::StatusOr<iv1::ProvisionResponse> {
        iv1::ProvisionResult* result = r.mutable_results(i);
        if (result->has_error()) return spi::FromItemStatus(result->error());
        return std::move(*result->mutable_response());
      });
  for (size_t i = 0; i < provisioned.size(); ++i) provisioned[i]->result = std::move(created[i]);
}

}  // namespace

int64_t Creation::CattleCapLocked(const Group& g) const {
  const int64_t desired = DesiredCount(g.spec);
  if (!g.update.active() || g.update.stopped()) return desired;
  return desired + ResolveRollingLimits(g.spec, desired, g.flavor_max_unavailable).surge;
}

Slot& Creation::NewSlotLocked(Group* g, const std::string& lid) {
  Slot s;
  s.sequence = rt_->parts.persistence->NextSequenceLocked(g);
  // The incarnation (uid) is part of the key: after unwatch + watch, sequence numbers start
  // again, and a key of the old incarnation would make the plugin answer with that
  // incarnation's instance instead of creating one.
  s.key = absl::StrCat(g->id, "-", rt_->nonce, "-", g->uid, "-", s.sequence);
  s.lid = lid;
  const int64_t seq = s.sequence;
  g->slot_by_key[s.key] = seq;
  ++g->queued_slots;
  return g->slots.emplace(seq, std::move(s)).first->second;
}

void Creation::RestoreLocked(Group* g, const PendingCreation& p) {
  if (g->slots.count(p.sequence()) || g->slot_by_key.count(p.idempotency_key())) return;
  Slot s;
  s.sequence = p.sequence();
  s.key = p.idempotency_key();
  s.lid = p.logical_id();
  s.update_generation = p.update_generation();
  s.remediation = p.remediation();
  s.sha = p.config_sha();
  g->slot_by_key[s.key] = s.sequence;
  s.attempt_failed = rt_->Now();
  g->sent_slots.insert(s.sequence);
  ++g->queued_slots;
  ++g->queued_resends;
  g->slots.emplace(s.sequence, std::move(s));
}

void Creation::CreateLocked(Group* g, const std::string& lid) {
  Slot& s = NewSlotLocked(g, lid);
  if (Rolling(g->update)) s.update_generation = g->update.generation();
  if (g->remediation_debt > 0) {
    --g->remediation_debt;
    s.remediation = true;
  }
}

bool Creation::OverdueLocked(const Group* g, absl::Time now) const {
  return (!g->created_slots.empty() &&
          now - g->created_slots.begin()->first >= rt_->options.listing_grace) ||
         ResendsSettleAtLocked(g) <= now;
}

absl::Time Creation::ResendsSettleAtLocked(const Group* g) const {
  absl::Time first = absl::InfiniteFuture();
  if (g->queued_resends == 0) return first;
  for (int64_t seq : g->sent_slots) {
    auto it = g->slots.find(seq);
    if (it != g->slots.end() && it->second.state == SlotState::kQueued) {
      first = std::min(first, it->second.attempt_failed + rt_->options.listing_grace);
    }
  }
  return first;
}

void Creation::DropLostSlotsLocked(Group* g, absl::Time as_of,
                                   const absl::btree_map<std::string, iv1::Description>& listing) {
  std::vector<int64_t> lost;
  // Oldest first: only the ones past the grace are looked at.
  for (const auto& [provisioned_at, seq] : g->created_slots) {
    if (as_of - provisioned_at < rt_->options.listing_grace) break;
    if (!listing.count(g->slots[seq].instance_id)) lost.push_back(seq);
  }
  for (int64_t seq : lost) {
    const std::string iid = g->slots[seq].instance_id;
    rt_->parts.events->ErrorLocked(
        g, iid,
        absl::StrCat("instance ", iid, " was created but plugin ", g->spec.instance().plugin(),
                     " has not listed it within ", absl::FormatDuration(rt_->options.listing_grace),
                     "; no longer counting it"));
    g->EraseSlot(seq);
  }
  // A failed Provision's retry that the listing would show by now: whatever instance it made
  // (if any) is a member in this listing, so it no longer counts as one more, and may be
  // cancelled. A few at most: only the retries still queued are looked at.
  if (g->queued_resends > 0) {
    std::vector<int64_t> settled;
    for (int64_t seq : g->sent_slots) {
      const Slot& s = g->slots[seq];
      if (s.state == SlotState::kQueued && as_of - s.attempt_failed >= rt_->options.listing_grace) {
        settled.push_back(seq);
      }
    }
    for (int64_t seq : settled) g->ForgetSent(seq);
    if (!settled.empty()) rt_->parts.persistence->MarkDirtyLocked(g);
  }
}

void Creation::PumpLocked(Group* g) {
  if (g->destroying || !g->known) return;
  if (g->provision_retry.Waiting(rt_->Now())) return;
  const ControllerOptions& o = rt_->options;
  if (g->in_flight_provisions >= o.max_parallel_provisions) return;
  if (g->queued_slots == 0) return;
  // After a failure, probe with one creation until one succeeds: no burst into a broken
  // plugin.
  const bool probing = g->provision_retry.failures() > 0;
  // Bounded in bytes too: a prepared spec is the group's instance section plus what the flavor
  // adds (init lines, often the bigger part): with a large one (megabytes of user data) a
  // batch must stay far below the 64 MiB message limit of our channels.
  constexpr size_t kMaxBatchBytes = 16 << 20;
  const size_t spec_bytes = std::max<size_t>(1, 4 * g->spec.ByteSizeLong());
  const int max_by_bytes = static_cast<int>(std::max<size_t>(1, kMaxBatchBytes / spec_bytes));
  const size_t per_call =
      probing ? 1
              : BatchSize(static_cast<size_t>(g->queued_slots), o.max_parallel_provisions,
                          std::min(o.max_batch_size, max_by_bytes));
  // Cattle: a queued creation starts only while the instances that exist (members, including
  // those being destroyed, and creations sent) stay within the size (+ surge while an update
  // runs). The pass that queued it checked the same, but the group may have changed since (an
  // update ended, a destroy is retrying): it waits for the next pass, which may cancel it.
  int64_t room = std::numeric_limits<int64_t>::max();
  if (!IsPets(g->spec)) {
    room = CattleCapLocked(*g) - static_cast<int64_t>(g->members.size()) - g->in_flight_slots -
           static_cast<int64_t>(g->created_slots.size());
  }
  // Oldest first; the walk stops once the free calls are full (a group of thousands converging
  // calls this as each batch returns).
  auto it = g->slots.begin();
  bool newly_sent = false;
  while (g->queued_slots > 0 && g->in_flight_provisions < o.max_parallel_provisions && room > 0) {
    std::vector<int64_t> batch;
    for (; it != g->slots.end() && batch.size() < per_call && room > 0; ++it) {
      if (it->second.state != SlotState::kQueued) continue;
      // A retry of a sent Provision may have made its instance already: a first send needs
      // room beyond the retries still queued.
      if (!g->sent_slots.contains(it->first) && room - g->queued_resends <= 0) continue;
      g->SetSlotState(&it->second, SlotState::kInFlight);
      newly_sent |= g->sent_slots.insert(it->first).second;
      batch.push_back(it->first);
      --room;
    }
    if (batch.empty()) break;
    ++g->in_flight_provisions;
    rt_->Post([this, id = g->id, uid = g->uid, batch = std::move(batch),
               attempt = g->provision_retry.failures()] { Task(id, uid, batch, attempt); });
    if (probing) break;
  }
  // Task writes them before its Provision; this marks the record stale for it.
  if (newly_sent) rt_->parts.persistence->MarkDirtyLocked(g);
}

void Creation::Task(const std::string& id, int64_t uid, const std::vector<int64_t>& seqs,
                    int attempt) {
  std::vector<Item> items;
  std::string instance_plugin, flavor_plugin, sha;
  // What every member's Prepare starts from: the group's instance section and tags.
  fv1::BatchPrepareRequest base;
  std::shared_ptr<Writer> writer;
  {
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr) return;
    writer = g->writer;
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
      it->second.sha = sha;
      items.push_back(Item{seq, it->second.lid, it->second.key});
    }
    if (items.empty()) {
      --g->in_flight_provisions;
      PumpLocked(g);
      return;
    }
  }
  // The keys are durable before any plugin sees them: a service that dies during the calls
  // provisions them again with the same keys after its restart (see PendingCreation).
  if (absl::Status saved = rt_->parts.persistence->Flush(id, uid, writer); !saved.ok()) {
    for (Item& item : items) {
      item.flavor_stage = false;
      item.result = Prefixed(saved, "saving the creations before Provision: ");
    }
    Settle(id, uid, items, attempt);
    return;
  }
  SetTags(base.mutable_spec(), id, sha, nullptr);
  PrepareAll(rt_->resolver, flavor_plugin, base, id, sha, &items);
  ProvisionAll(rt_->resolver, instance_plugin, id, sha, &items);
  Settle(id, uid, items, attempt);
}

void Creation::Settle(const std::string& id, int64_t uid, const std::vector<CreationItem>& items,
                      int attempt) {
  StepLock lock(rt_);
  Group* g = rt_->FindUidLocked(id, uid);
  if (g == nullptr) return;
  --g->in_flight_provisions;
  // The call's first failure, for its error message and the plugin the group waits for. An
  // instance gone before its creation returned (OnDoneLocked replaces it) is a failed attempt
  // too, not a success.
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
  if (succeeded) {
    const bool had_errors =
        g->provision_retry.failures() > 0 || !g->instance_error.empty() || !g->flavor_error.empty();
    if (g->provision_retry.Succeed(attempt)) {
      if (had_errors) g->last_error.clear();
      g->instance_error.clear();
      g->flavor_error.clear();
    }
  }
  for (const Item& item : items) {
    if (item.result.ok()) OnDoneLocked(g, item.seq, item.result);
  }
  for (const Item& item : items) {
    if (!item.result.ok()) OnDoneLocked(g, item.seq, item.result);
  }
  if (failures > 0) {
    rt_->metrics->Failed(g->id, "provision", failures);
    // The group waits for the plugin that failed (status.waiting_for_plugin names it).
    (failed_in_flavor ? g->flavor_error : g->instance_error) = failure;
    // The calls of one wave are one attempt, as are the instances of one call: the backoff
    // grows per attempt, not per call or instance. The slots are queued again for the next try.
    if (g->provision_retry.Fail(attempt, rt_->Now(), rt_->backoff())) {
      const std::string& plugin =
          failed_in_flavor ? g->spec.flavor().plugin() : g->spec.instance().plugin();
      rt_->parts.events->ErrorLocked(
          g, "",
          absl::StrCat(
              "creating ", failures == 1 ? "an instance" : Plural(failures, "instance"),
              " failed (", plugin, ", attempt ", g->provision_retry.failures(), "; next try in ",
              absl::FormatDuration(g->provision_retry.retry_at() - rt_->Now()), "): ", failure));
      rt_->parts.passes->WakeAtLocked(g, g->provision_retry.retry_at());
    }
  }
  // The next queued creations start now rather than at the next pass: they were decided by a
  // pass already (a pass that changes its mind cancels queued slots first).
  PumpLocked(g);
  rt_->parts.health->AnnounceUnclaimedLocked(g);
  rt_->parts.health->PumpLocked(g);
  rt_->parts.passes->ScheduleReconcileLocked(g);
}

void Creation::OnDoneLocked(Group* g, int64_t seq,
                            const absl::StatusOr<iv1::ProvisionResponse>& result) {
  auto it = g->slots.find(seq);
  const absl::Time now = rt_->Now();
  if (!result.ok()) {
    // Queued again; Task counts the attempt and sets the backoff once per call.
    if (it != g->slots.end()) {
      g->SetSlotState(&it->second, SlotState::kQueued);
      it->second.first_failure = std::min(it->second.first_failure, now);
      it->second.attempt_failed = now;
    }
    return;
  }
  if (auto gone = g->vanished_early.find(result->id()); gone != g->vanished_early.end()) {
    // Its instance was listed and removed before the call returned (it died at once): the
    // creation is settled as gone now rather than counted for the listing grace. The
    // replacement is a new creation (the old idempotency key names the dead instance) that
    // waits like after a failure (Task counts the attempt once per call), so a config whose
    // instances keep dying backs off.
    g->vanished_early.erase(gone);
    if (it != g->slots.end()) {
      Slot old = it->second;
      g->EraseSlot(seq);
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
  Events* events = rt_->parts.events;
  if (it != g->slots.end()) {
    auto member = g->members.find(iid);
    if (member != g->members.end()) {
      // Listed before Provision returned: checked from now on, after its CREATED event below.
      member->second.created = now;
      member->second.update_generation = it->second.update_generation;
      g->EraseSlot(seq);
      rt_->parts.health->AnnounceLocked(g, &member->second);
    } else if (!g->recently_destroyed.count(iid)) {
      it->second.instance_id = iid;
      it->second.provisioned_at = now;  // before: created_slots is ordered by it
      g->SetSlotState(&it->second, SlotState::kCreated);
      g->slot_by_instance[iid] = seq;
    } else {
      g->EraseSlot(seq);
    }
  }
  events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_CREATED, iid,
                     absl::StrCat("created ", iid, " on config ", ShortSha(g->sha)));
  rt_->metrics->Provisioned(g->id, 1);
  if (Rolling(g->update)) {
    events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_UPDATE_STEP, iid,
                       absl::StrCat("update: created ", iid));
    events->ProgressLocked(g, gv1::UPDATE_PHASE_PROGRESS, absl::StrCat("created ", iid));
  }
}

}  // namespace infrakit::services::group
