#include "services/group/testing/fake_flavor_plugin.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace infrakit::services::group::testing {

absl::Status FakeFlavorPlugin::Validate(const fv1::ValidateRequest& request) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  return validate_error_;
}

absl::StatusOr<fv1::PrepareResponse> FakeFlavorPlugin::Prepare(const fv1::PrepareRequest& request) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  prepared_.push_back(request);
  fv1::PrepareResponse response;
  *response.mutable_spec() = request.spec();
  response.mutable_spec()->set_init(absl::StrCat("fake-init ", request.index().sequence()));
  (*response.mutable_spec()->mutable_tags())["flavor"] = "fake";
  return response;
}

fv1::Health FakeFlavorPlugin::HealthLocked(const infrakit::instance::v1::Description& d) {
  if (auto it = by_id_.find(d.id()); it != by_id_.end()) return it->second;
  if (clock_ != nullptr && startup_delay_ > absl::ZeroDuration()) {
    const absl::Time now = clock_->Now();
    const absl::Time first = first_seen_.try_emplace(d.id(), now).first->second;
    if (now < first + startup_delay_) return fv1::HEALTH_UNHEALTHY;
  }
  if (auto t = d.tags().find("infrakit.config_sha"); t != d.tags().end()) {
    if (auto it = by_sha_.find(t->second); it != by_sha_.end()) return it->second;
  }
  return default_health_;
}

fv1::Health FakeFlavorPlugin::HealthOf(const infrakit::instance::v1::Description& d) {
  absl::MutexLock lock(&mu_);
  return HealthLocked(d);
}

absl::StatusOr<fv1::HealthyResponse> FakeFlavorPlugin::Healthy(const fv1::HealthyRequest& request) {
  absl::MutexLock lock(&mu_);
  ++healthy_calls_;
  if (!error_.ok()) return error_;
  fv1::HealthyResponse response;
  response.set_health(HealthLocked(request.instance()));
  if (!by_id_.count(request.instance().id())) {
    for (const auto& [field, health] : by_property_) {
      if (request.properties().fields().count(field)) {
        response.set_health(health);
        break;
      }
    }
  }
  if (response.health() != fv1::HEALTH_HEALTHY) {
    response.set_reason(absl::StrCat("fake probe of ", request.instance().id(), " says ",
                                     fv1::Health_Name(response.health())));
  }
  response.set_constant(constant_);
  if (auto it = update_order_.find(request.instance().id()); it != update_order_.end()) {
    response.set_update_order(it->second);
    response.set_role(it->second > 0 ? "leader" : "follower");
  }
  return response;
}

absl::Status FakeFlavorPlugin::Drain(const fv1::DrainRequest& request) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  if (!drain_error_.ok()) return drain_error_;
  drained_.push_back(request.instance().id());
  return absl::OkStatus();
}

absl::StatusOr<fv1::ValidateResponse> FakeFlavorPlugin::ValidateAllocation(
    const fv1::ValidateRequest& request) {
  if (absl::Status st = Validate(request); !st.ok()) return st;
  absl::MutexLock lock(&mu_);
  fv1::ValidateResponse response;
  response.set_max_unavailable(max_unavailable_);
  return response;
}

void FakeFlavorPlugin::set_max_unavailable(int n) {
  absl::MutexLock lock(&mu_);
  max_unavailable_ = n;
}

void FakeFlavorPlugin::SetUpdateOrder(const std::string& id, int order) {
  absl::MutexLock lock(&mu_);
  update_order_[id] = order;
}

void FakeFlavorPlugin::set_startup_delay(Clock* clock, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  clock_ = clock;
  startup_delay_ = delay;
}

void FakeFlavorPlugin::set_default_health(fv1::Health health) {
  absl::MutexLock lock(&mu_);
  default_health_ = health;
}

void FakeFlavorPlugin::SetHealth(const std::string& id, fv1::Health health) {
  absl::MutexLock lock(&mu_);
  by_id_[id] = health;
}

void FakeFlavorPlugin::ClearHealth(const std::string& id) {
  absl::MutexLock lock(&mu_);
  by_id_.erase(id);
}

void FakeFlavorPlugin::SetShaHealth(const std::string& sha, fv1::Health health) {
  absl::MutexLock lock(&mu_);
  by_sha_[sha] = health;
}

void FakeFlavorPlugin::SetPropertyHealth(const std::string& field, fv1::Health health) {
  absl::MutexLock lock(&mu_);
  by_property_[field] = health;
}

void FakeFlavorPlugin::set_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(status);
}

void FakeFlavorPlugin::set_drain_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  drain_error_ = std::move(status);
}

void FakeFlavorPlugin::set_validate_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  validate_error_ = std::move(status);
}

absl::StatusOr<fv1::BatchPrepareResponse> FakeFlavorPlugin::BatchPrepare(
    const fv1::BatchPrepareRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    prepare_batches_.push_back(request.indexes_size());
  }
  return FlavorPlugin::BatchPrepare(request);
}

std::vector<int> FakeFlavorPlugin::prepare_batches() {
  absl::MutexLock lock(&mu_);
  return prepare_batches_;
}

absl::StatusOr<fv1::BatchHealthyResponse> FakeFlavorPlugin::BatchHealthy(
    const fv1::BatchHealthyRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    healthy_batches_.push_back(request.instances_size());
  }
  return FlavorPlugin::BatchHealthy(request);
}

std::vector<int> FakeFlavorPlugin::healthy_batches() {
  absl::MutexLock lock(&mu_);
  return healthy_batches_;
}

absl::StatusOr<fv1::BatchDrainResponse> FakeFlavorPlugin::BatchDrain(
    const fv1::BatchDrainRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    drain_batches_.push_back(request.instances_size());
  }
  return FlavorPlugin::BatchDrain(request);
}

std::vector<int> FakeFlavorPlugin::drain_batches() {
  absl::MutexLock lock(&mu_);
  return drain_batches_;
}

void FakeFlavorPlugin::set_constant(bool constant) {
  absl::MutexLock lock(&mu_);
  constant_ = constant;
}

int FakeFlavorPlugin::healthy_calls() {
  absl::MutexLock lock(&mu_);
  return healthy_calls_;
}

int FakeFlavorPlugin::prepare_calls() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(prepared_.size());
}

std::vector<std::string> FakeFlavorPlugin::drained() {
  absl::MutexLock lock(&mu_);
  return drained_;
}

std::vector<fv1::PrepareRequest> FakeFlavorPlugin::prepared() {
  absl::MutexLock lock(&mu_);
  return prepared_;
}

}  // namespace infrakit::services::group::testing
