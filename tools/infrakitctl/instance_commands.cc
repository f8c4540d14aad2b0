#include "tools/infrakitctl/instance_commands.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/instance_client.h"
#include "google/protobuf/struct.pb.h"
#include "tools/infrakitctl/command_context.h"
#include "tools/infrakitctl/exit_codes.h"
#include "tools/infrakitctl/output.h"

namespace infrakit::tools::infrakitctl {

namespace {

namespace iv1 = ::infrakit::instance::v1;

constexpr char kDefaultInstancePlugin[] = "instance-file";
constexpr char kInstanceService[] = "infrakit.instance.v1.InstanceService";

using Target = CommandContext::PluginTarget<client::InstanceClient>;

absl::StatusOr<Target> Connect(CommandContext& ctx) {
  return ctx.Connect<client::InstanceClient>(kDefaultInstancePlugin);
}

int CallFailed(CommandContext& ctx, const Target& target, const absl::Status& status) {
  return ctx.Fail(ctx.Explain(status, target.plugin, kInstanceService));
}

int Describe(CommandContext& ctx) {
  iv1::DescribeRequest request;
  for (const std::string& value : ctx.flags().All("tags")) {
    for (absl::string_view pair : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      if (kv.first.empty() || pair.find('=') == absl::string_view::npos) {
        return ctx.UsageError(
            absl::StrCat("--tags takes key=value pairs separated by commas, got \"", pair, "\""));
      }
      (*request.mutable_tags())[kv.first] = kv.second;
    }
  }
  request.set_include_properties(ctx.flags().Has("properties"));
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  if (ctx.json()) {  // One JSON document with every instance.
    auto response = target->client->Describe(request);
    if (!response.ok()) return CallFailed(ctx, *target, response.status());
    ctx.PrintJson(*response);
    return kExitOk;
  }
  // The table streams: each page's rows are printed as the page arrives.
  const bool quiet = ctx.flags().Has("quiet");
  const bool properties = ctx.flags().Has("properties");
  bool first = true;
  absl::Status status =
      target->client->DescribePages(request, [&](const iv1::DescribeResponse& page) {
        if (quiet) {
          for (const iv1::Description& d : page.instances()) ctx.out() << d.id() << "\n";
        } else {
          if (first) ctx.out() << InstanceTableHeader(properties);
          ctx.out() << InstanceTableRows(page, properties);
        }
        first = false;
        ctx.out() << std::flush;
      });
  if (!status.ok()) return CallFailed(ctx, *target, status);
  return kExitOk;
}

int Provision(CommandContext& ctx) {
  int code = kExitFailure;
  iv1::ProvisionRequest request;
  if (!ctx.ReadMessageArg(request.mutable_spec(), &code)) return code;
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  auto response = target->client->Provision(request);
  if (!response.ok()) return CallFailed(ctx, *target, response.status());
  if (ctx.json()) {
    ctx.PrintJson(*response);
  } else {
    ctx.out() << response->id() << std::endl;
  }
  return kExitOk;
}

int Destroy(CommandContext& ctx) {
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  iv1::DestroyRequest request;
  request.set_id(ctx.arg(0));
  request.set_reason(iv1::DESTROY_REASON_TERMINATE);
  if (absl::Status s = target->client->Destroy(request); !s.ok()) {
    return CallFailed(ctx, *target, s);
  }
  if (ctx.json()) {
    ctx.PrintJson(iv1::DestroyResponse());
  } else {
    ctx.out() << "destroyed " << ctx.arg(0) << std::endl;
  }
  return kExitOk;
}

int Validate(CommandContext& ctx) {
  int code = kExitFailure;
  iv1::ValidateRequest request;
  if (!ctx.ReadMessageArg(request.mutable_properties(), &code)) return code;
  absl::StatusOr<Target> target = Connect(ctx);
  if (!target.ok()) return ctx.Fail(target.status());
  if (absl::Status s = target->client->Validate(request); !s.ok()) {
    return CallFailed(ctx, *target, s);
  }
  if (ctx.json()) {
    ctx.PrintJson(iv1::ValidateResponse());
  } else {
    ctx.out() << "valid" << std::endl;
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> InstanceCommands() {
  std::vector<CommandSpec> commands;
  commands.push_back(
      {{"instance"},
       "",
       "Talk to an instance plugin directly",
       "An instance plugin creates, lists and destroys one kind of resource (files, processes,\n"
       "VMs) and knows nothing about groups.\n",
       {{"name", '\0', "NAME", "the instance plugin's name (default: \"instance-file\")"}},
       0,
       0,
       nullptr});
  commands.push_back(
      {{"instance", "describe"},
       "",
       "List the plugin's instances: ID, LOGICAL, TAGS",
       "Lists every instance, of all groups, whose tags include all the --tags given.\n",
       {{"tags", '\0', "K=V,...", "only instances with all these tags (repeatable)"},
        {"properties", '\0', "", "also show each instance's properties (a PROPERTIES column)"},
        {"quiet", 'q', "", "print the instance IDs only"}},
       0,
       0,
       Describe});
  commands.push_back(
      {{"instance", "provision"},
       "[FILE]",
       "Create one instance from a spec; prints its ID",
       "FILE ('-' or none: stdin) holds an instance spec, as in instance-file's files:\n"
       "  {\"Properties\": {...}, \"Tags\": {\"k\": \"v\"}, \"Init\": \"...\", \"LogicalID\": "
       "\"...\",\n"
       "   \"Attachments\": [{\"ID\": \"...\", \"Type\": \"...\"}], \"IdempotencyKey\": \"...\"}\n"
       "Key names may be written in any case (\"logical_id\", \"logicalId\" too). FILE may be\n"
       "YAML (.yaml / .yml, or stdin not starting with '{').\n",
       {},
       0,
       1,
       Provision});
  commands.push_back({{"instance", "destroy"},
                      "ID",
                      "Destroy one instance",
                      "Exit 3 when the plugin has no such instance.\n",
                      {},
                      1,
                      1,
                      Destroy});
  commands.push_back(
      {{"instance", "validate"},
       "[FILE]",
       "Check instance properties without creating anything",
       "FILE ('-' or none: stdin) holds the JSON object a group config has under\n"
       "Instance.Properties, e.g. {\"Note\": \"Instance properties version 1.0\"}, or the same\n"
       "in YAML (.yaml / .yml, or stdin not starting with '{').\n",
       {},
       0,
       1,
       Validate});
  return commands;
}

}  // namespace infrakit::tools::infrakitctl
