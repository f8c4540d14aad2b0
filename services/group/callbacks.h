// The callbacks the group controller hands results and streams to, and the subscription that
// cancels a stream.
#ifndef INFRAKIT_SERVICES_GROUP_CALLBACKS_H_
#define INFRAKIT_SERVICES_GROUP_CALLBACKS_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "infrakit/group/v1/group.pb.h"

namespace infrakit::services::group {

// A registered callback (update progress, group events). Destroying it cancels it.
class Subscription {
 public:
  virtual ~Subscription() = default;

  // Stops the callbacks: once Cancel returns, none runs or will run. May be called from inside
  // one of the subscription's own callbacks (then none runs after that callback returns).
  // Idempotent.
  virtual void Cancel() = 0;
};

using UpdateProgressCallback = std::function<void(const infrakit::group::v1::UpdateGroupResponse&)>;
using GroupEventCallback = std::function<void(const infrakit::group::v1::GroupEvent&)>;
// The end of a stream: OK after the last message (an update's final phase, or a group that was
// unwatched or destroyed); UNAVAILABLE when the controller shuts down. Called once, last.
using StreamEndCallback = std::function<void(const absl::Status&)>;
template <typename T>
using DoneCallback = std::function<void(absl::StatusOr<T>)>;

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_CALLBACKS_H_
