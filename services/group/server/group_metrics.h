// The group service's metrics: the Controller's counts (ControllerMetrics) recorded in the
// binary's metrics registry, and each group's sizes read from the Controller when scraped.
//
//   infrakit_groups                               groups watched
//   infrakit_group_{desired,actual,healthy,outdated,provisioning,destroying}{group}
//   infrakit_group_{updating,converged}{group}    1 or 0
//   infrakit_group_update_{updated,total}{group}  the latest update's progress
//   infrakit_group_provisions_total{group}
//   infrakit_group_destroys_total{group,reason}
//   infrakit_group_failures_total{group,operation}  instances that failed to be made / destroyed
//   infrakit_group_errors_total{group}
//   infrakit_group_heals_total{group,cause}
//   infrakit_group_watch_events_total{group,type}  instance plugins' Watch events received
#ifndef INFRAKIT_SERVICES_GROUP_SERVER_GROUP_METRICS_H_
#define INFRAKIT_SERVICES_GROUP_SERVER_GROUP_METRICS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "common/metrics.h"
#include "services/group/controller.h"
#include "services/group/controller_metrics.h"

namespace infrakit::services::group::server {

// Thread-safe.
class GroupMetrics : public ControllerMetrics {
 public:
  // Declares the metrics above in `registry` (which outlives this object; the collectors this
  // adds to it report nothing once this object is gone).
  explicit GroupMetrics(metrics::Registry* registry);
  ~GroupMetrics() override;
  GroupMetrics(const GroupMetrics&) = delete;
  GroupMetrics& operator=(const GroupMetrics&) = delete;

  // The Controller whose groups each scrape reports (ListGroups); nullptr (before it exists,
  // and before it is destroyed): none. Not called with the Controller's lock held.
  void SetController(Controller* controller);

  void Provisioned(const std::string& group, int64_t count) override;
  void Destroyed(const std::string& group, absl::string_view reason) override;
  void Failed(const std::string& group, absl::string_view operation, int64_t count) override;
  void Error(const std::string& group) override;
  void Healed(const std::string& group, absl::string_view cause) override;
  void WatchEvent(const std::string& group, absl::string_view type) override;
  void UpdateProgress(const std::string& group, int64_t updated, int64_t total) override;

 private:
  struct State;
  // Adds the render hook that snapshots the groups and the gauges read from the snapshot.
  static void AddCollectors(metrics::Registry* registry, const std::shared_ptr<State>& state);

  const std::shared_ptr<State> state_;
  metrics::CounterFamily* const provisions_;
  metrics::CounterFamily* const destroys_;
  metrics::CounterFamily* const failures_;
  metrics::CounterFamily* const errors_;
  metrics::CounterFamily* const heals_;
  metrics::CounterFamily* const watch_events_;
};

}  // namespace infrakit::services::group::server

#endif  // INFRAKIT_SERVICES_GROUP_SERVER_GROUP_METRICS_H_
