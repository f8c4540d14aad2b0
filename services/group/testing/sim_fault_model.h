// The fault model of the seeded simulation (sim_runner.h): how often each fault happens, drawn
// from the seed, and the one random source every part of a run draws from, so that a seed
// replays the same run exactly.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_SIM_FAULT_MODEL_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_SIM_FAULT_MODEL_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace infrakit::services::group::testing {

// The probabilities of the faults of one run (each in [0, 1]). A seed draws a profile: some
// runs are calm, some stormy, most in between, and any fault may be off.
struct FaultRates {
  // A plugin call fails UNAVAILABLE before doing anything.
  double fail = 0;
  // A call fails DEADLINE_EXCEEDED before doing anything, or after doing its work (the
  // caller cannot tell which).
  double timeout_before = 0;
  double timeout_after = 0;
  // A call is slow: other tasks run and time passes while it is under way.
  double slow = 0;
  // A call reaches the plugin twice (a transport's retry); the caller gets the second answer.
  double twice = 0;
  // A watch event is held back (with the ones after it) for a while; the held events come in
  // another order (each instance's own events keep theirs).
  double delay_events = 0;
  double reorder_events = 0;
  // A watch event comes twice.
  double duplicate_event = 0;
  // A watch event is lost, and with it the stream: the watch ends UNAVAILABLE soon after.
  double drop_event = 0;
  // A listing (Describe, or a watch's initial set) is empty although instances exist; or it
  // fails.
  double empty_listing = 0;
  double failed_listing = 0;
  // Health checks answer UNKNOWN.
  double unknown_health = 0;
};

// The random source and the fault switch of a run.
class FaultModel {
 public:
  // std::seed_seq spreads a small seed over the whole mt19937_64 state.
  explicit FaultModel(uint64_t seed);

  FaultModel(const FaultModel&) = delete;
  FaultModel& operator=(const FaultModel&) = delete;

  // Draws this run's rates: each fault off or at a rate up to its cap, scaled by a storminess.
  void DrawRates();

  // While off, every Roll of a fault is false: the plugins behave (the run's convergence
  // phase).
  void set_active(bool active) { active_ = active; }
  bool active() const { return active_; }
  const FaultRates& rates() const { return rates_; }
  FaultRates& mutable_rates() { return rates_; }

  // A fault of probability `p` happens now (never while inactive).
  bool Roll(double p);
  // A draw that is not a fault (scenario choices): true with probability `p`.
  bool Chance(double p);
  // Uniform in [lo, hi].
  int64_t Uniform(int64_t lo, int64_t hi);
  absl::Duration UniformDuration(absl::Duration lo, absl::Duration hi);
  std::mt19937_64& rng() { return rng_; }

  // A short description of the rates, for the reproduction report.
  std::string Describe() const;

 private:
  std::mt19937_64 rng_;
  FaultRates rates_;
  bool active_ = true;
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_SIM_FAULT_MODEL_H_
