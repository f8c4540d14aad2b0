#include "services/group/events.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "services/group/planner.h"

namespace infrakit::services::group {

gv1::GroupStatus Events::StatusLocked(Group* g) { return GroupStatusOf(g); }

void Events::EmitLocked(Group* g, gv1::GroupEventType type, const std::string& instance,
                        const std::string& message) {
  VLOG(1) << "group " << g->id << " " << gv1::GroupEventType_Name(type) << ": " << message;
  if (g->event_streams.empty()) return;
  gv1::GroupEvent e;
  *e.mutable_time() = ToProto(rt_->Now());
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

void Events::ErrorLocked(Group* g, const std::string& instance, const std::string& message) {
  LOG(WARNING) << "group " << g->id << ": " << message;
  g->last_error = message;
  rt_->metrics->Error(g->id);
  EmitLocked(g, gv1::GROUP_EVENT_TYPE_ERROR, instance, message);
}

int64_t Events::UpdatedCountLocked(Group* g) {
  const absl::Time now = rt_->Now();
  int64_t n = 0;
  for (const auto& [id, m] : g->members) {
    if (!m.doomed && m.sha == g->sha && MemberReady(*g, m, now)) ++n;
  }
  g->updated_high = std::max(g->updated_high, std::min(n, DesiredCount(g->spec)));
  return g->updated_high;
}

void Events::ProgressLocked(Group* g, gv1::UpdatePhase phase, const std::string& message) {
  if (g->update_stream == nullptr) return;
  if (phase == gv1::UPDATE_PHASE_PROGRESS) {
    // A step message carries the update's counts and the group's status, each a walk over the
    // members: computed per step, a rolling update of n members would cost O(n^2). Steps wait
    // for the task below (or the next phase change) and go together with counts computed once.
    g->pending_progress.push_back(message);
    if (!g->progress_posted) {
      g->progress_posted = true;
      rt_->PostGroupLocked(g, [this](Group* g) {
        g->progress_posted = false;
        FlushProgressLocked(g);
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
  rt_->metrics->UpdateProgress(g->id, r.updated(), r.total());
  *r.mutable_status() = StatusLocked(g);
  g->update_stream->Push(std::move(r));
}

void Events::FlushProgressLocked(Group* g) {
  if (g->pending_progress.empty()) return;
  std::vector<std::string> messages;
  messages.swap(g->pending_progress);
  if (g->update_stream == nullptr) return;
  const int64_t updated = UpdatedCountLocked(g);
  const int64_t total = DesiredCount(g->spec);
  rt_->metrics->UpdateProgress(g->id, updated, total);
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

void Events::EndUpdateStreamLocked(Group* g, gv1::UpdatePhase phase, const std::string& message) {
  if (g->update_stream == nullptr) return;
  ProgressLocked(g, phase, message);
  g->update_stream->End(absl::OkStatus());
  g->update_stream.reset();
}

void Events::EndAllLocked(Group* g, const absl::Status& end, const std::string& why) {
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
  const absl::Status gone =
      end.ok() ? absl::AbortedError(absl::StrCat("group \"", g->id, "\": ", why)) : end;
  for (auto& [rid, r] : g->requests) {
    rt_->executor->Post([done = std::move(r.done), gone] { done(gone); });
  }
  g->requests.clear();
  for (auto& done : g->destroy_waiters) {
    rt_->executor->Post([done = std::move(done), gone] { done(gone); });
  }
  g->destroy_waiters.clear();
}

}  // namespace infrakit::services::group
