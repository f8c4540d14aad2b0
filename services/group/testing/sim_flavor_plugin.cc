#include "services/group/testing/sim_flavor_plugin.h"

namespace infrakit::services::group::testing {

absl::Status SimFlavorPlugin::Before() {
  if (down_) return absl::UnavailableError("sim: flavor plugin is down");
  const FaultRates& r = faults_->rates();
  if (faults_->Roll(r.fail)) {
    ++faults_count_;
    return absl::UnavailableError("sim: flavor plugin call failed");
  }
  if (faults_->Roll(r.timeout_before)) {
    ++faults_count_;
    return absl::DeadlineExceededError("sim: flavor plugin call timed out");
  }
  if (slow_ && faults_->Roll(r.slow)) {
    ++faults_count_;
    slow_();
    if (down_) return absl::UnavailableError("sim: flavor plugin is down");
  }
  return absl::OkStatus();
}

absl::Status SimFlavorPlugin::Validate(const fv1::ValidateRequest& request) {
  if (down_) return absl::UnavailableError("sim: flavor plugin is down");
  return real_->Validate(request);
}

absl::StatusOr<fv1::ValidateResponse> SimFlavorPlugin::ValidateAllocation(
    const fv1::ValidateRequest& request) {
  if (down_) return absl::UnavailableError("sim: flavor plugin is down");
  return real_->ValidateAllocation(request);
}

absl::StatusOr<fv1::PrepareResponse> SimFlavorPlugin::Prepare(const fv1::PrepareRequest& request) {
  if (absl::Status st = Before(); !st.ok()) return st;
  return real_->Prepare(request);
}

absl::StatusOr<fv1::HealthyResponse> SimFlavorPlugin::Healthy(const fv1::HealthyRequest& request) {
  if (absl::Status st = Before(); !st.ok()) return st;
  if (faults_->Roll(faults_->rates().unknown_health)) {
    ++faults_count_;
    fv1::HealthyResponse response;
    response.set_health(fv1::HEALTH_UNKNOWN);
    response.set_reason("sim: probe could not run");
    Report(request.instance().id(), response.health());
    return response;
  }
  absl::StatusOr<fv1::HealthyResponse> response = real_->Healthy(request);
  if (response.ok()) Report(request.instance().id(), response->health());
  return response;
}

bool SimFlavorPlugin::ReportedHealthy(const std::string& id) const {
  auto it = reported_.find(id);
  return it != reported_.end() && it->second.health == fv1::HEALTH_HEALTHY;
}

absl::Status SimFlavorPlugin::Drain(const fv1::DrainRequest& request) {
  if (drain_asked_ && !in_batch_drain_) drain_asked_(request.instance(), std::nullopt);
  absl::Status st = DrainWithFaults(request);
  if (drain_asked_) drain_asked_(request.instance(), st);
  return st;
}

absl::Status SimFlavorPlugin::DrainWithFaults(const fv1::DrainRequest& request) {
  if (absl::Status st = Before(); !st.ok()) return st;
  absl::Status st = real_->Drain(request);
  if (st.ok() && faults_->Roll(faults_->rates().timeout_after)) {
    ++faults_count_;
    return absl::DeadlineExceededError("sim: drain timed out");
  }
  return st;
}

absl::StatusOr<fv1::BatchPrepareResponse> SimFlavorPlugin::BatchPrepare(
    const fv1::BatchPrepareRequest& request) {
  if (absl::Status st = Before(); !st.ok()) return st;
  return FlavorPlugin::BatchPrepare(request);
}

absl::StatusOr<fv1::BatchHealthyResponse> SimFlavorPlugin::BatchHealthy(
    const fv1::BatchHealthyRequest& request) {
  if (absl::Status st = Before(); !st.ok()) return st;
  // The controller learns the verdicts when the whole call returns; the items' slowness may
  // let it decide meanwhile on the verdicts it had, and make (nested) calls of its own.
  batches_.push_back(Batch{++calls_, {}});
  auto response = FlavorPlugin::BatchHealthy(request);
  Batch done = std::move(batches_.back());
  batches_.pop_back();
  for (const auto& [id, health] : done.verdicts) Tell(id, health, done.call);
  return response;
}

void SimFlavorPlugin::Report(const std::string& id, fv1::Health health) {
  if (batches_.empty()) {
    Tell(id, health, ++calls_);
  } else {
    batches_.back().verdicts[id] = health;
  }
}

void SimFlavorPlugin::Tell(const std::string& id, fv1::Health health, uint64_t call) {
  Verdict& v = reported_[id];
  if (call < v.call) return;
  v = Verdict{health, call};
}

absl::StatusOr<fv1::BatchDrainResponse> SimFlavorPlugin::BatchDrain(
    const fv1::BatchDrainRequest& request) {
  // The controller asked for them all at once: that is when it decided.
  if (drain_asked_) {
    for (const auto& instance : request.instances()) drain_asked_(instance, std::nullopt);
  }
  if (absl::Status st = Before(); !st.ok()) {
    if (drain_asked_) {
      for (const auto& instance : request.instances()) drain_asked_(instance, st);
    }
    return st;
  }
  in_batch_drain_ = true;
  auto response = FlavorPlugin::BatchDrain(request);
  in_batch_drain_ = false;
  return response;
}

}  // namespace infrakit::services::group::testing
