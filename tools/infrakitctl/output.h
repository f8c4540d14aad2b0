// What infrakitctl prints: the original InfraKit's tables, the plan, update progress and events,
// and protobuf JSON for `--output json`. Pure functions of the responses, so the exact shapes the
// original shows are unit-tested without any plugin.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_OUTPUT_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_OUTPUT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/discovery/discovery.h"
#include "google/protobuf/map.h"
#include "google/protobuf/message.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::tools::infrakitctl {

// `plugin ls`, as the original InfraKit prints it:
//   Plugins:
//   NAME                	LISTEN
//   flavor-vanilla      	unix:///run/infrakit/plugins/flavor-vanilla.sock
// (name padded to 20, a tab, the address). `long_format` adds KIND, STATE (running, stale, or
// "no-info" for a live socket that did not answer PluginService.Info) and VERSION columns, the
// LISTEN column then padded to its widest address.
std::string PluginTable(const std::vector<client::discovery::PluginEntry>& plugins,
                        bool long_format);

// `plugin ls --output json`: [{"name", "listen", "alive", "info": {InfoResponse}, "error"}].
std::string PluginsJson(const std::vector<client::discovery::PluginEntry>& plugins);

// Tags as the original InfraKit prints them: "k=v" sorted by key and joined with ",".
std::string FormatTags(const google::protobuf::Map<std::string, std::string>& tags);

// The original InfraKit's instance table:
//   ID                            	LOGICAL         TAGS
//   instance-1475045378           	  - infrakit.config_sha=...,infrakit.group=cattle,...
// (ID padded to 30, a tab, the logical ID or "  -" padded to 15, a space, the tags).
// `with_properties` adds a tab and a PROPERTIES column: the instance's spec properties (or, for
// plugins that report only runtime properties, those) as one-line JSON.
std::string InstanceTable(const infrakit::instance::v1::DescribeResponse& response,
                          bool with_properties);
// The table's header line, and the rows of one page without it: a paged listing prints the
// header once and each page's rows as the page arrives (the same text as InstanceTable).
std::string InstanceTableHeader(bool with_properties);
std::string InstanceTableRows(const infrakit::instance::v1::DescribeResponse& response,
                              bool with_properties);

// `group inspect`: the members in the instance table (InstanceTable). `long_format` adds HEALTH and
// STATE columns before TAGS and a status line at the end (StatusLine).
std::string MemberTable(const infrakit::group::v1::InspectGroupResponse& response,
                        bool long_format);
// The member table's header and one page's rows (without the status line), for paged output.
std::string MemberTableHeader(bool long_format);
std::string MemberTableRows(const infrakit::group::v1::InspectGroupResponse& response,
                            bool long_format);

// One line: "cattle: 5 desired, 5 actual, 4 healthy, 1 outdated, converging; waiting for
// plugin instance-file; last error: ...".
std::string StatusLine(absl::string_view group, const infrakit::group::v1::GroupStatus& status);

// `group ls`: ID padded to 30, a tab, DESIRED, ACTUAL, HEALTHY and STATUS (converged,
// converging, updating, paused, waiting for <plugin>).
std::string GroupTable(const infrakit::group::v1::ListGroupsResponse& response);
// The group table's header and one page's rows, for paged output.
std::string GroupTableHeader();
std::string GroupTableRows(const infrakit::group::v1::ListGroupsResponse& response);

// `group describe`: the plan's summary ("Noop", "Performs a rolling update of 3 instances");
// with `verbose`, one indented line per step after it.
std::string PlanText(const infrakit::group::v1::Plan& plan, bool verbose);

// One progress report of `group update`, as a line without newline: the report's message and,
// when the update has a total, "(updated/total updated)".
std::string ProgressLine(const infrakit::group::v1::UpdateGroupResponse& report);

// The lowercase name of an update phase: "completed", "paused", "rolled back", ...
std::string PhaseName(infrakit::group::v1::UpdatePhase phase);

// One event of `group events`: "<RFC 3339 time>  <TYPE padded>  <instance or ->  <message>".
std::string EventLine(const infrakit::group::v1::GroupEvent& event);

// Protobuf JSON of a response for `--output json`: camelCase names, fields with default values
// included (so scripts see "healthy": 0), two-space indentation, a final newline.
std::string ToJson(const google::protobuf::Message& message);

// Like ToJson, on one line (for streams: one JSON object per line).
std::string ToJsonLine(const google::protobuf::Message& message);

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_OUTPUT_H_
