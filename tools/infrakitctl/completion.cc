#include "tools/infrakitctl/completion.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/infrakitctl/plugin_binaries.h"

namespace infrakit::tools::infrakitctl {

namespace {

std::string PathKey(const CommandSpec& command) { return absl::StrJoin(command.path, " "); }

std::vector<std::string> FlagWords(const CommandTable& table, const CommandSpec& command) {
  std::set<std::string> words;
  for (const FlagSpec* f : table.AcceptedFlags(command)) {
    words.insert(absl::StrCat("--", f->name));
    if (f->short_name != '\0') words.insert(absl::StrCat("-", std::string(1, f->short_name)));
  }
  return std::vector<std::string>(words.begin(), words.end());
}

// The flags that take a value (their value is not a command word), and those whose value is a
// directory.
struct ValueFlags {
  std::set<std::string> all;
  std::set<std::string> dirs;

  void Add(const FlagSpec& f) {
    if (!f.takes_value()) return;
    all.insert(absl::StrCat("--", f.name));
    if (f.short_name != '\0') all.insert(absl::StrCat("-", std::string(1, f.short_name)));
    if (f.value_name == "DIR") dirs.insert(absl::StrCat("--", f.name));
  }
};

ValueFlags CollectValueFlags(const CommandTable& table) {
  ValueFlags flags;
  for (const CommandSpec& c : table.commands()) {
    for (const FlagSpec& f : c.flags) flags.Add(f);
  }
  for (const FlagSpec& f : table.global_flags()) flags.Add(f);
  return flags;
}

// The function's start: finds the command path and the plugins dir on the line so far.
std::string PathWalk(const CommandTable& table, const ValueFlags& flags) {
  std::vector<std::string> paths;
  for (const CommandSpec& c : table.commands()) {
    if (!c.path.empty()) paths.push_back(absl::StrCat("|", PathKey(c), "|"));
  }
  return absl::StrCat(
      "_", table.program(), "() {\n",
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n",
      "  local known='", absl::StrJoin(paths, ""), "'\n", "  local path=\"\" nargs=0 i w pd=\"\"\n",
      "  # The command path (e.g. \"group watch\"): the leading words that name one.\n",
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n", "    w=\"${COMP_WORDS[i]}\"\n",
      "    case \"$w\" in\n", "      --plugins-dir) pd=\"${COMP_WORDS[i+1]}\" ;;\n",
      "      --plugins-dir=*) pd=\"${w#*=}\" ;;\n", "    esac\n", "    case \"$w\" in\n", "      ",
      absl::StrJoin(flags.all, "|"), ") ((i++)); continue ;;\n", "      -*) continue ;;\n",
      "    esac\n", "    if [[ $nargs -eq 0 && \"$known\" == *\"|${path:+$path }$w|\"* ]]; then\n",
      "      path=\"${path:+$path }$w\"\n", "    else\n", "      ((nargs++))\n", "    fi\n",
      "  done\n", "  # Lookups ask the plugins of the directory named on the line, if any.\n",
      "  local ctl=(", table.program(), " ${pd:+--plugins-dir \"$pd\"})\n");
}

// Completes the value of the flag before the cursor.
std::string FlagValueCase(const ValueFlags& flags) {
  std::string out = absl::StrCat(
      "  case \"$prev\" in\n",
      "    --output|-o) COMPREPLY=($(compgen -W \"table json\" -- \"$cur\")); return ;;\n");
  if (!flags.dirs.empty()) {
    absl::StrAppend(&out, "    ", absl::StrJoin(flags.dirs, "|"),
                    ") COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n");
  }
  absl::StrAppend(&out,
                  "    --name) COMPREPLY=($(compgen -W \"$(\"${ctl[@]}\" plugin ls -q "
                  "2>/dev/null)\" -- \"$cur\")); return ;;\n");
  std::set<std::string> others;
  for (const std::string& f : flags.all) {
    if (f != "--output" && f != "-o" && f != "--name" && flags.dirs.count(f) == 0) {
      others.insert(f);
    }
  }
  if (!others.empty()) absl::StrAppend(&out, "    ", absl::StrJoin(others, "|"), ") return ;;\n");
  absl::StrAppend(&out, "  esac\n");
  return out;
}

// Completes a flag's name: the flags of the command path.
std::string FlagNameCase(const CommandTable& table) {
  std::string out = absl::StrCat("  local words=\"\"\n", "  if [[ \"$cur\" == -* ]]; then\n",
                                 "    case \"$path\" in\n");
  for (const CommandSpec& c : table.commands()) {
    absl::StrAppend(&out, "      \"", PathKey(c), "\") words=\"",
                    absl::StrJoin(FlagWords(table, c), " "), "\" ;;\n");
  }
  absl::StrAppend(&out, "    esac\n", "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n",
                  "    return\n", "  fi\n");
  return out;
}

// What completes an argument of `c`, or "" for nothing.
std::string ArgumentAction(const CommandTable& table, const CommandSpec& c) {
  if (!c.run) {
    std::vector<std::string> names;
    for (const CommandSpec* child : table.Children(c)) names.push_back(child->path.back());
    return absl::StrCat("[[ $nargs -eq 0 ]] && words=\"", absl::StrJoin(names, " "), "\"");
  }
  if (PathKey(c) == "plugin start") {
    std::vector<std::string> bundled;
    for (const BundledPlugin& p : BundledPlugins()) bundled.push_back(p.name);
    return absl::StrCat("words=\"", absl::StrJoin(bundled, " "), "\"");
  }
  if (PathKey(c) == "instance destroy") {
    return "[[ $nargs -eq 0 ]] && words=\"$(\"${ctl[@]}\" instance describe -q 2>/dev/null)\"";
  }
  if (PathKey(c) == "completion") return "[[ $nargs -eq 0 ]] && words=\"bash\"";
  if (PathKey(c) == "help") {
    std::vector<std::string> names;
    for (const CommandSpec* child : table.Children(*table.Find({}))) {
      names.push_back(child->path.back());
    }
    return absl::StrCat("[[ $nargs -eq 0 ]] && words=\"", absl::StrJoin(names, " "), "\"");
  }
  if (absl::StartsWith(c.args_usage, "ID") && !c.path.empty() && c.path[0] == "group") {
    return "[[ $nargs -eq 0 ]] && words=\"$(\"${ctl[@]}\" group ls -q 2>/dev/null)\"";
  }
  if (absl::StrContains(c.args_usage, "FILE")) {
    return "[[ $nargs -eq 0 ]] && { COMPREPLY=($(compgen -f -- \"$cur\")); return; }";
  }
  return "";
}

}  // namespace

std::string BashCompletion(const CommandTable& table) {
  const std::string program = table.program();
  std::string out = absl::StrCat("# bash completion for ", program, " (generated by '", program,
                                 " completion bash'; do not edit).\n"
                                 "# Install: source this file from ~/.bashrc, or copy it to\n"
                                 "# /usr/share/bash-completion/completions/",
                                 program, ".\n\n");
  const ValueFlags flags = CollectValueFlags(table);
  absl::StrAppend(&out, PathWalk(table, flags), FlagValueCase(flags), FlagNameCase(table),
                  "  case \"$path\" in\n");
  for (const CommandSpec& c : table.commands()) {
    const std::string action = ArgumentAction(table, c);
    if (!action.empty()) absl::StrAppend(&out, "    \"", PathKey(c), "\") ", action, " ;;\n");
  }
  absl::StrAppend(&out, "  esac\n", "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n", "}\n",
                  "complete -F _", program, " ", program, "\n");
  return out;
}

}  // namespace infrakit::tools::infrakitctl
