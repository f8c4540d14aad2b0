#include "services/group/testing/sim_fault_model.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace infrakit::services::group::testing {

FaultModel::FaultModel(uint64_t seed) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  rng_.seed(seq);
}

void FaultModel::DrawRates() {
  // 0 (calm) .. 1 (stormy); a quarter of the runs at the top, so that faults pile up.
  const double storm = Chance(0.25) ? 1.0 : Uniform(0, 100) / 100.0;
  auto draw = [&](double cap) { return Chance(0.3) ? 0.0 : storm * cap * Uniform(0, 100) / 100.0; };
  rates_.fail = draw(0.15);
  rates_.timeout_before = draw(0.08);
  rates_.timeout_after = draw(0.1);
  rates_.slow = draw(0.2);
  rates_.twice = draw(0.1);
  rates_.delay_events = draw(0.15);
  rates_.reorder_events = draw(0.8);
  rates_.duplicate_event = draw(0.1);
  rates_.drop_event = draw(0.04);
  rates_.empty_listing = draw(0.2);
  rates_.failed_listing = draw(0.15);
  rates_.unknown_health = draw(0.15);
}

bool FaultModel::Roll(double p) { return active_ && Chance(p); }

bool FaultModel::Chance(double p) {
  if (p <= 0) return false;
  return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

int64_t FaultModel::Uniform(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, std::max(lo, hi))(rng_);
}

absl::Duration FaultModel::UniformDuration(absl::Duration lo, absl::Duration hi) {
  return absl::Milliseconds(Uniform(absl::ToInt64Milliseconds(lo), absl::ToInt64Milliseconds(hi)));
}

std::string FaultModel::Describe() const {
  const FaultRates& r = rates_;
  return absl::StrFormat(
      "fail %.2f timeout %.2f/%.2f slow %.2f twice %.2f events: delay %.2f reorder %.2f "
      "dup %.2f drop %.3f listings: empty %.2f failed %.2f unknown-health %.2f",
      r.fail, r.timeout_before, r.timeout_after, r.slow, r.twice, r.delay_events, r.reorder_events,
      r.duplicate_event, r.drop_event, r.empty_listing, r.failed_listing, r.unknown_health);
}

}  // namespace infrakit::services::group::testing
