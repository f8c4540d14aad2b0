#include "tools/infrakitctl/cli.h"

#include <stdlib.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/unary_call.h"
#include "services/runtime/paths.h"
#include "tools/infrakitctl/completion.h"
#include "tools/infrakitctl/exit_codes.h"
#include "tools/infrakitctl/flavor_commands.h"
#include "tools/infrakitctl/group_commands.h"
#include "tools/infrakitctl/instance_commands.h"
#include "tools/infrakitctl/plugin_binaries.h"
#include "tools/infrakitctl/plugin_commands.h"
#include "tools/version/version_info.h"

namespace infrakit::tools::infrakitctl {

namespace {

constexpr char kProgram[] = "infrakitctl";

// A JSON string literal (the values here are plain ASCII; quotes and backslashes escaped).
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// The version JSON, as every InfraKit binary prints it (services/runtime's VersionJson).
int Version(CommandContext& ctx) {
  ctx.out() << "{\n    \"name\": " << JsonString(kProgram)
            << ",\n    \"revision\": " << JsonString(version::Revision())
            << ",\n    \"type\": " << JsonString("infrakit.Cli/1.0")
            << ",\n    \"version\": " << JsonString(version::Version()) << "\n}" << std::endl;
  return kExitOk;
}

int Completion(CommandContext& ctx) {
  if (ctx.arg(0) != "bash") {
    return ctx.UsageError(
        absl::StrCat("completion is available for bash only, not \"", ctx.arg(0), "\""));
  }
  ctx.out() << BashCompletion(ctx.table()) << std::flush;
  return kExitOk;
}

int Help(CommandContext& ctx) {
  const CommandSpec* command = ctx.table().Find(ctx.args());
  if (command == nullptr) {
    return ctx.UsageError(
        absl::StrCat("there is no command \"", absl::StrJoin(ctx.args(), " "), "\""));
  }
  ctx.out() << ctx.table().Help(*command) << std::flush;
  return kExitOk;
}

std::string RootDetails() {
  return absl::StrCat(
      "infrakitctl drives InfraKit's plugins: gRPC servers listening on unix sockets named\n"
      "<plugins-dir>/<name>.sock. The Quick Tutorial of the original InfraKit:\n"
      "\n"
      "  infrakitctl plugin start group instance-file flavor-vanilla \\\n"
      "      --instance-file-args=\"--dir ./tutorial\"      # in another terminal\n"
      "  infrakitctl plugin ls\n"
      "  infrakitctl instance --name instance-file describe\n"
      "  infrakitctl group --name group watch < cattle.json    # prints: watching cattle\n"
      "  infrakitctl group --name group inspect cattle\n"
      "  infrakitctl group --name group describe cattle.json   # prints: Noop\n"
      "  infrakitctl group --name group update cattle-v2.json  # blocks until done\n"
      "  infrakitctl group --name group destroy cattle\n"
      "\n"
      "The plugins directory is --plugins-dir, else $INFRAKIT_PLUGINS_DIR, else\n"
      "/run/infrakit/plugins when writable, else $XDG_RUNTIME_DIR/infrakit/plugins, else\n"
      "$INFRAKIT_HOME/plugins ($INFRAKIT_HOME defaults to ~/.infrakit) -- as for the plugins.\n"
      "\n"
      "Flags may come anywhere after the command name: --flag=value or --flag value; '--'\n"
      "ends the flags. Every read verb takes --output json (protobuf JSON of the plugin's\n"
      "answer). Errors are printed as \"infrakitctl: ...\" on stderr.\n"
      "\n",
      ExitCodesHelp());
}

}  // namespace

CommandTable BuildCommandTable() {
  std::vector<FlagSpec> global = {
      {"plugins-dir", '\0', "DIR",
       "the plugins directory (default: $INFRAKIT_PLUGINS_DIR, /run/infrakit/plugins, ...)"},
      {"output", 'o', "FORMAT", "table (default) or json"},
      {"timeout", '\0', "DURATION", "deadline of each call to a plugin, e.g. 10s (default: 30s)"},
      {"help", 'h', "", "show help for the command"},
  };
  std::vector<CommandSpec> commands;
  commands.push_back({{}, "", "", RootDetails(), {}, 0, 0, nullptr});
  for (auto* area : {&PluginCommands, &InstanceCommands, &FlavorCommands, &GroupCommands}) {
    for (CommandSpec& c : area()) commands.push_back(std::move(c));
  }
  commands.push_back({{"version"},
                      "",
                      "Print infrakitctl's version as JSON (name, revision, type, version)",
                      "",
                      {},
                      0,
                      0,
                      Version});
  commands.push_back({{"completion"},
                      "bash",
                      "Print the bash completion script",
                      "Enable it with: source <(infrakitctl completion bash)\n",
                      {},
                      1,
                      1,
                      Completion});
  commands.push_back({{"help"},
                      "[COMMAND...]",
                      "Show help for a command, e.g. 'infrakitctl help group update'",
                      "",
                      {},
                      0,
                      -1,
                      Help});
  return CommandTable(kProgram, std::move(global), std::move(commands));
}

CliEnvironment ProcessEnvironment() {
  CliEnvironment env;
  env.self_exe = SelfExecutable();
  const char* path = getenv("PATH");
  env.path = path != nullptr ? path : "";
  env.home = services::runtime::InfrakitHome();
  return env;
}

Cli::Cli(CliIo io, CliEnvironment env)
    : io_(io), env_(std::move(env)), table_(BuildCommandTable()) {}

bool Cli::Interrupt(int signo) { return interrupts_.Deliver(signo); }

int Cli::Run(const std::vector<std::string>& args) {
  std::ostream& err = *io_.err;
  // `--version`, as every InfraKit binary answers it (before "--" only).
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--version") return Run({"version"});
  }
  absl::StatusOr<ParsedCommand> parsed = table_.Parse(args);
  if (!parsed.ok()) {
    err << "infrakitctl: " << parsed.status().message() << std::endl;
    return kExitUsage;
  }
  const CommandSpec& command = *parsed->command;
  if (parsed->help) {
    *io_.out << table_.Help(command) << std::flush;
    return kExitOk;
  }
  if (!command.run) {
    if (command.path.empty()) {
      err << table_.Help(command) << std::flush;
      return kExitUsage;
    }
    std::vector<std::string> verbs;
    for (const CommandSpec* c : table_.Children(command)) verbs.push_back(c->path.back());
    err << "infrakitctl: '" << table_.FullName(command)
        << "' needs a verb: " << absl::StrJoin(verbs, ", ") << "; see '" << table_.FullName(command)
        << " --help'" << std::endl;
    return kExitUsage;
  }

  CommandContext::Settings settings;
  const std::string output = parsed->flags.Get("output", "table");
  if (output == "json") {
    settings.output = OutputFormat::kJson;
  } else if (output != "table") {
    err << "infrakitctl: --output takes table or json, got \"" << output << "\"" << std::endl;
    return kExitUsage;
  }
  settings.timeout = client::kDefaultCallDeadline;
  if (parsed->flags.Has("timeout") &&
      (!absl::ParseDuration(parsed->flags.Get("timeout"), &settings.timeout) ||
       settings.timeout <= absl::ZeroDuration())) {
    err << "infrakitctl: --timeout takes a positive duration like 10s or 1m30s, got \""
        << parsed->flags.Get("timeout") << "\"" << std::endl;
    return kExitUsage;
  }
  settings.plugins_dir = services::runtime::ResolvePluginsDir(parsed->flags.Get("plugins-dir"));
  CommandContext context(&table_, &*parsed, io_, &env_, &interrupts_, std::move(settings));
  return command.run(context);
}

}  // namespace infrakit::tools::infrakitctl
