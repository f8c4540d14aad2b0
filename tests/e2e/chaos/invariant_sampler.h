// The chaos test's sampler: a thread that reads the ground truth (ground_truth.h) every few
// milliseconds and checks each reading against the invariants of a group under faults:
//  - never more live instances than `cap` (size, + surge while an update runs; the larger
//    size while a resize is under way): no double creation, no mass creation after an empty
//    or failed listing;
//  - never fewer healthy instances than `floor` (size - max unavailable during an update; the
//    smaller size during a resize);
//  - pets: never two live instances of one logical ID;
//  - an instance that is gone never comes back (IDs are never reused: a reappearance is an
//    instance created twice).
// Violations are kept with the time, the phase and the fault under way, and the reading.
//
// Thread-safe: SetLimits / SetContext / Latest / Report may be called from any thread while
// the sampler runs.
#ifndef INFRAKIT_TESTS_E2E_CHAOS_INVARIANT_SAMPLER_H_
#define INFRAKIT_TESTS_E2E_CHAOS_INVARIANT_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/e2e/chaos/ground_truth.h"

namespace infrakit::testing {

// What a reading must satisfy; -1 leaves a bound unchecked.
struct Limits {
  int cap = -1;
  int floor = -1;
  bool pets = false;
};

// Counts over a run, for the report.
struct SamplerStats {
  int64_t samples = 0;
  int peak = 0;
  // Readings that broke an invariant.
  int64_t violating_samples = 0;
  // Each violation as it began (one that lasts over several readings is reported once).
  std::vector<std::string> violations;
};

class InvariantSampler {
 public:
  // Reads `truth` every `pause` on a thread of its own until Stop() (or destruction). No
  // limits until SetLimits.
  InvariantSampler(std::unique_ptr<GroundTruth> truth, absl::Duration pause);
  ~InvariantSampler();
  InvariantSampler(const InvariantSampler&) = delete;
  InvariantSampler& operator=(const InvariantSampler&) = delete;

  // The limits from the next reading on, and the phase they belong to (named in violations).
  void SetLimits(const Limits& limits, const std::string& phase) ABSL_LOCKS_EXCLUDED(mu_);
  // What is being done now (a fault), named in violations.
  void SetContext(const std::string& context) ABSL_LOCKS_EXCLUDED(mu_);

  // Waits for a reading taken after this call and returns it.
  Reading Fresh() ABSL_LOCKS_EXCLUDED(mu_);

  // Stops the thread (idempotent) and returns the stats.
  SamplerStats Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // The shell test of the health probe (GroundTruth::ProbeCommand).
  const std::string& probe_command() const { return probe_command_; }

 private:
  void Loop();
  void Check(const Reading& reading) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records the violation `key` (e.g. "cap", "pets a") in `broken`, and reports it unless the
  // previous reading broke it too.
  void Violation(const std::string& key, const std::string& what, const Reading& reading,
                 std::set<std::string>* broken) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::unique_ptr<GroundTruth> truth_;
  const std::string probe_command_;
  const absl::Duration pause_;
  const absl::Time start_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Limits limits_ ABSL_GUARDED_BY(mu_);
  std::string phase_ ABSL_GUARDED_BY(mu_);
  std::string context_ ABSL_GUARDED_BY(mu_);
  Reading latest_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> seen_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> gone_ ABSL_GUARDED_BY(mu_);
  // The violations of the previous reading.
  std::set<std::string> broken_ ABSL_GUARDED_BY(mu_);
  SamplerStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_E2E_CHAOS_INVARIANT_SAMPLER_H_
