#include "services/group/server/active_controller.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace infrakit::services::group::server {

ActiveController::ActiveController(std::function<std::string()> leader,
                                   std::function<std::string()> status)
    : leader_(std::move(leader)), status_(std::move(status)) {}

ActiveController::ActiveController(Controller* fixed)
    // A shared_ptr that does not own: the service's owner destroys the Controller.
    : controller_(std::shared_ptr<Controller>(), fixed) {}

absl::StatusOr<std::shared_ptr<Controller>> ActiveController::Get() const {
  {
    absl::MutexLock lock(&mu_);
    if (controller_ != nullptr) return controller_;
  }
  const std::string leader = Leader();
  if (leader.empty())
    return absl::FailedPreconditionError("not the leader; no leader is elected yet");
  return absl::FailedPreconditionError(absl::StrCat("not the leader; the leader is ", leader));
}

bool ActiveController::Following() const {
  absl::MutexLock lock(&mu_);
  return controller_ == nullptr;
}

std::string ActiveController::Leader() const { return leader_ ? leader_() : std::string(); }

std::string ActiveController::Status() const { return status_ ? status_() : std::string(); }

void ActiveController::Lead(std::shared_ptr<Controller> controller) {
  absl::MutexLock lock(&mu_);
  controller_ = std::move(controller);
}

std::shared_ptr<Controller> ActiveController::Follow() {
  absl::MutexLock lock(&mu_);
  return std::exchange(controller_, nullptr);
}

}  // namespace infrakit::services::group::server
