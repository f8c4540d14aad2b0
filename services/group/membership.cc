#include "services/group/membership.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"
#include "services/group/batch_call.h"
#include "services/group/creation.h"
#include "services/group/destruction.h"
#include "services/group/events.h"
#include "services/group/health.h"
#include "spec/tags.h"

namespace infrakit::services::group {

// Forwards one watch's events to the membership, tagged with the listing generation they
// belong to (events of a replaced watch are dropped).
class Membership::Sink : public spi::instance::WatchSink {
 public:
  Sink(Membership* membership, std::weak_ptr<void> owner, std::string id, int64_t uid, int64_t gen)
      : membership_(membership),
        owner_(std::move(owner)),
        id_(std::move(id)),
        uid_(uid),
        gen_(gen) {}

  void OnEvent(const iv1::WatchResponse& event) override {
    if (auto alive = owner_.lock()) membership_->OnWatchEvent(id_, uid_, gen_, event);
  }
  void OnDone(const absl::Status& status) override {
    if (auto alive = owner_.lock()) membership_->OnWatchDone(id_, uid_, gen_, status);
  }

 private:
  Membership* const membership_;
  const std::weak_ptr<void> owner_;
  const std::string id_;
  const int64_t uid_;
  const int64_t gen_;
};

void Membership::StartListingLocked(Group* g) {
  if (g->listing_in_flight) return;
  g->listing_in_flight = true;
  ++g->listing_gen;
  g->listing_started = rt_->Now();
  g->watch_synced = false;
  g->initial.clear();
  rt_->Post([this, id = g->id, uid = g->uid, gen = g->listing_gen, polling = g->polling] {
    if (polling) {
      PollTask(id, uid, gen);
    } else {
      WatchTask(id, uid, gen);
    }
  });
}

void Membership::ResyncLocked(Group* g) {
  if (!g->listing_in_flight && g->listing_timer == 0 && (g->polling || g->handle == nullptr)) {
    StartListingLocked(g);
  }
  const absl::Time now = rt_->Now();
  const absl::Duration grace = rt_->options.listing_grace;
  absl::erase_if(g->recently_destroyed, [&](const auto& e) { return now - e.second >= grace; });
  absl::erase_if(g->vanished_early, [&](const auto& e) { return now - e.second >= grace; });
}

void Membership::WatchTask(const std::string& id, int64_t uid, int64_t gen) {
  std::string plugin;
  std::shared_ptr<Sink> sink;
  {
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr || g->listing_gen != gen) return;
    plugin = g->spec.instance().plugin();
    sink = std::make_shared<Sink>(this, rt_->owner(), id, uid, gen);
  }
  auto instance = rt_->resolver->Instance(plugin);
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> handle = CallResolved(
      instance, [&](auto plugin) -> absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> {
        iv1::WatchRequest request;
        (*request.mutable_tags())[spec::kGroupTag] = id;
        return plugin->Watch(request, sink.get());
      });
  Trash trash;
  {
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr || g->listing_gen != gen) {
      if (handle.ok()) trash.handles.push_back(std::move(*handle));
    } else if (handle.ok()) {
      if (g->handle != nullptr) trash.handles.push_back(std::move(g->handle));
      if (g->sink != nullptr) trash.sinks.push_back(std::move(g->sink));
      g->handle = std::move(*handle);
      g->sink = sink;
      g->listing_in_flight = false;
    } else if (instance.ok() && handle.status().code() == absl::StatusCode::kUnimplemented) {
      LOG(INFO) << "group " << id << ": instance plugin " << plugin
                << " cannot watch; polling every "
                << absl::FormatDuration(rt_->options.resync_period);
      g->polling = true;
      g->listing_in_flight = false;
      StartListingLocked(g);
    } else {
      ListingFailedLocked(g, handle.status());
    }
  }
  trash.Clear();
  // The sink outlives its handle.
  sink.reset();
}

void Membership::PollTask(const std::string& id, int64_t uid, int64_t gen) {
  std::string plugin;
  absl::Time started;
  {
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr || g->listing_gen != gen) return;
    plugin = g->spec.instance().plugin();
    started = g->listing_started;
  }
  absl::StatusOr<iv1::DescribeResponse> response =
      CallResolved(rt_->resolver->Instance(plugin), [&](auto instance) {
        iv1::DescribeRequest request;
        (*request.mutable_tags())[spec::kGroupTag] = id;
        return instance->Describe(request);
      });
  StepLock lock(rt_);
  Group* g = rt_->FindUidLocked(id, uid);
  if (g == nullptr || g->listing_gen != gen) return;
  if (!response.ok()) {
    ListingFailedLocked(g, response.status());
    return;
  }
  g->listing_in_flight = false;
  absl::btree_map<std::string, iv1::Description> listing;
  for (iv1::Description& d : *response->mutable_instances()) {
    // The plugin filters by tag; a plugin that does not is not trusted with other groups'.
    if (TagOf(d, spec::kGroupTag) != id) continue;
    std::string iid = d.id();
    listing.emplace(std::move(iid), std::move(d));
  }
  ApplyListingLocked(g, std::move(listing), started);
}

void Membership::ListingFailedLocked(Group* g, const absl::Status& status) {
  g->listing_in_flight = false;
  g->known = false;
  g->listing_retry.Fail(g->listing_retry.failures(), rt_->Now(), rt_->backoff());
  rt_->parts.events->ErrorLocked(
      g, "",
      absl::StrCat("listing the members from instance plugin ", g->spec.instance().plugin(),
                   " failed: ", status.ToString(), "; waiting for it"));
  // Never longer than a resync period: the resync would list again anyway.
  const absl::Duration delay =
      std::min(g->listing_retry.retry_at() - rt_->Now(), rt_->options.resync_period);
  rt_->CancelTimer(&g->listing_timer);
  g->listing_timer = rt_->AtGroupLocked(g, rt_->Now() + delay, [this](Group* g) {
    g->listing_timer = 0;
    StartListingLocked(g);
  });
}

void Membership::OnWatchEvent(const std::string& id, int64_t uid, int64_t gen,
                              const iv1::WatchResponse& event) {
  StepLock lock(rt_);
  Group* g = rt_->FindUidLocked(id, uid);
  if (g == nullptr || g->listing_gen != gen) return;
  const iv1::Description& d = event.instance();
  if (event.type() != iv1::EVENT_TYPE_SYNCED && event.type() != iv1::EVENT_TYPE_REMOVED &&
      TagOf(d, spec::kGroupTag) != id) {
    return;
  }
  // "EVENT_TYPE_ADDED" -> "added".
  rt_->metrics->WatchEvent(id, absl::AsciiStrToLower(absl::StripPrefix(
                                   iv1::EventType_Name(event.type()), "EVENT_TYPE_")));
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
  rt_->parts.health->PumpLocked(g);
  rt_->parts.passes->ScheduleReconcileLocked(g);
}

void Membership::OnWatchDone(const std::string& id, int64_t uid, int64_t gen,
                             const absl::Status& status) {
  StepLock lock(rt_);
  Group* g = rt_->FindUidLocked(id, uid);
  if (g == nullptr || g->listing_gen != gen) return;
  // Destroying the handle here, on the plugin's thread inside its own callback, could wait for
  // this very call: hand it to a task.
  auto trash = std::make_shared<Trash>();
  if (g->handle != nullptr) trash->handles.push_back(std::move(g->handle));
  if (g->sink != nullptr) trash->sinks.push_back(std::move(g->sink));
  rt_->executor->Post([trash] { trash->Clear(); });
  ++g->listing_gen;  // the ended watch's stragglers are ignored
  ListingFailedLocked(g, status.ok() ? absl::UnavailableError("the watch ended") : status);
}

void Membership::FillMemberLocked(Group* g, Member* m, const iv1::Description& d, bool is_new) {
  m->desc = std::make_shared<const iv1::Description>(d);
  m->unconfirmed = false;
  m->sha = TagOf(d, spec::kShaTag);
  m->lid = d.logical_id().empty() ? TagOf(d, spec::kLogicalIdTag) : d.logical_id();
  g->TouchMember(d.id());
  if (!is_new) return;
  m->created = rt_->Now();
  g->starting_members.insert(d.id());
  auto slot = g->slot_by_instance.find(d.id());
  if (slot != g->slot_by_instance.end()) {
    m->created = g->slots[slot->second].provisioned_at;
    m->update_generation = g->slots[slot->second].update_generation;
    g->EraseSlot(slot->second);
  } else if (g->in_flight_slots > 0) {
    // Possibly the instance of a creation whose call has not returned: its CREATED event comes
    // when it does, and no verdict about it may come first. Checked once a creation claims it
    // or no creation is under way any more (then it was not ours: adopted).
    m->announced = false;
    g->unannounced.insert(d.id());
    return;
  }
  rt_->parts.health->QueueLocked(g, m);
}

void Membership::VanishedLocked(Group* g, const std::string& id, const Member& m) {
  // A member the group still wants: its replacement is a heal.
  if (!g->destroying && !m.doomed) rt_->metrics->Healed(g->id, "vanished");
  rt_->parts.events->EmitLocked(g, gv1::GROUP_EVENT_TYPE_DESTROYED, id,
                                absl::StrCat("instance ", id, " disappeared"));
  NoteVanishedLocked(g, id);
  g->unannounced.erase(id);
  g->starting_members.erase(id);
  if (m.request != 0) {
    rt_->parts.destruction->FinishRequestMemberLocked(g, m.request, id, absl::OkStatus());
  }
}

void Membership::ApplyListingLocked(Group* g,
                                    absl::btree_map<std::string, iv1::Description> listing,
                                    absl::Time started) {
  g->listing_retry.Reset();
  // Instances the plugin said it created count as known too: writing them off on one empty
  // listing would create them again. So do members being destroyed: until their Destroy
  // returns they exist, and a group whose size went to 0 and back must not create beside them.
  const int64_t known_before = static_cast<int64_t>(g->members.size() + g->created_slots.size());
  if (listing.empty() && (known_before > 0 || g->resumed) && !g->empty_suspect) {
    // A plugin that lost its state (or a glitch) must not make the group recreate everything:
    // believe an empty listing only when a second one, a little later, says the same.
    g->empty_suspect = true;
    rt_->parts.events->ErrorLocked(
        g, "",
        absl::StrCat("instance plugin ", g->spec.instance().plugin(), " lists no member ",
                     known_before > 0 ? absl::StrCat("while ", known_before, " were known")
                                      : std::string("of a group resumed after a restart"),
                     "; confirming with another listing"));
    rt_->CancelTimer(&g->listing_timer);
    g->listing_timer = rt_->AtGroupLocked(g, rt_->Now() + rt_->options.empty_listing_confirm_delay,
                                          [this](Group* g) {
                                            g->listing_timer = 0;
                                            g->listing_in_flight = false;
                                            StartListingLocked(g);
                                          });
    return;
  }
  if (g->empty_suspect) {
    g->empty_suspect = false;
    g->last_error.clear();
  }
  g->resumed = false;

  g->relist_at = absl::InfiniteFuture();
  absl::btree_map<std::string, Member> members;
  for (auto& [id, d] : listing) {
    // Destroyed by us: a listing that began before the destroy returned is stale about it.
    if (g->recently_destroyed.count(id)) continue;
    auto old = g->members.extract(id);
    if (!old.empty()) {
      FillMemberLocked(g, &old.mapped(), d, false);
      old.mapped().listed = true;
      old.mapped().unconfirmed = false;
      members.insert(std::move(old));
    } else {
      Member m;
      FillMemberLocked(g, &m, d, true);
      m.listed = true;
      members.emplace(id, std::move(m));
    }
  }
  for (auto& [id, m] : g->members) {
    if (m.destroying) {
      // Its Destroy is under way: it exists until that returns.
      members.emplace(id, std::move(m));
      continue;
    }
    if (!m.listed && started - m.created < rt_->options.listing_grace) {
      // Known from an event or a Provision only, too recently for this listing to be sure to
      // show it: a plugin's listing may lag behind its creations and events. A listing begun
      // listing_grace after it decides (a REMOVED event sooner).
      g->relist_at = std::min(g->relist_at, m.created + rt_->options.listing_grace);
      m.unconfirmed = true;
      members.emplace(id, std::move(m));
      continue;
    }
    VanishedLocked(g, id, m);
  }
  g->members.swap(members);
  g->TouchAllMembers();
  g->doomed_members = 0;
  for (const auto& [id, m] : g->members) {
    if (m.doomed) ++g->doomed_members;
  }
  // A creation that a listing begun `listing_grace` after it still does not show was lost.
  rt_->parts.creation->DropLostSlotsLocked(g, started, listing);
  // Health-queued IDs of vanished members are skipped when popped.
  absl::erase_if(g->recently_destroyed,
                 [&](const auto& e) { return e.second < started && !listing.count(e.first); });
  g->known = true;
  rt_->parts.health->PumpLocked(g);
  rt_->parts.passes->ScheduleReconcileLocked(g);
}

void Membership::UpsertLocked(Group* g, const iv1::Description& d) {
  if (g->recently_destroyed.count(d.id())) return;
  auto [it, inserted] = g->members.try_emplace(d.id());
  FillMemberLocked(g, &it->second, d, inserted);
}

void Membership::RemoveLocked(Group* g, const std::string& id) {
  g->recently_destroyed.erase(id);
  auto it = g->members.find(id);
  if (it == g->members.end()) return;
  // Our own Destroy under way: its completion reports it and forgets the member.
  if (it->second.destroying) return;
  VanishedLocked(g, id, it->second);
  g->SetDoomed(&it->second, false);
  g->members.erase(it);
  g->TouchMember(id);
}

void Membership::NoteVanishedLocked(Group* g, const std::string& id) {
  if (g->in_flight_provisions > 0) g->vanished_early[id] = rt_->Now();
}

}  // namespace infrakit::services::group
