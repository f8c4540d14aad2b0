#include "tools/infrakitctl/output.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "infrakit/flavor/v1/flavor.pb.h"

namespace infrakit::tools::infrakitctl {

namespace {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;
using ::infrakit::client::discovery::PluginEntry;

// The original InfraKit prints an unset logical ID as "  -" in a 15-wide column.
std::string LogicalColumn(const std::string& logical_id) {
  return logical_id.empty() ? "  -" : logical_id;
}

std::string KindName(infrakit::plugin::v1::PluginKind kind) {
  switch (kind) {
    case infrakit::plugin::v1::PLUGIN_KIND_GROUP:
      return "group";
    case infrakit::plugin::v1::PLUGIN_KIND_INSTANCE:
      return "instance";
    case infrakit::plugin::v1::PLUGIN_KIND_FLAVOR:
      return "flavor";
    default:
      return "-";
  }
}

// The part of an enum value name after its type's prefix, lower case: HEALTH_HEALTHY ->
// "healthy", LIFECYCLE_STATE_RUNNING -> "running"; "-" for the unspecified value.
std::string ShortEnumName(const std::string& name, absl::string_view prefix) {
  absl::string_view s = name;
  absl::ConsumePrefix(&s, prefix);
  if (s == "UNSPECIFIED") return "-";
  return absl::StrReplaceAll(absl::AsciiStrToLower(s), {{"_", " "}});
}

std::string Compact(const google::protobuf::Message& message) { return ToJsonLine(message); }

}  // namespace

std::string PluginTable(const std::vector<PluginEntry>& plugins, bool long_format) {
  std::string out = "Plugins:\n";
  if (!long_format) {
    absl::StrAppend(&out, absl::StrFormat("%-20s\t%-s\n", "NAME", "LISTEN"));
    for (const PluginEntry& p : plugins) {
      absl::StrAppend(&out, absl::StrFormat("%-20s\t%-s\n", p.name, p.address));
    }
    return out;
  }
  size_t listen_width = std::string("LISTEN").size();
  for (const PluginEntry& p : plugins) listen_width = std::max(listen_width, p.address.size());
  const int width = static_cast<int>(listen_width);
  absl::StrAppend(&out, absl::StrFormat("%-20s\t%-*s\t%-9s\t%-8s\t%s\n", "NAME", width, "LISTEN",
                                        "KIND", "STATE", "VERSION"));
  for (const PluginEntry& p : plugins) {
    std::string kind = "-";
    std::string state = p.alive ? "running" : "stale";
    std::string version = "-";
    if (p.info.has_value()) {
      kind = KindName(p.info->kind());
      version = p.info->version().empty() ? "-" : p.info->version();
    } else if (p.alive) {
      state = "no-info";
    }
    absl::StrAppend(&out, absl::StrFormat("%-20s\t%-*s\t%-9s\t%-8s\t%s\n", p.name, width, p.address,
                                          kind, state, version));
  }
  return out;
}

std::string PluginsJson(const std::vector<PluginEntry>& plugins) {
  google::protobuf::ListValue list;
  for (const PluginEntry& p : plugins) {
    google::protobuf::Struct entry;
    auto& fields = *entry.mutable_fields();
    fields["name"].set_string_value(p.name);
    fields["listen"].set_string_value(p.address);
    fields["alive"].set_bool_value(p.alive);
    if (p.info.has_value()) {
      google::protobuf::Struct info;
      if (google::protobuf::util::JsonStringToMessage(ToJsonLine(*p.info), &info).ok()) {
        *fields["info"].mutable_struct_value() = std::move(info);
      }
    } else if (p.alive && !p.info_status.ok()) {
      fields["error"].set_string_value(std::string(p.info_status.message()));
    }
    *list.add_values()->mutable_struct_value() = std::move(entry);
  }
  return ToJson(list);
}

std::string FormatTags(const google::protobuf::Map<std::string, std::string>& tags) {
  std::vector<std::string> pairs;
  pairs.reserve(tags.size());
  for (const auto& [key, value] : tags) pairs.push_back(absl::StrCat(key, "=", value));
  std::sort(pairs.begin(), pairs.end());
  return absl::StrJoin(pairs, ",");
}

std::string InstanceTableHeader(bool with_properties) {
  std::string out = absl::StrFormat("%-30s\t%-15s %s", "ID", "LOGICAL", "TAGS");
  if (with_properties) absl::StrAppend(&out, "\tPROPERTIES");
  absl::StrAppend(&out, "\n");
  return out;
}

std::string InstanceTableRows(const iv1::DescribeResponse& response, bool with_properties) {
  std::string out;
  for (const iv1::Description& d : response.instances()) {
    absl::StrAppend(&out, absl::StrFormat("%-30s\t%-15s %s", d.id(), LogicalColumn(d.logical_id()),
                                          FormatTags(d.tags())));
    if (with_properties) {
      std::string properties = "{}";
      if (d.has_spec() && d.spec().has_properties()) {
        properties = Compact(d.spec().properties());
      } else if (d.has_properties()) {
        properties = Compact(d.properties());
      }
      absl::StrAppend(&out, "\t", properties);
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string InstanceTable(const iv1::DescribeResponse& response, bool with_properties) {
  return absl::StrCat(InstanceTableHeader(with_properties),
                      InstanceTableRows(response, with_properties));
}

std::string MemberTableHeader(bool long_format) {
  if (!long_format) return absl::StrFormat("%-30s\t%-15s %s\n", "ID", "LOGICAL", "TAGS");
  return absl::StrFormat("%-30s\t%-15s %-10s %-12s %s\n", "ID", "LOGICAL", "HEALTH", "STATE",
                         "TAGS");
}

std::string MemberTableRows(const gv1::InspectGroupResponse& response, bool long_format) {
  std::string out;
  for (const gv1::Member& m : response.members()) {
    if (!long_format) {
      absl::StrAppend(&out, absl::StrFormat("%-30s\t%-15s %s\n", m.id(),
                                            LogicalColumn(m.logical_id()), FormatTags(m.tags())));
      continue;
    }
    std::string health = ShortEnumName(infrakit::flavor::v1::Health_Name(m.health()), "HEALTH_");
    std::string state = ShortEnumName(iv1::LifecycleState_Name(m.state()), "LIFECYCLE_STATE_");
    if (m.outdated()) state = absl::StrCat(state == "-" ? "" : state + ",", "outdated");
    absl::StrAppend(
        &out, absl::StrFormat("%-30s\t%-15s %-10s %-12s %s\n", m.id(),
                              LogicalColumn(m.logical_id()), health, state, FormatTags(m.tags())));
  }
  return out;
}

std::string MemberTable(const gv1::InspectGroupResponse& response, bool long_format) {
  std::string out =
      absl::StrCat(MemberTableHeader(long_format), MemberTableRows(response, long_format));
  if (long_format) absl::StrAppend(&out, StatusLine(response.spec().id(), response.status()), "\n");
  return out;
}

std::string StatusLine(absl::string_view group, const gv1::GroupStatus& status) {
  std::string out =
      absl::StrCat(group, ": ", status.desired(), " desired, ", status.actual(), " actual, ",
                   status.healthy(), " healthy, ", status.outdated(), " outdated");
  if (status.provisioning() > 0)
    absl::StrAppend(&out, ", ", status.provisioning(), " provisioning");
  if (status.destroying() > 0) absl::StrAppend(&out, ", ", status.destroying(), " destroying");
  if (status.paused()) {
    absl::StrAppend(&out, "; update paused");
  } else if (status.updating()) {
    absl::StrAppend(&out, "; updating");
  } else if (status.stopped()) {
    // Members of both configs are what the group keeps now, not work left to do.
    absl::StrAppend(&out, "; update stopped");
  } else {
    absl::StrAppend(&out, status.converged() ? "; converged" : "; converging");
  }
  if (!status.waiting_for_plugin().empty()) {
    absl::StrAppend(&out, "; waiting for plugin ", status.waiting_for_plugin());
  }
  if (!status.last_error().empty()) absl::StrAppend(&out, "; last error: ", status.last_error());
  return out;
}

std::string GroupTableHeader() {
  return absl::StrFormat("%-30s\t%-8s %-8s %-8s %s\n", "ID", "DESIRED", "ACTUAL", "HEALTHY",
                         "STATUS");
}

std::string GroupTableRows(const gv1::ListGroupsResponse& response) {
  std::string out;
  for (const gv1::GroupSummary& g : response.groups()) {
    const gv1::GroupStatus& s = g.status();
    std::string status = s.paused()      ? "paused"
                         : s.updating()  ? "updating"
                         : s.stopped()   ? "stopped"
                         : s.converged() ? "converged"
                                         : "converging";
    if (!s.waiting_for_plugin().empty()) {
      status = absl::StrCat("waiting for ", s.waiting_for_plugin());
    }
    if (s.from_store()) {
      // A follower's answer, from its copy of the store: the live counts are the leader's.
      if (!s.paused() && !s.updating() && !s.stopped()) status = "stored";
      absl::StrAppend(&out, absl::StrFormat("%-30s\t%-8d %-8s %-8s %s\n", g.spec().id(),
                                            s.desired(), "-", "-", status));
      continue;
    }
    absl::StrAppend(&out, absl::StrFormat("%-30s\t%-8d %-8d %-8d %s\n", g.spec().id(), s.desired(),
                                          s.actual(), s.healthy(), status));
  }
  return out;
}

std::string GroupTable(const gv1::ListGroupsResponse& response) {
  return absl::StrCat(GroupTableHeader(), GroupTableRows(response));
}

std::string PlanText(const gv1::Plan& plan, bool verbose) {
  std::string out = absl::StrCat(plan.summary().empty() ? "Noop" : plan.summary(), "\n");
  if (!verbose) return out;
  for (const gv1::PlanStep& step : plan.steps()) {
    std::string line = step.description();
    if (line.empty()) {
      line = absl::StrCat(ShortEnumName(gv1::StepAction_Name(step.action()), "STEP_ACTION_"), " ",
                          step.instance_id().empty() ? "a new instance" : step.instance_id());
      if (!step.logical_id().empty()) absl::StrAppend(&line, " (", step.logical_id(), ")");
    }
    absl::StrAppend(&out, "  ", line, "\n");
  }
  return out;
}

std::string PhaseName(gv1::UpdatePhase phase) {
  return ShortEnumName(gv1::UpdatePhase_Name(phase), "UPDATE_PHASE_");
}

std::string ProgressLine(const gv1::UpdateGroupResponse& report) {
  std::string line = report.message().empty() ? PhaseName(report.phase()) : report.message();
  if (report.total() > 0) {
    absl::StrAppend(&line, " (", report.updated(), "/", report.total(), " updated)");
  }
  return line;
}

std::string EventLine(const gv1::GroupEvent& event) {
  const absl::Time time =
      absl::FromUnixSeconds(event.time().seconds()) + absl::Nanoseconds(event.time().nanos());
  const std::string type = absl::AsciiStrToUpper(
      ShortEnumName(gv1::GroupEventType_Name(event.type()), "GROUP_EVENT_TYPE_"));
  return absl::StrFormat("%s  %-12s  %-30s  %s",
                         absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", time, absl::LocalTimeZone()),
                         absl::StrReplaceAll(type, {{" ", "_"}}),
                         event.instance_id().empty() ? "-" : event.instance_id(), event.message());
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string out;
  // Printing a valid message cannot fail (it only fails on malformed Any fields, which the
  // InfraKit protos do not use).
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!absl::EndsWith(out, "\n")) out.push_back('\n');
  return out;
}

std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace infrakit::tools::infrakitctl
