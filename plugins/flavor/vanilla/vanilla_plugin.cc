#include "plugins/flavor/vanilla/vanilla_plugin.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "plugins/flavor/vanilla/health_probe.h"
#include "plugins/flavor/vanilla/vanilla_properties.h"
#include "spi/item_status.h"

namespace infrakit::plugins::flavor::vanilla {
namespace {

v1::HealthyResponse Verdict(v1::Health health, std::string reason) {
  v1::HealthyResponse response;
  response.set_health(health);
  response.set_reason(std::move(reason));
  return response;
}

// Without a HealthCheck an instance is HEALTHY by definition, and stays so for these properties:
// callers need not ask again (a group's resync of thousands of members then costs nothing).
v1::HealthyResponse ConstantHealthy() {
  v1::HealthyResponse response = Verdict(v1::HEALTH_HEALTHY, "");
  response.set_constant(true);
  return response;
}

// Prepare's result for properties already parsed and checked against the allocation.
v1::PrepareResponse PrepareSpec(const VanillaProperties& properties,
                                const ::infrakit::instance::v1::Spec& input) {
  v1::PrepareResponse response;
  ::infrakit::instance::v1::Spec* spec = response.mutable_spec();
  *spec = input;
  // As the original InfraKit's instance files show: an empty init becomes "\nline1\nline2".
  if (!properties.init_lines.empty()) {
    spec->set_init(absl::StrCat(spec->init(), "\n", absl::StrJoin(properties.init_lines, "\n")));
  }
  for (const auto& [key, value] : properties.tags) (*spec->mutable_tags())[key] = value;
  for (const auto& attachment : properties.attachments) {
    bool present = false;
    for (const auto& existing : spec->attachments()) {
      present =
          present || (existing.id() == attachment.id() && existing.type() == attachment.type());
    }
    if (!present) *spec->add_attachments() = attachment;
  }
  return response;
}

// Healthy's answer for properties already parsed, with a probe: runs it (blocking up to its
// timeout).
absl::StatusOr<v1::HealthyResponse> RunProbe(
    const HealthCheck& check, const ::infrakit::instance::v1::Description& instance) {
  ProbeResult result;
  if (check.kind == HealthCheck::Kind::kCommand) {
    result = RunCommandProbe(
        check.target,
        {{"INFRAKIT_INSTANCE_ID", instance.id()}, {"INFRAKIT_LOGICAL_ID", instance.logical_id()}},
        check.timeout);
  } else {
    absl::StatusOr<std::string> address =
        ExpandPlaceholders(check.target, instance.id(), instance.logical_id());
    if (absl::IsFailedPrecondition(address.status())) {
      return Verdict(v1::HEALTH_UNKNOWN, absl::StrCat("cannot probe ", instance.id(), ": ",
                                                      address.status().message()));
    }
    if (!address.ok()) return address.status();
    result = check.kind == HealthCheck::Kind::kTcp ? TcpProbe(*address, check.timeout)
                                                   : HttpProbe(*address, check.timeout);
  }
  VLOG(1) << "flavor-vanilla: " << instance.id() << " probe: " << static_cast<int>(result.outcome)
          << " " << result.reason;
  switch (result.outcome) {
    case ProbeResult::Outcome::kPassed:
      return Verdict(v1::HEALTH_HEALTHY, "");
    case ProbeResult::Outcome::kFailed:
      return Verdict(v1::HEALTH_UNHEALTHY, std::move(result.reason));
    case ProbeResult::Outcome::kNotRun:
      return Verdict(v1::HEALTH_UNKNOWN, std::move(result.reason));
  }
  return Verdict(v1::HEALTH_UNKNOWN, "unknown probe outcome");
}

// Runs run(i) for every i in [0, n), at most `concurrency` at a time: on the calling thread and
// on up to concurrency - 1 threads started here, each taking the next index until none is left.
// Returns when every run has returned. If a thread cannot be started the remaining ones do the
// work (the calling thread always takes part), so every index still runs.
template <typename Run>
void RunBounded(int n, int concurrency, const Run& run) {
  std::atomic<int> next{0};
  auto worker = [&next, n, &run] {
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) run(i);
  };
  std::vector<std::thread> threads;
  const int extra = std::min(concurrency, n) - 1;
  for (int t = 0; t < extra; ++t) {
    try {
      threads.emplace_back(worker);
    } catch (const std::system_error& e) {
      LOG(WARNING) << "flavor-vanilla: cannot start a probe thread (" << e.what()
                   << "); probing with " << threads.size() + 1;
      break;
    }
  }
  worker();
  for (std::thread& thread : threads) thread.join();
}

}  // namespace

VanillaPlugin::VanillaPlugin(int max_concurrent_probes, absl::Duration batch_probe_budget)
    : max_concurrent_probes_(std::max(1, max_concurrent_probes)),
      batch_probe_budget_(batch_probe_budget) {}

absl::Status VanillaPlugin::Validate(const v1::ValidateRequest& request) {
  auto properties = ParseVanillaProperties(request.properties());
  if (!properties.ok()) return properties.status();
  return CheckAllocation(*properties, request.allocation());
}

absl::StatusOr<v1::PrepareResponse> VanillaPlugin::Prepare(const v1::PrepareRequest& request) {
  auto properties = ParseVanillaProperties(request.properties());
  if (!properties.ok()) return properties.status();
  if (absl::Status s = CheckAllocation(*properties, request.allocation()); !s.ok()) return s;
  return PrepareSpec(*properties, request.spec());
}

absl::StatusOr<v1::HealthyResponse> VanillaPlugin::Healthy(const v1::HealthyRequest& request) {
  auto properties = ParseVanillaProperties(request.properties());
  if (!properties.ok()) return properties.status();
  if (!properties->health_check) return ConstantHealthy();
  return RunProbe(*properties->health_check, request.instance());
}

absl::Status VanillaPlugin::Drain(const v1::DrainRequest& request) {
  auto properties = ParseVanillaProperties(request.properties());
  if (!properties.ok()) return properties.status();
  VLOG(1) << "flavor-vanilla: nothing to drain on " << request.instance().id();
  return absl::OkStatus();
}

absl::StatusOr<v1::BatchPrepareResponse> VanillaPlugin::BatchPrepare(
    const v1::BatchPrepareRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.indexes_size(), "indexes"); !s.ok()) return s;
  // The index does not change what vanilla prepares: one parse and one check serve every item.
  auto properties = ParseVanillaProperties(request.properties());
  absl::Status usable = properties.status();
  if (usable.ok()) usable = CheckAllocation(*properties, request.allocation());
  v1::BatchPrepareResponse response;
  for (int i = 0; i < request.indexes_size(); ++i) {
    v1::PrepareResult* result = response.add_results();
    if (usable.ok()) {
      *result->mutable_response() = PrepareSpec(*properties, request.spec());
    } else {
      *result->mutable_error() = spi::ToItemStatus(usable);
    }
  }
  return response;
}

absl::StatusOr<v1::BatchHealthyResponse> VanillaPlugin::BatchHealthy(
    const v1::BatchHealthyRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.instances_size(), "instances"); !s.ok()) {
    return s;
  }
  const int n = request.instances_size();
  v1::BatchHealthyResponse response;
  auto properties = ParseVanillaProperties(request.properties());
  if (!properties.ok() || !properties->health_check) {
    for (int i = 0; i < n; ++i) {
      v1::HealthyResult* result = response.add_results();
      if (properties.ok()) {
        *result->mutable_response() = ConstantHealthy();
      } else {
        *result->mutable_error() = spi::ToItemStatus(properties.status());
      }
    }
    return response;
  }
  // Each run writes only its own slot, and RunBounded joins every thread before returning.
  std::vector<absl::StatusOr<v1::HealthyResponse>> verdicts(n);
  const HealthCheck& check = *properties->health_check;
  // Rounds of probes that fit the budget if every probe times out; enough at once to need no
  // more rounds than that.
  const int64_t rounds = std::max<int64_t>(1, batch_probe_budget_ / check.timeout);
  const int64_t needed = n > 0 ? (n - 1) / rounds + 1 : 0;  // ceil(n / rounds), no overflow
  const int concurrency = static_cast<int>(std::clamp<int64_t>(
      needed, max_concurrent_probes_, std::max(max_concurrent_probes_, kMaxBatchProbeThreads)));
  RunBounded(n, concurrency, [&](int i) { verdicts[i] = RunProbe(check, request.instances(i)); });
  for (absl::StatusOr<v1::HealthyResponse>& verdict : verdicts) {
    spi::SetItemResult(std::move(verdict), response.add_results());
  }
  return response;
}

absl::StatusOr<v1::BatchDrainResponse> VanillaPlugin::BatchDrain(
    const v1::BatchDrainRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.instances_size(), "instances"); !s.ok()) {
    return s;
  }
  const absl::Status parsed = ParseVanillaProperties(request.properties()).status();
  v1::BatchDrainResponse response;
  for (const auto& instance : request.instances()) {
    VLOG_IF(1, parsed.ok()) << "flavor-vanilla: nothing to drain on " << instance.id();
    *response.add_results() = spi::ToItemStatus(parsed);
  }
  return response;
}

}  // namespace infrakit::plugins::flavor::vanilla
