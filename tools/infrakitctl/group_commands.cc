#include "tools/infrakitctl/group_commands.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/config/group_config.h"
#include "client/group_client.h"
#include "common/config_text.h"
#include "spec/group_spec.h"
#include "tools/infrakitctl/command_context.h"
#include "tools/infrakitctl/exit_codes.h"
#include "tools/infrakitctl/output.h"

namespace infrakit::tools::infrakitctl {

namespace {

namespace gv1 = ::infrakit::group::v1;

constexpr char kDefaultGroupPlugin[] = "group";
constexpr char kGroupService[] = "infrakit.group.v1.GroupService";

// A group plugin reached by name: --name, else the config's "plugin", else "group".
struct Target {
  std::string plugin;
  std::unique_ptr<client::GroupClient> client;
};

absl::StatusOr<Target> Connect(CommandContext& ctx, absl::string_view config_plugin = "") {
  Target target;
  target.plugin = ctx.flags().Get(
      "name", config_plugin.empty() ? absl::string_view(kDefaultGroupPlugin) : config_plugin);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ctx.Dial(target.plugin);
  if (!channel.ok()) return channel.status();
  target.client = std::make_unique<client::GroupClient>(*std::move(channel), ctx.timeout());
  return target;
}

// A failed group call. For verbs naming a group by ID, NOT_FOUND (an unknown group or member)
// gets a pointer to `group ls`; for verbs sending a config it may as well be about a plugin the
// config names, and the group plugin's message says which.
int CallFailed(CommandContext& ctx, const Target& target, const absl::Status& status,
               bool by_id = true) {
  absl::Status explained = ctx.Explain(status, target.plugin, kGroupService);
  if (by_id && explained.code() == absl::StatusCode::kNotFound) {
    return ctx.Fail(kExitNotFound, absl::StrCat(explained.message(), " ('infrakitctl group ls",
                                                target.plugin == kDefaultGroupPlugin
                                                    ? std::string()
                                                    : absl::StrCat(" --name ", target.plugin),
                                                "' lists the watched groups)"));
  }
  return ctx.Fail(explained);
}

// Reads and parses the config named by the first argument (or stdin), JSON or YAML by the file's
// extension, else by its text.
absl::StatusOr<client::config::ParsedConfig> ReadConfig(CommandContext& ctx, int* exit_code) {
  std::string source;
  absl::StatusOr<std::string> text = ctx.ReadInput(ctx.arg(0), &source);
  if (!text.ok()) {
    *exit_code = ctx.Fail(kExitUsage, text.status().message());
    return text.status();
  }
  absl::StatusOr<client::config::ParsedConfig> config =
      client::config::ParseConfig(*text, common::FormatForPath(ctx.arg(0)));
  if (!config.ok()) {
    *exit_code = ctx.Fail(kExitFailure, absl::StrCat(source, ": ", config.status().message()));
    return config.status();
  }
  return config;
}

int PrintWatching(CommandContext& ctx, const gv1::WatchGroupResponse& response,
                  const std::string& id) {
  if (ctx.json()) {
    ctx.PrintJson(response);
  } else {
    ctx.out() << (response.message().empty() ? absl::StrCat("watching ", id) : response.message())
              << std::endl;
  }
  return kExitOk;
}

int Watch(CommandContext& ctx) {
  int code = kExitFailure;
  absl::StatusOr<client::config::ParsedConfig> config = ReadConfig(ctx, &code);
  if (!config.ok()) return code;
  absl::StatusOr<Target> target = Connect(ctx, config->group_plugin);
  if (!target.ok()) return ctx.Fail(target.status());
  gv1::WatchGroupRequest request;
  *request.mutable_spec() = config->spec;
  auto response = target->client->WatchGroup(request);
  if (!response.ok()) return CallFailed(ctx, *target, response.status(), /*by_id=*/false);
  return PrintWatching(ctx, *response, config->spec.id());
}

int Unwatch(CommandContext& ctx) {
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  gv1::UnwatchGroupRequest request;
  request.set_id(ctx.arg(0));
  auto response = target->client->UnwatchGroup(request);
  if (!response.ok()) return CallFailed(ctx, *target, response.status());
  if (ctx.json()) {
    ctx.PrintJson(*response);
  } else {
    ctx.out() << "unwatched " << ctx.arg(0) << " (its instances keep running)" << std::endl;
  }
  return kExitOk;
}

int Inspect(CommandContext& ctx) {
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  gv1::InspectGroupRequest request;
  request.set_id(ctx.arg(0));
  if (ctx.json()) {  // One JSON document with every member.
    auto response = target->client->InspectGroup(request);
    if (!response.ok()) return CallFailed(ctx, *target, response.status());
    ctx.PrintJson(*response);
    return kExitOk;
  }
  // The table streams: each page's rows as the page arrives; with --long, the status line of
  // the last page at the end.
  const bool long_format = ctx.flags().Has("long");
  bool first = true;
  gv1::InspectGroupResponse last;
  absl::Status status =
      target->client->InspectGroupPages(request, [&](const gv1::InspectGroupResponse& page) {
        if (first) ctx.out() << MemberTableHeader(long_format);
        first = false;
        ctx.out() << MemberTableRows(page, long_format) << std::flush;
        *last.mutable_spec() = page.spec();
        *last.mutable_status() = page.status();
      });
  if (!status.ok()) return CallFailed(ctx, *target, status);
  if (long_format) ctx.out() << StatusLine(last.spec().id(), last.status()) << std::endl;
  return kExitOk;
}

int PrintPlan(CommandContext& ctx, const gv1::DescribeUpdateResponse& response) {
  if (ctx.json()) {
    ctx.PrintJson(response);
  } else {
    ctx.out() << PlanText(response.plan(), ctx.flags().Has("long") || ctx.flags().Has("verbose"))
              << std::flush;
  }
  return kExitOk;
}

int Describe(CommandContext& ctx) {
  int code = kExitFailure;
  absl::StatusOr<client::config::ParsedConfig> config = ReadConfig(ctx, &code);
  if (!config.ok()) return code;
  absl::StatusOr<Target> target = Connect(ctx, config->group_plugin);
  if (!target.ok()) return ctx.Fail(target.status());
  gv1::DescribeUpdateRequest request;
  *request.mutable_spec() = config->spec;
  auto response = target->client->DescribeUpdate(request);
  if (!response.ok()) return CallFailed(ctx, *target, response.status(), /*by_id=*/false);
  return PrintPlan(ctx, *response);
}

// Whether `phase` ends an update stream. ROLLING_BACK does not: the rollback's progress
// follows, then ROLLED_BACK (or PAUSED when the rollback fails too).
bool IsFinal(gv1::UpdatePhase phase) {
  return phase != gv1::UPDATE_PHASE_UNSPECIFIED && phase != gv1::UPDATE_PHASE_STARTED &&
         phase != gv1::UPDATE_PHASE_PROGRESS && phase != gv1::UPDATE_PHASE_ROLLING_BACK;
}

// An update that ended without completing, as an error: how it ended and what to do.
int UpdateFailed(CommandContext& ctx, const std::string& id,
                 const gv1::UpdateGroupResponse& final_report) {
  std::string what;
  switch (final_report.phase()) {
    case gv1::UPDATE_PHASE_PAUSED:
      what = absl::StrCat(
          "; the group keeps the members it has: fix the cause and run "
          "'infrakitctl group update' again, or 'infrakitctl group stop ",
          id, "'");
      break;
    case gv1::UPDATE_PHASE_ROLLED_BACK:
      what = "; the group is back on its previous config";
      break;
    case gv1::UPDATE_PHASE_STOPPED:
      what = "; the group keeps the members it has";
      break;
    case gv1::UPDATE_PHASE_SUPERSEDED:
      what = "; a newer update of the group took over";
      break;
    default:
      break;
  }
  return ctx.Fail(
      kExitFailure,
      absl::StrCat("the update of ", id, " ", PhaseName(final_report.phase()),
                   final_report.message().empty() ? "" : ": ", final_report.message(), what,
                   " ('infrakitctl group inspect ", id, " --long' shows the members)"));
}

// Sends UpdateGroup for `spec` and follows its progress until the update ends (exit 0 only when
// it completes).
int FollowUpdate(CommandContext& ctx, const Target& target, const gv1::GroupSpec& spec) {
  const std::string id = spec.id();
  gv1::UpdateGroupRequest request;
  *request.mutable_spec() = spec;

  client::StreamCancelToken cancel;
  Interrupts::Scope scope = ctx.interrupts().Handle([&cancel](int) { cancel.Cancel(); });
  // On a terminal the progress is one line rewritten in place; elsewhere (a log, a pipe) one
  // line per report.
  const bool live = ctx.out_is_terminal() && !ctx.json();
  bool live_line_open = false;
  std::optional<gv1::UpdateGroupResponse> final_report;
  absl::Status status = target.client->UpdateGroup(
      request,
      [&](const gv1::UpdateGroupResponse& report) {
        if (IsFinal(report.phase())) final_report = report;
        if (ctx.json()) {
          ctx.out() << ToJsonLine(report) << std::endl;
        } else if (live) {
          ctx.out() << "\r\033[K" << id << ": " << ProgressLine(report) << std::flush;
          live_line_open = true;
        } else {
          ctx.out() << id << ": " << ProgressLine(report) << std::endl;
        }
      },
      &cancel);
  if (live_line_open) ctx.out() << std::endl;
  if (cancel.cancelled()) {
    return ctx.Fail(kExitInterrupted,
                    absl::StrCat("stopped following the update of ", id,
                                 "; the update goes on ('infrakitctl group inspect ", id,
                                 " --long' shows it, 'infrakitctl group stop ", id, "' stops it)"));
  }
  if (!status.ok()) return CallFailed(ctx, target, status, /*by_id=*/false);
  if (!final_report.has_value()) {
    return ctx.Fail(kExitFailure,
                    absl::StrCat("the update stream of ", id,
                                 " ended before the update finished; 'infrakitctl group inspect ",
                                 id, " --long' shows where it stands"));
  }
  if (final_report->phase() == gv1::UPDATE_PHASE_COMPLETED) return kExitOk;
  return UpdateFailed(ctx, id, *final_report);
}

int Update(CommandContext& ctx) {
  int code = kExitFailure;
  absl::StatusOr<client::config::ParsedConfig> config = ReadConfig(ctx, &code);
  if (!config.ok()) return code;
  absl::StatusOr<Target> target = Connect(ctx, config->group_plugin);
  if (!target.ok()) return ctx.Fail(target.status());
  return FollowUpdate(ctx, *target, config->spec);
}

// What describe would say of a group that is not watched yet: every member is created.
gv1::DescribeUpdateResponse WatchPlan(const gv1::GroupSpec& spec) {
  gv1::DescribeUpdateResponse response;
  gv1::Plan& plan = *response.mutable_plan();
  plan.set_config_sha(spec::ConfigSha(spec));
  const std::string short_sha = plan.config_sha().substr(0, 8);
  std::vector<std::string> logical_ids(spec.allocation().logical_ids().ids().begin(),
                                       spec.allocation().logical_ids().ids().end());
  if (logical_ids.empty()) logical_ids.resize(spec.allocation().size());
  for (const std::string& lid : logical_ids) {
    gv1::PlanStep* step = plan.add_steps();
    step->set_action(gv1::STEP_ACTION_CREATE);
    step->set_logical_id(lid);
    step->set_description(lid.empty() ? absl::StrCat("add an instance on config ", short_sha)
                                      : absl::StrCat("add the instance of logical ID ", lid,
                                                     " on config ", short_sha));
  }
  const int64_t n = static_cast<int64_t>(logical_ids.size());
  plan.set_creates(n);
  plan.set_summary(n == 0 ? "Noop" : absl::StrCat("Adds ", n, n == 1 ? " instance" : " instances"));
  return response;
}

// commit --pretend: describe's answer for a watched group; for one not watched yet, the plan of
// watching it (the config is checked here, not by its plugins: only watching asks them).
int PretendCommit(CommandContext& ctx, const Target& target, const gv1::GroupSpec& spec) {
  gv1::DescribeUpdateRequest request;
  *request.mutable_spec() = spec;
  auto response = target.client->DescribeUpdate(request);
  if (response.ok()) return PrintPlan(ctx, *response);
  if (response.status().code() != absl::StatusCode::kNotFound) {
    return CallFailed(ctx, target, response.status(), /*by_id=*/false);
  }
  // NOT_FOUND may be about the group or about something the config names: ask about the group.
  gv1::InspectGroupRequest inspect;
  inspect.set_id(spec.id());
  inspect.set_page_size(1);  // Whether it is watched; no need for its members.
  auto watched = target.client->InspectGroupPage(inspect);
  if (watched.ok() || watched.status().code() != absl::StatusCode::kNotFound) {
    return CallFailed(ctx, target, response.status(), /*by_id=*/false);
  }
  if (!ctx.json()) {
    ctx.out() << spec.id() << " is not watched yet: committing watches it" << std::endl;
  }
  return PrintPlan(ctx, WatchPlan(spec));
}

// The original InfraKit's commit: watch the group when it is not watched yet, else update it.
// Watching first and updating on ALREADY_EXISTS leaves the choice to the group plugin, so two
// commits at once cannot both watch.
int Commit(CommandContext& ctx) {
  int code = kExitFailure;
  absl::StatusOr<client::config::ParsedConfig> config = ReadConfig(ctx, &code);
  if (!config.ok()) return code;
  absl::StatusOr<Target> target = Connect(ctx, config->group_plugin);
  if (!target.ok()) return ctx.Fail(target.status());
  if (ctx.flags().Has("pretend")) return PretendCommit(ctx, *target, config->spec);
  gv1::WatchGroupRequest request;
  *request.mutable_spec() = config->spec;
  auto response = target->client->WatchGroup(request);
  if (response.ok()) return PrintWatching(ctx, *response, config->spec.id());
  if (response.status().code() != absl::StatusCode::kAlreadyExists) {
    return CallFailed(ctx, *target, response.status(), /*by_id=*/false);
  }
  return FollowUpdate(ctx, *target, config->spec);
}

int Stop(CommandContext& ctx) {
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  gv1::StopUpdateRequest request;
  request.set_id(ctx.arg(0));
  auto response = target->client->StopUpdate(request);
  // No update running is what the user asked for: say so and succeed. The group service says
  // it with FAILED_PRECONDITION; other refusals of that code keep their exit code.
  const bool nothing_to_stop =
      absl::IsFailedPrecondition(response.status()) &&
      absl::StrContains(response.status().message(), "has no update in progress");
  if (!response.ok() && !nothing_to_stop) return CallFailed(ctx, *target, response.status());
  if (ctx.json()) {
    ctx.PrintJson(response.ok() ? *response : gv1::StopUpdateResponse());
  } else if (nothing_to_stop) {
    ctx.out() << ctx.arg(0) << ": no update in progress; nothing to stop" << std::endl;
  } else {
    ctx.out() << "stopped the update of " << ctx.arg(0) << std::endl;
  }
  return kExitOk;
}

int Destroy(CommandContext& ctx) {
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  gv1::DestroyGroupRequest request;
  request.set_id(ctx.arg(0));
  auto response = target->client->DestroyGroup(request);
  if (!response.ok()) return CallFailed(ctx, *target, response.status());
  if (ctx.json()) {
    ctx.PrintJson(*response);
  } else {
    ctx.out() << "destroyed " << ctx.arg(0) << " (" << response->destroyed()
              << (response->destroyed() == 1 ? " instance)" : " instances)") << std::endl;
  }
  return kExitOk;
}

int List(CommandContext& ctx) {
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  if (ctx.json()) {  // One JSON document with every group.
    auto response = target->client->ListGroups(gv1::ListGroupsRequest());
    if (!response.ok()) return CallFailed(ctx, *target, response.status());
    ctx.PrintJson(*response);
    return kExitOk;
  }
  // The table streams: each page's rows are printed as the page arrives.
  const bool quiet = ctx.flags().Has("quiet");
  bool first = true;
  absl::Status status = target->client->ListGroupsPages(
      gv1::ListGroupsRequest(), [&](const gv1::ListGroupsResponse& page) {
        if (quiet) {
          for (const gv1::GroupSummary& g : page.groups()) ctx.out() << g.spec().id() << "\n";
        } else {
          if (first) ctx.out() << GroupTableHeader();
          ctx.out() << GroupTableRows(page);
        }
        first = false;
        ctx.out() << std::flush;
      });
  if (!status.ok()) return CallFailed(ctx, *target, status);
  return kExitOk;
}

int Scale(CommandContext& ctx) {
  int64_t size = 0;
  if (!absl::SimpleAtoi(ctx.arg(1), &size) || size < 0) {
    return ctx.UsageError(
        absl::StrCat("the size must be a whole number >= 0, got \"", ctx.arg(1), "\""));
  }
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  gv1::SetSizeRequest request;
  request.set_id(ctx.arg(0));
  request.set_size(size);
  auto response = target->client->SetSize(request);
  if (!response.ok()) return CallFailed(ctx, *target, response.status());
  if (ctx.json()) {
    ctx.PrintJson(*response);
  } else {
    ctx.out() << ctx.arg(0) << ": size " << response->previous_size() << " -> " << size
              << std::endl;
  }
  return kExitOk;
}

int DestroyInstances(CommandContext& ctx) {
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  gv1::DestroyInstancesRequest request;
  request.set_id(ctx.arg(0));
  for (size_t i = 1; i < ctx.args().size(); ++i) request.add_instance_ids(ctx.args()[i]);
  auto response = target->client->DestroyInstances(request);
  if (!response.ok()) return CallFailed(ctx, *target, response.status());
  if (ctx.json()) {
    ctx.PrintJson(*response);
  } else {
    ctx.out() << "destroyed " << absl::StrJoin(response->destroyed(), ", ") << "; " << ctx.arg(0)
              << " now has size " << response->size() << std::endl;
  }
  return kExitOk;
}

int Events(CommandContext& ctx) {
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  gv1::StreamGroupEventsRequest request;
  request.set_id(ctx.arg(0));
  client::StreamCancelToken cancel;
  Interrupts::Scope scope = ctx.interrupts().Handle([&cancel](int) { cancel.Cancel(); });
  absl::Status status = target->client->StreamGroupEvents(
      request,
      [&ctx](const gv1::GroupEvent& event) {
        ctx.out() << (ctx.json() ? ToJsonLine(event) : EventLine(event)) << std::endl;
      },
      &cancel);
  if (!status.ok()) return CallFailed(ctx, *target, status);
  // Ctrl-C is the normal way to stop following; the stream also ends when the group goes.
  if (!cancel.cancelled() && !ctx.json()) {
    ctx.out() << "the event stream of " << ctx.arg(0) << " ended (the group was destroyed)"
              << std::endl;
  }
  return kExitOk;
}

const char kConfigDetails[] =
    "FILE is a group config in any of its three forms (nested Instance / Flavor, the\n"
    "flat InstancePlugin / FlavorPlugin form, or the lower-case id / plugin / properties form),\n"
    "in JSON or YAML (.yaml / .yml: YAML, .json: JSON, else told by the text); '-' or no FILE\n"
    "reads it from stdin, as in the tutorial's heredocs. The group plugin is --name when given,\n"
    "else the config's \"plugin\", else \"group\".\n";

// The group itself, and the verbs that start and stop managing a group.
void AddWatchVerbs(std::vector<CommandSpec>* commands) {
  commands->push_back(
      {{"group"},
       "",
       "Manage groups through a group plugin",
       "A group plugin (the default one is named \"group\") makes a declared group real and\n"
       "keeps it real: it creates missing instances, removes extras, replaces what dies and\n"
       "rolls config changes through the group.\n",
       {{"name", '\0', "NAME",
         "the group plugin's name (default: the config's \"plugin\", else \"group\")"}},
       0,
       0,
       nullptr});
  commands->push_back({{"group", "watch"},
                       "[FILE]",
                       "Start managing the group a config declares (prints \"watching ID\")",
                       kConfigDetails,
                       {},
                       0,
                       1,
                       Watch});
  commands->push_back({{"group", "unwatch"},
                       "ID",
                       "Stop managing a group; its instances keep running",
                       "",
                       {},
                       1,
                       1,
                       Unwatch});
  commands->push_back({{"group", "free"},
                       "ID",
                       "Stop managing a group; its instances keep running (= unwatch)",
                       "The original InfraKit's name for 'group unwatch'.\n",
                       {},
                       1,
                       1,
                       Unwatch});
  commands->push_back(
      {{"group", "commit"},
       "[FILE]",
       "Watch the group FILE declares, or update it if it is watched already",
       absl::StrCat(
           kConfigDetails,
           "The original InfraKit's commit. A group not watched yet is watched (prints\n"
           "\"watching ID\"); a watched one is updated as 'group update' does it (progress until\n"
           "done, the same exit codes). With --pretend nothing changes: it prints what 'group\n"
           "describe' would (--long or -v: the steps); for a group not watched yet, the plan of\n"
           "watching it, the config checked by infrakitctl but not yet by its plugins.\n"),
       {{"pretend", '\0', "", "print what committing would do; change nothing"},
        {"long", 'l', "", "with --pretend: list the plan's steps"},
        {"verbose", 'v', "", "same as --long"}},
       0,
       1,
       Commit});
}

// The verbs that look at a group and roll it to a new config.
void AddUpdateVerbs(std::vector<CommandSpec>* commands) {
  const FlagSpec long_flag = {"long", 'l', "", "more columns and a status line"};
  commands->push_back(
      {{"group", "inspect"},
       "ID",
       "List a group's members: ID, LOGICAL, TAGS",
       "With --long, also each member's health and state, and the group's status.\n",
       {long_flag},
       1,
       1,
       Inspect});
  commands->push_back(
      {{"group", "describe"},
       "[FILE]",
       "Show what updating the group to FILE would do (\"Noop\", \"Performs a rolling update of "
       "3 instances\")",
       absl::StrCat(kConfigDetails, "Nothing is changed. --long (or -v) lists the steps.\n"),
       {long_flag, {"verbose", 'v', "", "same as --long: list the plan's steps"}},
       0,
       1,
       Describe});
  commands->push_back(
      {{"group", "update"},
       "[FILE]",
       "Roll the group to the config in FILE, showing progress until it is done",
       absl::StrCat(kConfigDetails,
                    "Blocks until the update completes. Exits 1 if the update pauses (a new\n"
                    "member was not healthy in time), rolls back, is stopped or is superseded.\n"
                    "A rollback is followed to its end: \"rolling back\" and its progress are\n"
                    "shown until the group is back on its previous config.\n"
                    "Ctrl-C stops following the update (exit 130) but not the update itself:\n"
                    "'infrakitctl group stop ID' does that.\n"),
       {},
       0,
       1,
       Update});
  commands->push_back(
      {{"group", "stop"},
       "ID",
       "Stop a running update where it is",
       "The group keeps the members of both configs at its size and shows as \"stopped\" in\n"
       "'group ls' until the next update. With no update running there is nothing to stop:\n"
       "it says so and exits 0.\n",
       {},
       1,
       1,
       Stop});
  commands->push_back({{"group", "destroy"},
                       "ID",
                       "Destroy every member of a group and forget the group",
                       "",
                       {},
                       1,
                       1,
                       Destroy});
}

// The verbs that list, resize and follow groups.
void AddOperateVerbs(std::vector<CommandSpec>* commands) {
  commands->push_back({{"group", "ls"},
                       "",
                       "List the watched groups with their status",
                       "",
                       {{"quiet", 'q', "", "print the group IDs only"}},
                       0,
                       0,
                       List});
  commands->push_back({{"group", "scale"},
                       "ID N",
                       "Set the size of a group of cattle at once",
                       "",
                       {},
                       2,
                       2,
                       Scale});
  commands->push_back({{"group", "destroy-instances"},
                       "ID INSTANCE...",
                       "Destroy some members; the group's size drops by as many",
                       "Nothing is destroyed if one of them is not a member (exit 3).\n",
                       {},
                       2,
                       -1,
                       DestroyInstances});
  commands->push_back({{"group", "events"},
                       "ID",
                       "Follow a group's events (created, destroyed, health, update steps)",
                       "Runs until Ctrl-C (exit 0) or until the group is destroyed. With --output "
                       "json,\none JSON object per line.\n",
                       {},
                       1,
                       1,
                       Events});
}

}  // namespace

std::vector<CommandSpec> GroupCommands() {
  std::vector<CommandSpec> commands;
  AddWatchVerbs(&commands);
  AddUpdateVerbs(&commands);
  AddOperateVerbs(&commands);
  return commands;
}

}  // namespace infrakit::tools::infrakitctl
