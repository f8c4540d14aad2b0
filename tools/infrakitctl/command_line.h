// A small table-driven command dispatcher for `infrakitctl AREA [VERB] [flags] [args]`.
//
// Abseil flags alone give one flat flag namespace and no per-verb help; here every command
// (area or verb) declares its flags, arguments and help text in one CommandSpec, and the table
// parses a command line against them and renders `--help` for any of them.
//
// Parsing rules (documented in `infrakitctl --help`):
//   - flags may appear anywhere after the program name: `group --name g watch` and
//     `group watch --name g` are the same; `--` ends the flags;
//   - `--flag=value`, `--flag value`, `-f value`, `-f=value`; boolean flags take no value
//     (`--flag=true|false` is accepted too);
//   - a flag given twice keeps both values (FlagValues::All), and Get returns the last;
//   - `-` alone is an argument (stdin), not a flag;
//   - a flag is accepted only by the commands that declare it: its own, its area's (e.g.
//     `--name` of `group`) and the global flags.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_COMMAND_LINE_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_COMMAND_LINE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace infrakit::tools::infrakitctl {

class CommandContext;  // command_context.h: what a handler gets to work with.

// Runs a verb; returns the process exit code (exit_codes.h).
using CommandHandler = std::function<int(CommandContext&)>;

struct FlagSpec {
  std::string name;        // long name without "--", e.g. "plugins-dir"
  char short_name = '\0';  // e.g. 'o' for -o; '\0' for none
  std::string value_name;  // e.g. "DIR"; empty for a boolean flag
  std::string help;        // one line
  bool takes_value() const { return !value_name.empty(); }
};

struct CommandSpec {
  // The words naming the command: {} is the program itself, {"group"} an area, {"group",
  // "watch"} a verb.
  std::vector<std::string> path;
  // The arguments in the usage line, e.g. "[FILE]" or "ID N".
  std::string args_usage;
  // One line for the parent's list of verbs.
  std::string summary;
  // Paragraphs shown by --help under the usage line (may be empty).
  std::string details;
  // The flags this command declares (an area's flags apply to all its verbs).
  std::vector<FlagSpec> flags;
  // How many arguments it takes; max_args < 0 means no upper bound.
  int min_args = 0;
  int max_args = 0;
  // What runs it; empty for an area (which only groups verbs).
  CommandHandler run;
};

// The flag values of one command line.
class FlagValues {
 public:
  // Whether the flag was given (for a boolean: given and not "=false").
  bool Has(absl::string_view name) const;
  // The last value given, or `fallback` when the flag was not given.
  std::string Get(absl::string_view name, absl::string_view fallback = "") const;
  // Every value given, in order (empty when not given).
  std::vector<std::string> All(absl::string_view name) const;
  void Add(absl::string_view name, absl::string_view value);

 private:
  absl::flat_hash_map<std::string, std::vector<std::string>> values_;
};

// A command line matched against the table.
struct ParsedCommand {
  // The deepest command the words name: a verb, or an area / the root when no verb was given
  // (then `run` is empty and the caller shows help or a usage error).
  const CommandSpec* command = nullptr;
  FlagValues flags;
  // The words after the command's path.
  std::vector<std::string> args;
  // --help / -h was given.
  bool help = false;
};

// Immutable after construction; thread-safe.
class CommandTable {
 public:
  // `program` is the name in usage lines ("infrakitctl"); `global_flags` apply to every
  // command and must include "help" (boolean, -h). A root command (path {}) is added when
  // `commands` has none. Areas (paths that are prefixes of others) are added, without
  // summary, when missing.
  CommandTable(std::string program, std::vector<FlagSpec> global_flags,
               std::vector<CommandSpec> commands);

  // Matches `args` (without the program name). Errors: INVALID_ARGUMENT with a message for
  // the user, ending in a pointer to the right --help: an unknown flag, a flag the command
  // does not take, a missing flag value, an unknown verb, too few or too many arguments.
  // Arguments are not checked when --help is given or no verb was named.
  absl::StatusOr<ParsedCommand> Parse(const std::vector<std::string>& args) const;

  // The --help text of a command: usage line, details, verbs (for an area), flags and the
  // global flags.
  std::string Help(const CommandSpec& command) const;

  // "infrakitctl group watch": the program and the command's path.
  std::string FullName(const CommandSpec& command) const;

  // The command at `path`, or nullptr.
  const CommandSpec* Find(const std::vector<std::string>& path) const;

  // The verbs (and areas) directly under `command`, in table order.
  std::vector<const CommandSpec*> Children(const CommandSpec& command) const;

  // Every flag `command` accepts: its own, its ancestors' and the global ones.
  std::vector<const FlagSpec*> AcceptedFlags(const CommandSpec& command) const;

  // Checks the table: every flag name (and short name) has one arity everywhere it is
  // declared, since flags are tokenised before the command is known. INVALID_ARGUMENT naming
  // the clash.
  absl::Status Validate() const;

  const std::string& program() const { return program_; }
  const std::vector<FlagSpec>& global_flags() const { return global_flags_; }
  const std::vector<CommandSpec>& commands() const { return commands_; }

 private:
  // The declaration of `--name` (or `-c`) anywhere in the table, or nullptr.
  const FlagSpec* AnyFlag(absl::string_view name) const;
  const FlagSpec* AnyShortFlag(char c) const;
  std::string HelpPointer(const CommandSpec& command) const;

  // A flag as given on the command line.
  struct GivenFlag {
    const FlagSpec* spec;  // nullptr: unknown
    std::string spelled;   // as written, for messages
    std::string value;
  };
  // The command line split into flags and words (Parse's first step).
  struct Tokens {
    std::vector<GivenFlag> given;
    std::vector<std::string> words;
    std::string missing_value;  // a flag given last without its value
  };
  // Splits `args` into flags (long, short, combined boolean short flags, `--` ending them) and
  // words. INVALID_ARGUMENT for a boolean flag given a value other than true / false.
  absl::StatusOr<Tokens> Tokenize(const std::vector<std::string>& args) const;
  // Reads the flag at args[*i] (advancing *i past a separate value) into tokens.
  absl::Status TokenizeFlag(const std::vector<std::string>& args, size_t* i, Tokens* tokens) const;
  // The command the longest run of leading words names; *consumed is how many words it took.
  const CommandSpec* FindCommand(const std::vector<std::string>& words, size_t* consumed) const;
  // Keeps the flags `command` accepts in parsed->flags (booleans given =false dropped).
  // INVALID_ARGUMENT for a flag that does not apply to it.
  absl::Status ApplyFlags(const CommandSpec& command, const std::vector<GivenFlag>& given,
                          ParsedCommand* parsed) const;
  // INVALID_ARGUMENT when `command` gets too few or too many arguments.
  absl::Status CheckArgCount(const CommandSpec& command, const ParsedCommand& parsed) const;

  std::string program_;
  std::vector<FlagSpec> global_flags_;
  std::vector<CommandSpec> commands_;
};

// Splits a flag value holding several arguments ("--dir ./tutorial --log 1") the way a shell
// would for the simple cases: on blanks, with '...' and "..." grouping and backslash escaping
// the next character. Errors: INVALID_ARGUMENT for an unterminated quote. Thread-safe (pure).
absl::StatusOr<std::vector<std::string>> SplitArgs(absl::string_view text);

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_COMMAND_LINE_H_
