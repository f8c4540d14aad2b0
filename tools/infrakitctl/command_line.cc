#include "tools/infrakitctl/command_line.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace infrakit::tools::infrakitctl {

namespace {

bool IsPrefix(const std::vector<std::string>& prefix, const std::vector<std::string>& path) {
  return prefix.size() <= path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

// "  -o, --output FORMAT" / "      --plugins-dir DIR": the left column of a flag in --help.
std::string FlagLabel(const FlagSpec& flag) {
  std::string label = flag.short_name != '\0'
                          ? absl::StrCat("  -", std::string(1, flag.short_name), ", ")
                          : std::string("      ");
  absl::StrAppend(&label, "--", flag.name);
  if (flag.takes_value()) absl::StrAppend(&label, " ", flag.value_name);
  return label;
}

// Two columns: labels padded to a common width (capped, longer labels get their own line).
void AppendColumns(const std::vector<std::pair<std::string, std::string>>& rows, std::string* out) {
  constexpr size_t kMaxLabel = 30;
  size_t width = 0;
  for (const auto& [label, text] : rows) {
    if (label.size() <= kMaxLabel) width = std::max(width, label.size());
  }
  for (const auto& [label, text] : rows) {
    if (text.empty()) {
      absl::StrAppend(out, label, "\n");
    } else if (label.size() > kMaxLabel) {
      absl::StrAppend(out, label, "\n", std::string(width + 2, ' '), text, "\n");
    } else {
      absl::StrAppend(out, label, std::string(width + 2 - label.size(), ' '), text, "\n");
    }
  }
}

std::string Plural(int n, absl::string_view word) {
  return absl::StrCat(n, " ", word, n == 1 ? "" : "s");
}

}  // namespace

bool FlagValues::Has(absl::string_view name) const { return values_.contains(name); }

std::string FlagValues::Get(absl::string_view name, absl::string_view fallback) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::string(fallback);
  return it->second.back();
}

std::vector<std::string> FlagValues::All(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

void FlagValues::Add(absl::string_view name, absl::string_view value) {
  values_[name].emplace_back(value);
}

CommandTable::CommandTable(std::string program, std::vector<FlagSpec> global_flags,
                           std::vector<CommandSpec> commands)
    : program_(std::move(program)),
      global_flags_(std::move(global_flags)),
      commands_(std::move(commands)) {
  // Make sure the root and every area exist, so that every prefix of a verb's path is a
  // command (areas are listed before their verbs; order otherwise follows the table).
  std::vector<CommandSpec> complete;
  auto present = [&complete](const std::vector<std::string>& path) {
    return std::any_of(complete.begin(), complete.end(),
                       [&path](const CommandSpec& c) { return c.path == path; });
  };
  auto declared = [this](const std::vector<std::string>& path) -> const CommandSpec* {
    for (const CommandSpec& c : commands_) {
      if (c.path == path) return &c;
    }
    return nullptr;
  };
  for (const CommandSpec& command : commands_) {
    for (size_t n = 0; n <= command.path.size(); ++n) {
      std::vector<std::string> prefix(command.path.begin(), command.path.begin() + n);
      if (present(prefix)) continue;
      if (const CommandSpec* d = declared(prefix); d != nullptr) {
        complete.push_back(*d);
      } else {
        CommandSpec area;
        area.path = prefix;
        complete.push_back(std::move(area));
      }
    }
  }
  if (!present({})) {
    CommandSpec root;
    complete.insert(complete.begin(), std::move(root));
  }
  commands_ = std::move(complete);
}

const CommandSpec* CommandTable::Find(const std::vector<std::string>& path) const {
  for (const CommandSpec& c : commands_) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

std::vector<const CommandSpec*> CommandTable::Children(const CommandSpec& command) const {
  std::vector<const CommandSpec*> children;
  for (const CommandSpec& c : commands_) {
    if (c.path.size() == command.path.size() + 1 && IsPrefix(command.path, c.path)) {
      children.push_back(&c);
    }
  }
  return children;
}

std::vector<const FlagSpec*> CommandTable::AcceptedFlags(const CommandSpec& command) const {
  std::vector<const FlagSpec*> flags;
  for (const CommandSpec& c : commands_) {
    if (!IsPrefix(c.path, command.path)) continue;
    for (const FlagSpec& f : c.flags) flags.push_back(&f);
  }
  for (const FlagSpec& f : global_flags_) flags.push_back(&f);
  return flags;
}

const FlagSpec* CommandTable::AnyFlag(absl::string_view name) const {
  for (const FlagSpec& f : global_flags_) {
    if (f.name == name) return &f;
  }
  for (const CommandSpec& c : commands_) {
    for (const FlagSpec& f : c.flags) {
      if (f.name == name) return &f;
    }
  }
  return nullptr;
}

const FlagSpec* CommandTable::AnyShortFlag(char c) const {
  for (const FlagSpec& f : global_flags_) {
    if (f.short_name == c) return &f;
  }
  for (const CommandSpec& command : commands_) {
    for (const FlagSpec& f : command.flags) {
      if (f.short_name == c) return &f;
    }
  }
  return nullptr;
}

absl::Status CommandTable::Validate() const {
  std::vector<const FlagSpec*> all;
  for (const FlagSpec& f : global_flags_) all.push_back(&f);
  for (const CommandSpec& c : commands_) {
    for (const FlagSpec& f : c.flags) all.push_back(&f);
  }
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      const FlagSpec& a = *all[i];
      const FlagSpec& b = *all[j];
      if (a.name == b.name && a.takes_value() != b.takes_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", a.name, " is declared both with and without a value"));
      }
      if (a.short_name != '\0' && a.short_name == b.short_name && a.name != b.name) {
        return absl::InvalidArgumentError(absl::StrCat("short flag -", std::string(1, a.short_name),
                                                       " means both --", a.name, " and --",
                                                       b.name));
      }
    }
  }
  if (AnyFlag("help") == nullptr) {
    return absl::InvalidArgumentError("the global flags lack --help");
  }
  return absl::OkStatus();
}

std::string CommandTable::FullName(const CommandSpec& command) const {
  if (command.path.empty()) return program_;
  return absl::StrCat(program_, " ", absl::StrJoin(command.path, " "));
}

std::string CommandTable::HelpPointer(const CommandSpec& command) const {
  return absl::StrCat("see '", FullName(command), " --help'");
}

absl::Status CommandTable::TokenizeFlag(const std::vector<std::string>& args, size_t* i,
                                        Tokens* tokens) const {
  const std::string& arg = args[*i];
  const bool is_long = absl::StartsWith(arg, "--");
  std::string name;
  std::optional<std::string> value;
  const FlagSpec* spec = nullptr;
  if (is_long) {
    absl::string_view body = absl::string_view(arg).substr(2);
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    name = std::string(body);
    spec = AnyFlag(name);
  } else {
    absl::string_view rest = absl::string_view(arg).substr(2);
    spec = AnyShortFlag(arg[1]);
    if (absl::ConsumePrefix(&rest, "=")) {
      value = std::string(rest);
    } else if (!rest.empty()) {
      if (spec != nullptr && spec->takes_value()) {
        value = std::string(rest);  // -ojson
      } else {
        // Boolean short flags written together: -lq.
        for (char c : absl::string_view(arg).substr(1)) {
          const FlagSpec* s = AnyShortFlag(c);
          if (s != nullptr && s->takes_value()) s = nullptr;  // only booleans combine
          tokens->given.push_back({s, absl::StrCat("-", std::string(1, c)), "true"});
        }
        return absl::OkStatus();
      }
    }
  }
  if (spec == nullptr) {
    tokens->given.push_back(
        {nullptr, absl::StrCat(is_long ? "--" : "-", is_long ? name : std::string(1, arg[1])), ""});
    return absl::OkStatus();
  }
  const std::string spelled = is_long ? absl::StrCat("--", spec->name)
                                      : absl::StrCat("-", std::string(1, spec->short_name));
  if (spec->takes_value()) {
    if (!value.has_value()) {
      if (*i + 1 >= args.size()) {
        tokens->missing_value = spelled;
        return absl::OkStatus();
      }
      value = args[++*i];
    }
  } else if (value.has_value()) {
    if (*value != "true" && *value != "false") {
      return absl::InvalidArgumentError(absl::StrCat(
          "flag ", spelled, " takes no value (or =true / =false), got \"", *value, "\""));
    }
  } else {
    value = "true";
  }
  tokens->given.push_back({spec, spelled, *std::move(value)});
  return absl::OkStatus();
}

absl::StatusOr<CommandTable::Tokens> CommandTable::Tokenize(
    const std::vector<std::string>& args) const {
  Tokens tokens;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      tokens.words.push_back(arg);
    } else if (arg == "--") {
      flags_done = true;
    } else if (absl::Status s = TokenizeFlag(args, &i, &tokens); !s.ok()) {
      return s;
    }
  }
  return tokens;
}

const CommandSpec* CommandTable::FindCommand(const std::vector<std::string>& words,
                                             size_t* consumed) const {
  const CommandSpec* command = Find({});
  *consumed = 0;
  while (*consumed < words.size()) {
    std::vector<std::string> path = command->path;
    path.push_back(words[*consumed]);
    const CommandSpec* next = Find(path);
    if (next == nullptr) break;
    command = next;
    ++*consumed;
  }
  return command;
}

absl::Status CommandTable::ApplyFlags(const CommandSpec& command,
                                      const std::vector<GivenFlag>& given,
                                      ParsedCommand* parsed) const {
  const std::vector<const FlagSpec*> accepted = AcceptedFlags(command);
  for (const GivenFlag& flag : given) {
    if (std::find(accepted.begin(), accepted.end(), flag.spec) != accepted.end()) {
      parsed->flags.Add(flag.spec->name, flag.value);
      continue;
    }
    // Another declaration of the same name may be the accepted one (e.g. --long of two verbs).
    auto same_name = std::find_if(accepted.begin(), accepted.end(), [&flag](const FlagSpec* f) {
      return f->name == flag.spec->name;
    });
    if (same_name == accepted.end()) {
      return absl::InvalidArgumentError(absl::StrCat("flag ", flag.spelled, " does not apply to '",
                                                     FullName(command), "'; ",
                                                     HelpPointer(command)));
    }
    parsed->flags.Add(flag.spec->name, flag.value);
  }
  // Booleans given as =false count as not given.
  FlagValues cleaned;
  for (const FlagSpec* f : accepted) {
    const std::vector<std::string> values = parsed->flags.All(f->name);
    if (values.empty()) continue;
    if (!f->takes_value()) {
      if (values.back() == "true") cleaned.Add(f->name, "true");
      continue;
    }
    if (cleaned.Has(f->name)) continue;  // the same name declared twice in the chain
    for (const std::string& v : values) cleaned.Add(f->name, v);
  }
  parsed->flags = std::move(cleaned);
  return absl::OkStatus();
}

absl::Status CommandTable::CheckArgCount(const CommandSpec& command,
                                         const ParsedCommand& parsed) const {
  const int n = static_cast<int>(parsed.args.size());
  if (n < command.min_args) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", FullName(command), "' needs ", command.args_usage, " (",
        Plural(command.min_args, "argument"), ", got ", n, "); ", HelpPointer(command)));
  }
  if (command.max_args >= 0 && n > command.max_args) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", FullName(command), "' takes ",
        command.max_args == 0 ? std::string("no arguments")
                              : absl::StrCat("at most ", Plural(command.max_args, "argument"), " (",
                                             command.args_usage, ")"),
        ", got ", n, ": ", absl::StrJoin(parsed.args, " "), "; ", HelpPointer(command)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ParsedCommand> CommandTable::Parse(const std::vector<std::string>& args) const {
  absl::StatusOr<Tokens> tokens = Tokenize(args);
  if (!tokens.ok()) return tokens.status();
  size_t consumed = 0;
  const CommandSpec* command = FindCommand(tokens->words, &consumed);

  ParsedCommand parsed;
  parsed.command = command;
  parsed.args.assign(tokens->words.begin() + consumed, tokens->words.end());
  for (const GivenFlag& flag : tokens->given) {
    if (flag.spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", flag.spelled, "; ", HelpPointer(*command)));
    }
    if (flag.spec->name == "help") parsed.help = true;
  }
  if (parsed.help) {
    // --help shows the help of whatever was named; other flags do not matter then.
    return parsed;
  }
  if (!tokens->missing_value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag ", tokens->missing_value, " needs a value; ", HelpPointer(*command)));
  }
  if (!command->run) {
    if (!parsed.args.empty()) {
      std::vector<std::string> verbs;
      for (const CommandSpec* c : Children(*command)) verbs.push_back(c->path.back());
      return absl::InvalidArgumentError(absl::StrCat(
          command->path.empty() ? "unknown command \"" : "unknown verb \"", parsed.args.front(),
          "\"", command->path.empty() ? "" : absl::StrCat(" for '", FullName(*command), "'"),
          "; expected one of: ", absl::StrJoin(verbs, ", "), "; ", HelpPointer(*command)));
    }
    return parsed;  // no verb: the caller explains
  }
  if (absl::Status s = ApplyFlags(*command, tokens->given, &parsed); !s.ok()) return s;
  if (absl::Status s = CheckArgCount(*command, parsed); !s.ok()) return s;
  return parsed;
}

std::string CommandTable::Help(const CommandSpec& command) const {
  std::string out = absl::StrCat("Usage: ", FullName(command));
  const std::vector<const CommandSpec*> children = Children(command);
  if (!command.run) {
    absl::StrAppend(&out,
                    command.path.empty() ? " [flags] COMMAND [ARGS]" : " VERB [flags] [ARGS]");
  } else {
    absl::StrAppend(&out, " [flags]");
    if (!command.args_usage.empty()) absl::StrAppend(&out, " ", command.args_usage);
  }
  absl::StrAppend(&out, "\n");
  if (!command.summary.empty()) absl::StrAppend(&out, "\n", command.summary, "\n");
  if (!command.details.empty()) {
    absl::StrAppend(&out, "\n", command.details);
    if (!absl::EndsWith(command.details, "\n")) absl::StrAppend(&out, "\n");
  }
  if (!children.empty()) {
    absl::StrAppend(&out, "\n", command.path.empty() ? "Commands:\n" : "Verbs:\n");
    std::vector<std::pair<std::string, std::string>> rows;
    for (const CommandSpec* child : children) {
      std::string label = absl::StrCat("  ", child->path.back());
      if (!child->run) {
        absl::StrAppend(&label, " VERB");
      } else if (!child->args_usage.empty()) {
        absl::StrAppend(&label, " ", child->args_usage);
      }
      rows.emplace_back(std::move(label), child->summary);
    }
    AppendColumns(rows, &out);
  }
  std::vector<std::pair<std::string, std::string>> own;
  for (const CommandSpec& c : commands_) {
    if (!IsPrefix(c.path, command.path)) continue;
    for (const FlagSpec& f : c.flags) own.emplace_back(FlagLabel(f), f.help);
  }
  if (!own.empty()) {
    absl::StrAppend(&out, "\nFlags:\n");
    AppendColumns(own, &out);
  }
  std::vector<std::pair<std::string, std::string>> global;
  for (const FlagSpec& f : global_flags_) global.emplace_back(FlagLabel(f), f.help);
  absl::StrAppend(&out, "\nGlobal flags:\n");
  AppendColumns(global, &out);
  if (!children.empty()) {
    absl::StrAppend(&out, "\nRun '", FullName(command), command.path.empty() ? " COMMAND" : " VERB",
                    " --help' for more about one.\n");
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> SplitArgs(absl::string_view text) {
  std::vector<std::string> out;
  std::string current;
  bool in_word = false;
  char quote = '\0';
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != '\0') {
      if (c == quote) {
        quote = '\0';
      } else if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        current.push_back(text[++i]);
      } else {
        current.push_back(c);
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(current));
      current.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '\\' && i + 1 < text.size()) {
      current.push_back(text[++i]);
    } else {
      current.push_back(c);
    }
  }
  if (quote != '\0') {
    return absl::InvalidArgumentError(
        absl::StrCat("unterminated ", std::string(1, quote), " quote in \"", text, "\""));
  }
  if (in_word) out.push_back(std::move(current));
  return out;
}

}  // namespace infrakit::tools::infrakitctl
