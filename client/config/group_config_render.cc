// ToJson: a GroupSpec written back as a config in the nested form (see group_config.h).
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/config/group_config.h"
#include "google/protobuf/struct.pb.h"
#include "spec/canonical_json.h"

namespace infrakit::client::config {
namespace {

using google::protobuf::Value;
using infrakit::flavor::v1::Allocation;
using infrakit::group::v1::GroupSpec;
using infrakit::group::v1::IntOrPercent;
using infrakit::group::v1::PluginSpec;
using infrakit::group::v1::RemediationPolicy;
using infrakit::group::v1::UpdatePolicy;
using infrakit::spec::AppendJsonString;
using infrakit::spec::JsonNumber;
using infrakit::spec::JsonString;
using infrakit::spec::PrettyJson;

// Members of a JSON object in the order given, each value already rendered for the depth
// `indent` + 2; written as a pretty object whose closing brace is at `indent`.
using RenderedMembers = std::vector<std::pair<std::string, std::string>>;

std::string RenderObject(const RenderedMembers& members, int indent) {
  if (members.empty()) return "{}";
  std::string out = "{";
  bool first = true;
  for (const auto& [key, rendered] : members) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('\n');
    out.append(indent + 2, ' ');
    AppendJsonString(key, &out);
    out.append(": ");
    out.append(rendered);
  }
  out.push_back('\n');
  out.append(indent, ' ');
  out.push_back('}');
  return out;
}

std::string RenderIntOrPercent(const IntOrPercent& value) {
  if (value.value_case() == IntOrPercent::kPercent) {
    return JsonString(absl::StrCat(value.percent(), "%"));
  }
  return absl::StrCat(value.count());
}

std::string RenderSection(const PluginSpec& section, int indent) {
  Value properties;
  *properties.mutable_struct_value() = section.properties();
  return RenderObject({{"Plugin", JsonString(section.plugin())},
                       {"Properties", PrettyJson(properties, indent + 2)}},
                      indent);
}

std::string RenderUpdate(const UpdatePolicy& policy, int indent) {
  RenderedMembers members;
  if (policy.has_max_surge()) {
    members.emplace_back("MaxSurge", RenderIntOrPercent(policy.max_surge()));
  }
  if (policy.has_max_unavailable()) {
    members.emplace_back("MaxUnavailable", RenderIntOrPercent(policy.max_unavailable()));
  }
  if (policy.min_ready_seconds() != 0) {
    members.emplace_back("MinReadySeconds", JsonNumber(policy.min_ready_seconds()));
  }
  if (policy.health_deadline_seconds() != 0) {
    members.emplace_back("HealthDeadlineSeconds", JsonNumber(policy.health_deadline_seconds()));
  }
  switch (policy.on_failure()) {
    case infrakit::group::v1::FAILURE_ACTION_PAUSE:
      members.emplace_back("OnFailure", JsonString("pause"));
      break;
    case infrakit::group::v1::FAILURE_ACTION_ROLLBACK:
      members.emplace_back("OnFailure", JsonString("rollback"));
      break;
    default:
      break;  // Unset: the default.
  }
  return RenderObject(members, indent);
}

std::string RenderRemediation(const RemediationPolicy& policy, int indent) {
  RenderedMembers members;
  members.emplace_back("Enabled", policy.enabled() ? "true" : "false");
  if (policy.unhealthy_seconds() != 0) {
    members.emplace_back("UnhealthySeconds", JsonNumber(policy.unhealthy_seconds()));
  }
  if (policy.max_concurrent() != 0) {
    members.emplace_back("MaxConcurrent", absl::StrCat(policy.max_concurrent()));
  }
  if (policy.max_unhealthy_percent() != 0) {
    members.emplace_back("MaxUnhealthyPercent", absl::StrCat(policy.max_unhealthy_percent()));
  }
  if (policy.initial_delay_seconds() != 0) {
    members.emplace_back("InitialDelaySeconds", JsonNumber(policy.initial_delay_seconds()));
  }
  if (policy.probe_interval_seconds() != 0) {
    members.emplace_back("ProbeIntervalSeconds", JsonNumber(policy.probe_interval_seconds()));
  }
  return RenderObject(members, indent);
}

std::string Render(const GroupSpec& spec, absl::string_view group_plugin) {
  // Depths: the document at 0, its Properties at 2, the sections at 4.
  RenderedMembers properties;
  properties.emplace_back("Instance", RenderSection(spec.instance(), 4));
  properties.emplace_back("Flavor", RenderSection(spec.flavor(), 4));
  switch (spec.allocation().kind_case()) {
    case Allocation::kSize:
      properties.emplace_back("Size", absl::StrCat(spec.allocation().size()));
      break;
    case Allocation::kLogicalIds: {
      Value ids;
      for (const std::string& id : spec.allocation().logical_ids().ids()) {
        ids.mutable_list_value()->add_values()->set_string_value(id);
      }
      if (spec.allocation().logical_ids().ids().empty()) ids.mutable_list_value();
      properties.emplace_back("LogicalIDs", PrettyJson(ids, 4));
      break;
    }
    case Allocation::KIND_NOT_SET:
      break;
  }
  if (spec.has_update_policy()) {
    properties.emplace_back("Update", RenderUpdate(spec.update_policy(), 4));
  }
  if (spec.has_remediation()) {
    properties.emplace_back("Remediation", RenderRemediation(spec.remediation(), 4));
  }

  RenderedMembers top;
  top.emplace_back("ID", JsonString(spec.id()));
  if (!group_plugin.empty()) top.emplace_back("Plugin", JsonString(group_plugin));
  top.emplace_back("Properties", RenderObject(properties, 2));
  return RenderObject(top, 0) + "\n";
}

}  // namespace

std::string ToJson(const GroupSpec& spec) { return Render(spec, ""); }

std::string ToJson(const ParsedConfig& config) { return Render(config.spec, config.group_plugin); }

}  // namespace infrakit::client::config
