#include "plugins/instance/process/simple_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace infrakit::plugins::instance::process {
namespace {

// A character the shell takes literally wherever it is in a word (at its start too: no `~`,
// `#`, `!`).
bool IsLiteral(char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':' ||
         c == ',' || c == '@' || c == '%' || c == '+' || c == '=';
}

// dash 0.5.12's builtins (builtins.def) and reserved words: as a command's first word they run
// in the shell, whatever PATH holds.
bool IsShellBuiltinOrKeyword(absl::string_view word) {
  static const auto* const kNames = new absl::flat_hash_set<absl::string_view>{
      ".",       ":",        "[",        "alias",  "bg",    "break",   "cd",     "chdir",
      "command", "continue", "echo",     "eval",   "exec",  "exit",    "export", "false",
      "fc",      "fg",       "getopts",  "hash",   "jobs",  "kill",    "local",  "printf",
      "pwd",     "read",     "readonly", "return", "set",   "shift",   "test",   "times",
      "trap",    "true",     "type",     "ulimit", "umask", "unalias", "unset",  "wait",
      "case",    "do",       "done",     "elif",   "else",  "esac",    "fi",     "for",
      "if",      "in",       "then",     "until",  "while", "{",       "}",      "!"};
  return kNames->contains(word);
}

// Whether `path` is a regular file this process may execute.
bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::optional<std::vector<std::string>> SplitSimpleCommand(absl::string_view command) {
  std::vector<std::string> words;
  for (absl::string_view word :
       absl::StrSplit(command, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    for (char c : word) {
      if (!IsLiteral(c)) return std::nullopt;
    }
    words.emplace_back(word);
  }
  const bool exec = !words.empty() && words.front() == "exec";
  if (exec) words.erase(words.begin());
  if (words.empty()) return std::nullopt;
  const std::string& program = words.front();
  if (absl::StrContains(program, '=')) return std::nullopt;
  if (exec ? absl::StartsWith(program, "-") : IsShellBuiltinOrKeyword(program)) {
    return std::nullopt;
  }
  return words;
}

std::optional<std::string> FindProgram(absl::string_view name, absl::string_view path,
                                       absl::string_view working_dir) {
  if (name.empty()) return std::nullopt;
  auto in_working_dir = [&working_dir](absl::string_view relative) {
    return relative.empty() ? std::string(working_dir) : absl::StrCat(working_dir, "/", relative);
  };
  if (absl::StrContains(name, '/')) {
    return absl::StartsWith(name, "/") ? std::string(name) : in_working_dir(name);
  }
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    const std::string base = absl::StartsWith(dir, "/") ? std::string(dir) : in_working_dir(dir);
    std::string candidate = absl::StrCat(base, "/", name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return std::nullopt;
}

}  // namespace infrakit::plugins::instance::process
