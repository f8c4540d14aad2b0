#include "tools/infrakitctl/plugin_commands.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/discovery/discovery.h"
#include "tools/infrakitctl/command_context.h"
#include "tools/infrakitctl/exit_codes.h"
#include "tools/infrakitctl/launcher.h"
#include "tools/infrakitctl/output.h"
#include "tools/infrakitctl/plugin_binaries.h"

namespace infrakit::tools::infrakitctl {

namespace {

int List(CommandContext& ctx) {
  auto plugins = client::discovery::ListPlugins(ctx.plugins_dir());
  if (!plugins.ok()) return ctx.Fail(plugins.status());
  if (ctx.json()) {
    ctx.out() << PluginsJson(*plugins) << std::flush;
  } else if (ctx.flags().Has("quiet")) {
    for (const auto& p : *plugins) ctx.out() << p.name << "\n";
    ctx.out() << std::flush;
  } else {
    ctx.out() << PluginTable(*plugins, ctx.flags().Has("long")) << std::flush;
  }
  return kExitOk;
}

std::string BundledNames() {
  std::vector<std::string> names;
  for (const BundledPlugin& p : BundledPlugins()) names.push_back(p.name);
  return absl::StrJoin(names, ", ");
}

int Start(CommandContext& ctx) {
  absl::Duration ready_timeout = absl::Seconds(30);
  if (ctx.flags().Has("ready-timeout") &&
      (!absl::ParseDuration(ctx.flags().Get("ready-timeout"), &ready_timeout) ||
       ready_timeout <= absl::ZeroDuration())) {
    return ctx.UsageError(absl::StrCat("--ready-timeout takes a positive duration like 30s, got \"",
                                       ctx.flags().Get("ready-timeout"), "\""));
  }

  // Extra arguments per plugin name: --<bundled name>-args and --args NAME=ARGS.
  absl::flat_hash_map<std::string, std::vector<std::string>> extra;
  auto add_args = [&](const std::string& name, const std::string& text) -> absl::Status {
    absl::StatusOr<std::vector<std::string>> words = SplitArgs(text);
    if (!words.ok()) return words.status();
    auto& list = extra[name];
    list.insert(list.end(), words->begin(), words->end());
    return absl::OkStatus();
  };
  for (const BundledPlugin& p : BundledPlugins()) {
    for (const std::string& text : ctx.flags().All(absl::StrCat(p.name, "-args"))) {
      if (absl::Status s = add_args(p.name, text); !s.ok()) {
        return ctx.UsageError(absl::StrCat("--", p.name, "-args: ", s.message()));
      }
    }
  }
  for (const std::string& value : ctx.flags().All("args")) {
    const size_t eq = value.find('=');
    if (eq == std::string::npos || eq == 0) {
      return ctx.UsageError(absl::StrCat("--args takes NAME=ARGS, got \"", value, "\""));
    }
    if (absl::Status s = add_args(value.substr(0, eq), value.substr(eq + 1)); !s.ok()) {
      return ctx.UsageError(absl::StrCat("--args: ", s.message()));
    }
  }

  // What to start: NAME (a bundled plugin) or NAME=BUNDLED (a bundled plugin under another
  // name, e.g. another-file=instance-file); nothing named means every bundled plugin built.
  std::vector<std::pair<std::string, const BundledPlugin*>> wanted;
  const bool all = ctx.args().empty();
  if (all) {
    for (const BundledPlugin& p : BundledPlugins()) wanted.emplace_back(p.name, &p);
  }
  for (const std::string& arg : ctx.args()) {
    std::pair<std::string, std::string> parts = absl::StrSplit(arg, absl::MaxSplits('=', 1));
    const std::string& kind = parts.second.empty() ? parts.first : parts.second;
    const BundledPlugin* bundled = FindBundledPlugin(kind);
    if (bundled == nullptr) {
      return ctx.Fail(kExitNotFound, absl::StrCat("no bundled plugin named \"", kind,
                                                  "\"; the bundled plugins are ", BundledNames()));
    }
    wanted.emplace_back(parts.first, bundled);
  }
  for (const auto& [name, unused] : extra) {
    if (std::none_of(wanted.begin(), wanted.end(),
                     [&name = name](const auto& w) { return w.first == name; })) {
      if (all) continue;  // --group-args without group: fine when starting "everything built"
      return ctx.UsageError(absl::StrCat("arguments are given for ", name,
                                         ", which is not among the plugins to start"));
    }
  }

  std::vector<LaunchSpec> specs;
  for (const auto& [name, bundled] : wanted) {
    absl::StatusOr<std::string> binary =
        LocatePluginBinary(*bundled, ctx.env().self_exe, ctx.env().path);
    if (!binary.ok()) {
      if (!all) return ctx.Fail(binary.status());
      // Starting "what is built": say what is left out, and go on.
      ctx.err() << "infrakitctl: not starting " << name << ": " << binary.status().message()
                << std::endl;
      continue;
    }
    LaunchSpec spec;
    spec.name = name;
    spec.binary = *std::move(binary);
    if (auto it = extra.find(name); it != extra.end()) spec.args = it->second;
    specs.push_back(std::move(spec));
  }
  if (specs.empty()) {
    return ctx.Fail(kExitNotFound,
                    absl::StrCat("no plugin binary is built; build them with 'bazel build //...'"));
  }

  LauncherOptions options;
  options.plugins_dir = ctx.plugins_dir();
  options.log_dir = ctx.flags().Get("log-dir", absl::StrCat(ctx.env().home, "/logs"));
  options.ready_timeout = ready_timeout;
  options.copy_logs = !ctx.flags().Has("quiet");
  Launcher launcher(std::move(specs), options, &ctx.out(), &ctx.err());
  Interrupts::Scope scope = ctx.interrupts().Handle([&launcher](int) { launcher.Stop(); });
  absl::Status status = launcher.Run();
  if (!status.ok()) return ctx.Fail(status);
  ctx.out() << "stopped the plugins" << std::endl;
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> PluginCommands() {
  std::vector<CommandSpec> commands;
  commands.push_back({{"plugin"},
                      "",
                      "List the plugins, or start the bundled ones",
                      "Every plugin listens on <plugins-dir>/<name>.sock; the socket's name is\n"
                      "the plugin's name, used by --name.\n",
                      {},
                      0,
                      0,
                      nullptr});
  commands.push_back(
      {{"plugin", "ls"},
       "",
       "List the plugins in the plugins directory: NAME, LISTEN",
       "--long adds each plugin's KIND (group, instance, flavor), STATE (running; stale: a\n"
       "socket left by a plugin that died; no-info: something answers that is not an InfraKit\n"
       "plugin) and VERSION.\n",
       {{"long", 'l', "", "add KIND, STATE and VERSION columns"},
        {"quiet", 'q', "", "print the names only"}},
       0,
       0,
       List});
  std::vector<FlagSpec> start_flags;
  for (const BundledPlugin& p : BundledPlugins()) {
    start_flags.push_back(
        {absl::StrCat(p.name, "-args"), '\0', "ARGS",
         absl::StrCat("extra arguments for ", p.name, ", e.g. ",
                      p.name == "instance-file" ? "\"--dir ./tutorial\"" : "\"--log 1\"")});
  }
  start_flags.push_back(
      {"args", '\0', "NAME=ARGS", "extra arguments for plugin NAME (repeatable)"});
  start_flags.push_back(
      {"log-dir", '\0', "DIR", "where <name>.log go (default: $INFRAKIT_HOME/logs)"});
  start_flags.push_back({"ready-timeout", '\0', "DURATION",
                         "how long each plugin may take to answer (default: 30s)"});
  start_flags.push_back({"quiet", 'q', "", "do not copy the plugins' output to stdout"});
  std::string details =
      "Starts the plugins as child processes, waits until each one answers, prints NAME and\n"
      "LISTEN for each, and keeps them running: a plugin that dies is restarted, after 1s,\n"
      "then 2s, 4s... up to 30s (the delay resets once it has run for a minute). Ctrl-C (or\n"
      "SIGTERM) stops them all (SIGTERM, then SIGKILL after 5s) and removes their sockets.\n"
      "\n"
      "NAME is one of the bundled plugins:\n";
  for (const BundledPlugin& p : BundledPlugins()) {
    absl::StrAppend(&details, "  ", p.name, std::string(18 - p.name.size(), ' '), p.summary, "\n");
  }
  absl::StrAppend(
      &details,
      "or NAME=BUNDLED to run a bundled plugin under another name (another-file=instance-file).\n"
      "No NAME starts every bundled plugin that is built. Binaries are looked for beside\n"
      "infrakitctl (bazel-bin layout or side by side), then on $PATH. Each plugin gets --name\n"
      "and --plugins-dir; ARGS are split on blanks, with '...' and \"...\" quoting. Each\n"
      "plugin's output goes to <log-dir>/<name>.log and, prefixed with its name, to stdout.\n"
      "\n"
      "Example (the tutorial's setup):\n"
      "  infrakitctl plugin start group instance-file flavor-vanilla \\\n"
      "      --instance-file-args=\"--dir ./tutorial\"\n");
  commands.push_back({{"plugin", "start"},
                      "[NAME...]",
                      "Run bundled plugins in the foreground, restarting any that dies",
                      details,
                      start_flags,
                      0,
                      -1,
                      Start});
  return commands;
}

}  // namespace infrakit::tools::infrakitctl
