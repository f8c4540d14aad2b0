#include "services/group/server/group_metrics.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace infrakit::services::group::server {

// What the scrape-time collectors share: the Controller to ask, the snapshot of its groups
// taken at the start of each scrape, and the latest update progress of each group. Collectors
// hold it by shared_ptr, so it outlives GroupMetrics if the registry does.
struct GroupMetrics::State {
  absl::Mutex mu;
  // Held (as a reader) while ListGroups runs, so that SetController(nullptr) waits for a
  // snapshot under way before the Controller goes.
  absl::Mutex controller_mu;
  Controller* controller ABSL_GUARDED_BY(controller_mu) = nullptr;
  infrakit::group::v1::ListGroupsResponse groups ABSL_GUARDED_BY(mu);
  // group -> (updated, total) of its latest update.
  std::map<std::string, std::pair<int64_t, int64_t>> progress ABSL_GUARDED_BY(mu);

  void TakeSnapshot() {
    infrakit::group::v1::ListGroupsResponse groups;
    {
      absl::ReaderMutexLock lock(&controller_mu);
      if (controller != nullptr) groups = controller->ListGroups();
    }
    absl::MutexLock lock(&mu);
    this->groups = std::move(groups);
  }
};

namespace {

using Summary = infrakit::group::v1::GroupSummary;

}  // namespace

GroupMetrics::GroupMetrics(metrics::Registry* registry)
    : state_(std::make_shared<State>()),
      provisions_(registry->AddCounter("infrakit_group_provisions_total",
                                       "Instances the group service created.", {"group"})),
      destroys_(registry->AddCounter("infrakit_group_destroys_total",
                                     "Instances the group service destroyed, by reason.",
                                     {"group", "reason"})),
      failures_(registry->AddCounter(
          "infrakit_group_failures_total",
          "Instances that failed to be created (provision) or destroyed (destroy); retried.",
          {"group", "operation"})),
      errors_(registry->AddCounter("infrakit_group_errors_total",
                                   "Errors a group reported (its ERROR events).", {"group"})),
      heals_(registry->AddCounter(
          "infrakit_group_heals_total",
          "Members replaced because they vanished or were destroyed as unhealthy.",
          {"group", "cause"})),
      watch_events_(registry->AddCounter(
          "infrakit_group_watch_events_total",
          "Events of the instance plugins' Watch streams received for a group.",
          {"group", "type"})) {
  AddCollectors(registry, state_);
}

void GroupMetrics::AddCollectors(metrics::Registry* registry, const std::shared_ptr<State>& state) {
  registry->AddRenderHook([state] { state->TakeSnapshot(); });
  registry->AddCollectedGauge("infrakit_groups", "Groups watched.", {},
                              [state](metrics::GaugeSink* sink) {
                                absl::MutexLock lock(&state->mu);
                                sink->Add({}, state->groups.groups_size());
                              });
  struct Field {
    const char* name;
    const char* help;
    double (*read)(const Summary&);
  };
  static const Field kFields[] = {
      {"desired", "Members the group should have.",
       [](const Summary& s) -> double { return s.status().desired(); }},
      {"actual", "Members the group has.",
       [](const Summary& s) -> double { return s.status().actual(); }},
      {"healthy", "Members healthy.",
       [](const Summary& s) -> double { return s.status().healthy(); }},
      {"outdated", "Members on an older config.",
       [](const Summary& s) -> double { return s.status().outdated(); }},
      {"provisioning", "Creations under way.",
       [](const Summary& s) -> double { return s.status().provisioning(); }},
      {"destroying", "Destructions under way.",
       [](const Summary& s) -> double { return s.status().destroying(); }},
      {"updating", "1 while an update runs.",
       [](const Summary& s) -> double { return s.status().updating() ? 1 : 0; }},
      {"converged", "1 when the group is as its spec says.",
       [](const Summary& s) -> double { return s.status().converged() ? 1 : 0; }},
  };
  for (const Field& field : kFields) {
    registry->AddCollectedGauge(std::string("infrakit_group_") + field.name, field.help, {"group"},
                                [state, read = field.read](metrics::GaugeSink* sink) {
                                  absl::MutexLock lock(&state->mu);
                                  for (const Summary& s : state->groups.groups())
                                    sink->Add({s.spec().id()}, read(s));
                                });
  }
  for (const bool updated : {true, false}) {
    registry->AddCollectedGauge(
        updated ? "infrakit_group_update_updated" : "infrakit_group_update_total",
        updated ? "Members on the latest update's config and ready."
                : "Members the latest update brings to its config.",
        {"group"}, [state, updated](metrics::GaugeSink* sink) {
          absl::MutexLock lock(&state->mu);
          for (const Summary& s : state->groups.groups()) {
            auto it = state->progress.find(s.spec().id());
            if (it == state->progress.end()) continue;
            sink->Add({s.spec().id()}, updated ? it->second.first : it->second.second);
          }
        });
  }
}

GroupMetrics::~GroupMetrics() { SetController(nullptr); }

void GroupMetrics::SetController(Controller* controller) {
  absl::MutexLock lock(&state_->controller_mu);
  state_->controller = controller;
}

void GroupMetrics::Provisioned(const std::string& group, int64_t count) {
  provisions_->WithLabels({group})->Increment(static_cast<double>(count));
}

void GroupMetrics::Destroyed(const std::string& group, absl::string_view reason) {
  destroys_->WithLabels({group, std::string(reason)})->Increment();
}

void GroupMetrics::Failed(const std::string& group, absl::string_view operation, int64_t count) {
  failures_->WithLabels({group, std::string(operation)})->Increment(static_cast<double>(count));
}

void GroupMetrics::Error(const std::string& group) { errors_->WithLabels({group})->Increment(); }

void GroupMetrics::Healed(const std::string& group, absl::string_view cause) {
  heals_->WithLabels({group, std::string(cause)})->Increment();
}

void GroupMetrics::WatchEvent(const std::string& group, absl::string_view type) {
  watch_events_->WithLabels({group, std::string(type)})->Increment();
}

void GroupMetrics::UpdateProgress(const std::string& group, int64_t updated, int64_t total) {
  absl::MutexLock lock(&state_->mu);
  state_->progress[group] = {updated, total};
}

}  // namespace infrakit::services::group::server
