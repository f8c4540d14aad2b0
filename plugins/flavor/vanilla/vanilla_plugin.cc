#include "plugins/flavor/vanilla/vanilla_plugin.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "plugins/flavor/vanilla/health_probe.h"
#include "plugins/flavor/vanilla/vanilla_properties.h"

namespace infrakit::plugins::flavor::vanilla {
namespace {

v1::HealthyResponse Verdict(v1::Health health, std::string reason) {
  v1::HealthyResponse response;
  response.set_health(health);
  response.set_reason(std::move(reason));
  return response;
}

}  // namespace

absl::Status VanillaPlugin::Validate(const v1::ValidateRequest& request) {
  auto properties = ParseVanillaProperties(request.properties());
  if (!properties.ok()) return properties.status();
  return CheckAllocation(*properties, request.allocation());
}

absl::StatusOr<v1::PrepareResponse> VanillaPlugin::Prepare(const v1::PrepareRequest& request) {
  auto properties = ParseVanillaProperties(request.properties());
  if (!properties.ok()) return properties.status();
  if (absl::Status s = CheckAllocation(*properties, request.allocation()); !s.ok()) return s;

  v1::PrepareResponse response;
  ::infrakit::instance::v1::Spec* spec = response.mutable_spec();
  *spec = request.spec();
  // As the seed's instance files show: an empty init becomes "\nline1\nline2".
  if (!properties->init_lines.empty()) {
    spec->set_init(absl::StrCat(spec->init(), "\n", absl::StrJoin(properties->init_lines, "\n")));
  }
  for (const auto& [key, value] : properties->tags) (*spec->mutable_tags())[key] = value;
  for (const auto& attachment : properties->attachments) {
    bool present = false;
    for (const auto& existing : spec->attachments()) {
      present =
          present || (existing.id() == attachment.id() && existing.type() == attachment.type());
    }
    if (!present) *spec->add_attachments() = attachment;
  }
  return response;
}

absl::StatusOr<v1::HealthyResponse> VanillaPlugin::Healthy(const v1::HealthyRequest& request) {
  auto properties = ParseVanillaProperties(request.properties());
  if (!properties.ok()) return properties.status();
  if (!properties->health_check) return Verdict(v1::HEALTH_HEALTHY, "");

  const HealthCheck& check = *properties->health_check;
  const auto& instance = request.instance();
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

absl::Status VanillaPlugin::Drain(const v1::DrainRequest& request) {
  auto properties = ParseVanillaProperties(request.properties());
  if (!properties.ok()) return properties.status();
  VLOG(1) << "flavor-vanilla: nothing to drain on " << request.instance().id();
  return absl::OkStatus();
}

}  // namespace infrakit::plugins::flavor::vanilla
