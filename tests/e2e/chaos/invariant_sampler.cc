#include "tests/e2e/chaos/invariant_sampler.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace infrakit::testing {
namespace {

// At most this many violations are kept (the first ones tell the story).
constexpr size_t kMaxViolations = 20;

std::string Describe(const Reading& reading) {
  std::vector<std::string> parts;
  for (const auto& [id, i] : reading) {
    parts.push_back(absl::StrCat(id, i.logical_id.empty() ? "" : "/", i.logical_id, " sha ",
                                 i.config_sha.substr(0, 8), i.healthy ? " healthy" : " starting"));
  }
  return absl::StrCat(reading.size(), " live: ", absl::StrJoin(parts, ", "));
}

}  // namespace

InvariantSampler::InvariantSampler(std::unique_ptr<GroundTruth> truth, absl::Duration pause)
    : truth_(std::move(truth)),
      probe_command_(truth_->ProbeCommand()),
      pause_(pause),
      start_(absl::Now()),
      thread_([this] { Loop(); }) {}

InvariantSampler::~InvariantSampler() { Stop(); }

void InvariantSampler::SetLimits(const Limits& limits, const std::string& phase) {
  absl::MutexLock lock(&mu_);
  limits_ = limits;
  phase_ = phase;
}

void InvariantSampler::SetContext(const std::string& context) {
  absl::MutexLock lock(&mu_);
  context_ = context;
}

Reading InvariantSampler::Fresh() {
  absl::MutexLock lock(&mu_);
  const int64_t after = stats_.samples + 1;
  auto taken = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || stats_.samples > after; };
  mu_.Await(absl::Condition(&taken));
  return latest_;
}

SamplerStats InvariantSampler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  return stats_;
}

void InvariantSampler::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
    }
    // Read without the lock: a reading of /proc takes milliseconds.
    Reading reading = truth_->Read();
    {
      absl::MutexLock lock(&mu_);
      Check(reading);
      latest_ = std::move(reading);
      ++stats_.samples;
      auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      // The pause between readings, cut short by Stop().
      mu_.AwaitWithTimeout(absl::Condition(&stopped), pause_);
    }
  }
}

void InvariantSampler::Check(const Reading& reading) {
  std::set<std::string> broken;
  const int live = static_cast<int>(reading.size());
  stats_.peak = std::max(stats_.peak, live);
  if (limits_.cap >= 0 && live > limits_.cap) {
    Violation("cap", absl::StrCat(live, " live instances, above the cap of ", limits_.cap), reading,
              &broken);
  }
  const int healthy = static_cast<int>(std::count_if(
      reading.begin(), reading.end(), [](const auto& e) { return e.second.healthy; }));
  if (limits_.floor >= 0 && healthy < limits_.floor) {
    Violation("floor",
              absl::StrCat(healthy, " healthy instances, below the floor of ", limits_.floor),
              reading, &broken);
  }
  if (limits_.pets) {
    std::map<std::string, std::vector<std::string>> by_logical_id;
    for (const auto& [id, i] : reading) by_logical_id[i.logical_id].push_back(id);
    for (const auto& [logical_id, ids] : by_logical_id) {
      if (ids.size() > 1) {
        Violation(absl::StrCat("pets ", logical_id),
                  absl::StrCat("logical ID ", logical_id, " has ", ids.size(),
                               " live instances: ", absl::StrJoin(ids, ", ")),
                  reading, &broken);
      }
    }
  }
  for (const std::string& id : seen_) {
    if (!reading.count(id)) gone_.insert(id);
  }
  for (const auto& [id, i] : reading) {
    if (gone_.erase(id) > 0) {
      Violation(absl::StrCat("back ", id), absl::StrCat(id, " came back after it was gone"),
                reading, &broken);
    }
    seen_.insert(id);
  }
  // Only the live ones need watching for their end.
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = reading.count(*it) ? std::next(it) : seen_.erase(it);
  }
  if (!broken.empty()) ++stats_.violating_samples;
  broken_ = std::move(broken);
}

void InvariantSampler::Violation(const std::string& key, const std::string& what,
                                 const Reading& reading, std::set<std::string>* broken) {
  broken->insert(key);
  // A violation that lasts is reported once, when it begins.
  if (broken_.count(key) || stats_.violations.size() >= kMaxViolations) return;
  stats_.violations.push_back(absl::StrCat("at ", absl::FormatDuration(absl::Now() - start_),
                                           " in phase \"", phase_, "\" during \"", context_,
                                           "\": ", what, "\n    reading: ", Describe(reading)));
}

}  // namespace infrakit::testing
