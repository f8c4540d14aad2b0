// Starting an instance's Command without a shell when the shell would only run a program.
//
// `/bin/sh -c Command` costs a whole program start (the dynamic loader, the shell's own start)
// before the command's exec: on the 2-core VM the benchmarks run on, about a millisecond per
// instance, as much as the command's own start. For a Command that is a plain simple command
// (`exec sleep 3600`, `server --port=8080`) the shell does nothing but look the program up in
// PATH and exec it, so instance-process does that itself. Anything the shell would give a meaning
// (quotes, `$`, globs, `~`, redirections, `;`, `&`, `|`, assignments, builtins and keywords) keeps
// the shell.
#ifndef INFRAKIT_PLUGINS_INSTANCE_PROCESS_SIMPLE_COMMAND_H_
#define INFRAKIT_PLUGINS_INSTANCE_PROCESS_SIMPLE_COMMAND_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace infrakit::plugins::instance::process {

// dash's search path when the environment has no PATH.
inline constexpr char kShellDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The words of `command` when `/bin/sh -c command` would run exactly the external program named
// by the first word with the words as its argv (an optional leading `exec` dropped), or nullopt
// when the shell would do anything else: every word made only of letters, digits and
// `_ - . / : , @ % + =` separated by spaces or tabs, the program's word without `=` (an
// assignment) and, without `exec` before it, not the name of one of dash's builtins or reserved
// words (those run inside the shell); after `exec`, not an option (`-...`). Thread-safe (pure).
std::optional<std::vector<std::string>> SplitSimpleCommand(absl::string_view command);

// The file the shell would execute for the program name `name` started in `working_dir`
// (absolute) with the search path `path` (PATH's value; kShellDefaultPath when the environment
// has none): a name with a '/' is itself (relative to `working_dir`); otherwise the first entry of
// `path` (an empty or relative entry relative to `working_dir`) holding a regular file of that
// name that this process may execute. nullopt when there is none (the shell reports "not found";
// the caller leaves that to it). Reads the filesystem; thread-safe.
std::optional<std::string> FindProgram(absl::string_view name, absl::string_view path,
                                       absl::string_view working_dir);

}  // namespace infrakit::plugins::instance::process

#endif  // INFRAKIT_PLUGINS_INSTANCE_PROCESS_SIMPLE_COMMAND_H_
