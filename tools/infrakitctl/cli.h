// infrakitctl: the command line of InfraKit, as the original InfraKit's tutorial uses it.
//
// Cli runs one command line against given streams and returns the exit code, so that almost all
// of the tool's behaviour is tested in-process; main.cc only wires it to the process (argv,
// std::cin / std::cout / std::cerr, signals).
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_CLI_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_CLI_H_

#include <string>
#include <vector>

#include "tools/infrakitctl/command_context.h"
#include "tools/infrakitctl/command_line.h"

namespace infrakit::tools::infrakitctl {

// Every command of infrakitctl, with its flags, help and handler.
CommandTable BuildCommandTable();

// The environment of this process: SelfExecutable(), $PATH, InfrakitHome().
CliEnvironment ProcessEnvironment();

class Cli {
 public:
  Cli(CliIo io, CliEnvironment env);

  // Runs one command line (`args` without the program name) and returns its exit code
  // (exit_codes.h). Errors are printed as "infrakitctl: ..." on the error stream. Call from
  // one thread at a time.
  int Run(const std::vector<std::string>& args);

  // Hands SIGINT / SIGTERM to the running command. Returns false when no running command
  // wants it (then the caller exits the process). Thread-safe: call it from a signal thread.
  bool Interrupt(int signo);

  const CommandTable& table() const { return table_; }

 private:
  CliIo io_;
  CliEnvironment env_;
  Interrupts interrupts_;
  CommandTable table_;
};

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_CLI_H_
