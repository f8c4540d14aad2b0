// A plugin binary started for one conformance test: its own scratch directory, its own plugins
// directory, started and answering on its socket.
#ifndef INFRAKIT_TESTS_CONFORMANCE_RUNNING_PLUGIN_H_
#define INFRAKIT_TESTS_CONFORMANCE_RUNNING_PLUGIN_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::tests::conformance {

// How to start one plugin.
struct PluginLaunch {
  // Runfiles path of the binary (relative to the workspace) or an absolute path.
  std::string binary;
  // Passed with --name; the socket is <plugins-dir>/<plugin_name>.sock.
  std::string plugin_name;
  // Further arguments given the scratch directory; may be null.
  std::function<std::vector<std::string>(const std::string& scratch)> args;
  // Extra environment variables.
  std::vector<std::pair<std::string, std::string>> env;
  // How long it may take to answer on its socket.
  absl::Duration deadline = absl::Seconds(20);
};

// Not thread-safe: use from the test's main thread (the process dies with the thread that
// started it).
class RunningPlugin {
 public:
  // Makes a TempDir holding "plugins" (passed with --plugins-dir) and "scratch" (created empty),
  // starts the binary and waits until PluginService.Info answers on its socket. Errors carry
  // the plugin's stderr.
  static absl::StatusOr<std::unique_ptr<RunningPlugin>> Start(const PluginLaunch& launch);

  // Kills the plugin if it still runs.
  ~RunningPlugin() = default;

  // SIGTERM, then waits for the exit. An error unless it exits with status 0 within `deadline`.
  absl::Status Stop(absl::Duration deadline);

  // The plugin's socket path.
  const std::string& socket() const { return socket_; }
  // The scratch directory given to PluginLaunch::args.
  std::string scratch() const { return dir_.Join("scratch"); }
  pid_t pid() const { return process_->pid(); }
  bool Exited() { return process_->Exited(); }
  std::string Stderr() const { return process_->Stderr(); }

  // Its thread count (/proc/<pid>/status), or -1.
  int Threads() const;
  // Its threads by name ("default-executo x2, infrakit-instan x10"), to explain a count.
  std::string ThreadNames() const;

  // The plugin's threads other than gRPC's own pools (executor, timers, event engine,
  // resolver, sync server, the callback completion queue's "nexting" threads): those grow
  // with load up to a bound, or are replaced while old ones still exit, so only the rest can
  // show a leak. -1 when /proc cannot be read.
  int PluginThreads() const;

 private:
  RunningPlugin() = default;

  infrakit::testing::TempDir dir_;
  std::unique_ptr<infrakit::testing::PluginProcess> process_;
  std::string socket_;
};

}  // namespace infrakit::tests::conformance

#endif  // INFRAKIT_TESTS_CONFORMANCE_RUNNING_PLUGIN_H_
