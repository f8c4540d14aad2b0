// infrakitctl: see cli.h. This file only wires the Cli to the process.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tools/infrakitctl/cli.h"
#include "tools/infrakitctl/signal_thread.h"

namespace {
std::atomic<infrakit::tools::infrakitctl::Cli*> g_cli{nullptr};
}  // namespace

int main(int argc, char** argv) {
  using infrakit::tools::infrakitctl::Cli;
  // First, before gRPC starts threads: every thread then has SIGINT / SIGTERM blocked.
  infrakit::tools::infrakitctl::StartSignalThread([](int signo) {
    Cli* cli = g_cli.load();
    // Nothing running wants it (e.g. a unary call in flight): exit as a shell expects.
    if (cli == nullptr || !cli->Interrupt(signo)) std::_Exit(128 + signo);
  });
  infrakit::tools::infrakitctl::CliIo io;
  io.in = &std::cin;
  io.out = &std::cout;
  io.err = &std::cerr;
  io.in_is_terminal = isatty(STDIN_FILENO) == 1;
  io.out_is_terminal = isatty(STDOUT_FILENO) == 1;
  // Never deleted: the signal thread may use it until the process is gone.
  Cli* cli = new Cli(io, infrakit::tools::infrakitctl::ProcessEnvironment());
  g_cli.store(cli);
  const int code = cli->Run(std::vector<std::string>(argv + 1, argv + argc));
  std::cout.flush();
  return code;
}
