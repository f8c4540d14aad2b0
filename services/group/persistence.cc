#include "services/group/persistence.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/group/events.h"

namespace infrakit::services::group {
namespace {

// Sequence numbers are reserved (persisted) in blocks, so that not every creation writes state.
constexpr int64_t kSequenceBlock = 1024;

}  // namespace

GroupRecord Persistence::RecordLocked(Group* g) {
  GroupRecord r;
  *r.mutable_spec() = g->spec;
  if (g->update.active()) *r.mutable_update() = g->update;
  r.set_sequence_reserved(g->sequence_reserved);
  r.set_destroying(g->destroying);
  r.set_update_generation(g->update_generation);
  r.set_flavor_max_unavailable(g->flavor_max_unavailable);
  for (const auto& [sha, flavor] : g->config_flavors) (*r.mutable_config_flavors())[sha] = flavor;
  for (int64_t seq : g->sent_slots) {
    auto it = g->slots.find(seq);
    if (it == g->slots.end()) continue;
    const Slot& s = it->second;
    PendingCreation* p = r.add_pending_creations();
    p->set_idempotency_key(s.key);
    p->set_sequence(s.sequence);
    p->set_logical_id(s.lid);
    p->set_update_generation(s.update_generation);
    p->set_remediation(s.remediation);
    p->set_config_sha(s.sha);
  }
  return r;
}

void Persistence::MarkDirtyLocked(Group* g) {
  ++g->dirty;
  if (g->write_posted || g->write_timer != 0) return;
  g->write_posted = true;
  rt_->Post([this, id = g->id, uid = g->uid] { WriteTask(id, uid); });
}

void Persistence::WriteIfDirtyLocked(Group* g) {
  if (g->dirty > g->writer->written && !g->write_posted && g->write_timer == 0) {
    g->write_posted = true;
    rt_->Post([this, id = g->id, uid = g->uid] { WriteTask(id, uid); });
  }
}

int64_t Persistence::NextSequenceLocked(Group* g) {
  int64_t seq = g->next_sequence++;
  if (g->next_sequence > g->sequence_reserved) {
    g->sequence_reserved = g->next_sequence + kSequenceBlock;
    MarkDirtyLocked(g);
  }
  return seq;
}

absl::Status Persistence::Flush(const std::string& id, int64_t uid,
                                std::shared_ptr<Writer> writer) {
  absl::MutexLock write_lock(&writer->mu);
  GroupRecord record;
  int64_t gen;
  {
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr) return absl::OkStatus();
    gen = g->dirty;
    if (gen <= writer->written) return absl::OkStatus();
    record = RecordLocked(g);
  }
  absl::Status st = rt_->store->Put(record);
  StepLock lock(rt_);
  Group* g = rt_->FindUidLocked(id, uid);
  if (st.ok()) {
    writer->written = std::max(writer->written, gen);
    if (g != nullptr && g->write_retry.failures() > 0) {
      g->write_retry.Reset();
      g->last_error.clear();
    }
    return st;
  }
  if (g != nullptr) {
    g->write_retry.Fail(g->write_retry.failures(), rt_->Now(), rt_->backoff());
    rt_->parts.events->ErrorLocked(
        g, "", absl::StrCat("saving the group's state failed (retrying): ", st.ToString()));
    if (g->write_timer == 0) {
      g->write_timer = rt_->At(g->write_retry.retry_at(), [this, id, uid] {
        {
          StepLock lock(rt_);
          Group* g = rt_->FindUidLocked(id, uid);
          if (g == nullptr) return;
          g->write_timer = 0;
        }
        WriteTask(id, uid);
      });
    }
  }
  return st;
}

void Persistence::WriteTask(const std::string& id, int64_t uid) {
  std::shared_ptr<Writer> writer;
  {
    StepLock lock(rt_);
    Group* g = rt_->FindUidLocked(id, uid);
    if (g == nullptr) return;
    g->write_posted = false;
    writer = g->writer;
  }
  Flush(id, uid, writer).IgnoreError();
}

}  // namespace infrakit::services::group
