// What the group controller counts, handed to an injected observer so that the core stays free
// of any metrics or gRPC library: the group service's binary implements it over its metrics
// registry (services/group/server/group_metrics.h); tests may record the calls.
#ifndef INFRAKIT_SERVICES_GROUP_CONTROLLER_METRICS_H_
#define INFRAKIT_SERVICES_GROUP_CONTROLLER_METRICS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace infrakit::services::group {

// Every method is called with the controller's lock held, so implementations must be cheap,
// must not block, and must not call into the Controller. They may be called from any thread.
class ControllerMetrics {
 public:
  virtual ~ControllerMetrics() = default;

  // The instance plugin's Provision returned `count` new members of `group`.
  virtual void Provisioned(const std::string& group, int64_t count) = 0;
  // The controller destroyed a member of `group`; `reason` is why: "scale_down",
  // "rolling_update", "terminate" (the group was destroyed), "remediation" or "unspecified".
  virtual void Destroyed(const std::string& group, absl::string_view reason) = 0;
  // `count` instances of `group` failed to be created (`operation` "provision") or destroyed
  // ("destroy") in one attempt; they are retried with backoff.
  virtual void Failed(const std::string& group, absl::string_view operation, int64_t count) = 0;
  // The group reported an error (an ERROR group event: failures above, lost creations, health
  // probes that fail...).
  virtual void Error(const std::string& group) = 0;
  // A member of `group` is to be replaced: it disappeared while the group still wants it
  // (`cause` "vanished") or was destroyed as unhealthy ("remediation").
  virtual void Healed(const std::string& group, absl::string_view cause) = 0;
  // An event of the instance plugin's Watch stream concerning `group` was received; `type` is
  // "added", "changed", "removed" or "synced".
  virtual void WatchEvent(const std::string& group, absl::string_view type) = 0;
  // The running update of `group` has `updated` of `total` members on the new config and
  // ready. Called as the update progresses (its progress stream's counts) and at its end.
  virtual void UpdateProgress(const std::string& group, int64_t updated, int64_t total) = 0;
};

// A ControllerMetrics that records nothing: what the controller uses when none is given.
ControllerMetrics* NoControllerMetrics();

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_CONTROLLER_METRICS_H_
