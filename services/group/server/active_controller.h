// Which Controller serves the group service's calls now.
#ifndef INFRAKIT_SERVICES_GROUP_SERVER_ACTIVE_CONTROLLER_H_
#define INFRAKIT_SERVICES_GROUP_SERVER_ACTIVE_CONTROLLER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/group/controller.h"

namespace infrakit::services::group::server {

// With the file store, one Controller serves every call for the service's lifetime. With the
// etcd store, only the leader runs one: a follower has none and refuses the calls, naming the
// leader. Callers keep the shared_ptr they got for as long as they use the Controller (a call,
// a stream's subscription), so a Controller replaced by leadership is destroyed only after its
// last user let go.
//
// Thread-safe.
class ActiveController {
 public:
  // No Controller until Lead; `leader` names the leader for errors ("" when not known);
  // `status` says what this service is doing (ListGroupsResponse.status), may be empty.
  explicit ActiveController(std::function<std::string()> leader,
                            std::function<std::string()> status = nullptr);
  // Always `fixed` (not owned; must outlive this and every user of it).
  explicit ActiveController(Controller* fixed);

  // The Controller now. FAILED_PRECONDITION "not the leader; the leader is X" (or "no leader
  // is elected yet") on a follower.
  absl::StatusOr<std::shared_ptr<Controller>> Get() const;
  // Whether this service follows (has no Controller, as opposed to the file store's fixed one).
  bool Following() const;
  // The leader's identity as last seen ("" with the file store or when not known).
  std::string Leader() const;
  // What this service is doing, in words ("" with the file store).
  std::string Status() const;

  // This service leads with `controller` (already started).
  void Lead(std::shared_ptr<Controller> controller);
  // This service follows: returns the Controller it had (null if none) for the caller to shut
  // down.
  std::shared_ptr<Controller> Follow();

 private:
  const std::function<std::string()> leader_;  // null with a fixed Controller
  const std::function<std::string()> status_;  // null with a fixed Controller
  mutable absl::Mutex mu_;
  std::shared_ptr<Controller> controller_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group::server

#endif  // INFRAKIT_SERVICES_GROUP_SERVER_ACTIVE_CONTROLLER_H_
