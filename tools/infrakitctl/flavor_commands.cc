#include "tools/infrakitctl/flavor_commands.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "client/flavor_client.h"
#include "tools/infrakitctl/command_context.h"
#include "tools/infrakitctl/exit_codes.h"
#include "tools/infrakitctl/output.h"

namespace infrakit::tools::infrakitctl {

namespace {

namespace fv1 = ::infrakit::flavor::v1;

constexpr char kDefaultFlavorPlugin[] = "flavor-vanilla";
constexpr char kFlavorService[] = "infrakit.flavor.v1.FlavorService";

using Target = CommandContext::PluginTarget<client::FlavorClient>;

absl::StatusOr<Target> Connect(CommandContext& ctx) {
  return ctx.Connect<client::FlavorClient>(kDefaultFlavorPlugin);
}

int CallFailed(CommandContext& ctx, const Target& target, const absl::Status& status) {
  return ctx.Fail(ctx.Explain(status, target.plugin, kFlavorService));
}

int Validate(CommandContext& ctx) {
  int code = kExitFailure;
  fv1::ValidateRequest request;
  if (!ctx.ReadMessageArg(&request, &code)) return code;
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  if (absl::Status s = target->client->Validate(request); !s.ok()) {
    return CallFailed(ctx, *target, s);
  }
  if (ctx.json()) {
    ctx.PrintJson(fv1::ValidateResponse());
  } else {
    ctx.out() << "valid" << std::endl;
  }
  return kExitOk;
}

int Prepare(CommandContext& ctx) {
  int code = kExitFailure;
  fv1::PrepareRequest request;
  if (!ctx.ReadMessageArg(&request, &code)) return code;
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  auto response = target->client->Prepare(request);
  if (!response.ok()) return CallFailed(ctx, *target, response.status());
  // The prepared spec is JSON in either format: it is what the plugin hands to Provision.
  if (ctx.json()) {
    ctx.PrintJson(*response);
  } else {
    ctx.PrintJson(response->spec());
  }
  return kExitOk;
}

int Healthy(CommandContext& ctx) {
  int code = kExitFailure;
  fv1::HealthyRequest request;
  if (!ctx.ReadMessageArg(&request, &code)) return code;
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  auto response = target->client->Healthy(request);
  if (!response.ok()) return CallFailed(ctx, *target, response.status());
  if (ctx.json()) {
    ctx.PrintJson(*response);
  } else {
    std::string verdict = "unknown";
    if (response->health() == fv1::HEALTH_HEALTHY) verdict = "healthy";
    if (response->health() == fv1::HEALTH_UNHEALTHY) verdict = "unhealthy";
    ctx.out() << verdict << (response->reason().empty() ? "" : ": ") << response->reason()
              << std::endl;
  }
  return response->health() == fv1::HEALTH_HEALTHY ? kExitOk : kExitFailure;
}

constexpr char kInputNames[] =
    "Key names may be written in any case (\"logical_ids\", \"LogicalIDs\"); an Allocation is\n"
    "{\"Size\": N} or {\"LogicalIDs\": [\"a\", \"b\"]}.\n";

}  // namespace

std::vector<CommandSpec> FlavorCommands() {
  std::vector<CommandSpec> commands;
  commands.push_back(
      {{"flavor"},
       "",
       "Ask a flavor plugin directly what it would do",
       "A flavor plugin says what runs on an instance (init lines, tags) and whether it is\n"
       "healthy. Each verb reads one JSON object from FILE ('-' or none: stdin), or the same\n"
       "in YAML (.yaml / .yml, or stdin not starting with '{').\n",
       {{"name", '\0', "NAME", "the flavor plugin's name (default: \"flavor-vanilla\")"}},
       0,
       0,
       nullptr});
  commands.push_back(
      {{"flavor", "validate"},
       "[FILE]",
       "Check flavor properties against an allocation",
       absl::StrCat("Input: {\"Properties\": {...the config's Flavor.Properties...},\n"
                    "        \"Allocation\": {\"Size\": 5}}\n",
                    kInputNames),
       {},
       0,
       1,
       Validate});
  commands.push_back(
      {{"flavor", "prepare"},
       "[FILE]",
       "Show the instance spec the flavor makes of a group's spec (JSON)",
       absl::StrCat(
           "Input: {\"Properties\": {...}, \"Spec\": {\"Properties\": {...}, \"Tags\": {...}},\n"
           "        \"Allocation\": {\"Size\": 5}, \"Index\": {\"Group\": \"cattle\", "
           "\"Sequence\": 1}}\n"
           "Prints the prepared spec (with --output json, the whole response).\n",
           kInputNames),
       {},
       0,
       1,
       Prepare});
  commands.push_back(
      {{"flavor", "healthy"},
       "[FILE]",
       "Ask whether an instance is healthy (exit 0 only when it is)",
       absl::StrCat("Input: {\"Properties\": {...},\n"
                    "        \"Instance\": {\"ID\": \"instance-1\", \"Tags\": {...}}}\n"
                    "Prints healthy, unhealthy: REASON or unknown: REASON; exits 0 for healthy, "
                    "1 otherwise.\n",
                    kInputNames),
       {},
       0,
       1,
       Healthy});
  return commands;
}

}  // namespace infrakit::tools::infrakitctl
