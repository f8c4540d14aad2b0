// The plugins a client in another language talks to in tests/interop, and running that client.
#ifndef INFRAKIT_TESTS_INTEROP_INTEROP_ENV_H_
#define INFRAKIT_TESTS_INTEROP_INTEROP_ENV_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::interop {

// What a client run left: its exit and its output.
struct ClientRun {
  // A waitpid() status (see testing::DescribeExit).
  int wait_status = -1;
  std::string stdout_text;
  std::string stderr_text;
  // True when the client exited with status 0.
  bool ok() const;
  // "exited with status 1" and both outputs, for a failure message.
  std::string Describe() const;
};

// The real infrakit-group, infrakit-instance-file and infrakit-flavor-vanilla binaries serving
// in a fresh plugins directory under a mkdtemp("/tmp/ik-XXXXXX") directory (short enough for
// unix socket paths). Not thread-safe: use from the test's main thread.
class InteropPlugins {
 public:
  InteropPlugins() = default;
  InteropPlugins(const InteropPlugins&) = delete;
  InteropPlugins& operator=(const InteropPlugins&) = delete;

  // Starts the three plugins and waits until each answers PluginService.Info. Errors: what
  // PluginProcess::Start or WaitReady returned, with the plugin's stderr.
  absl::Status Start();

  // The plugins directory (the sockets are "<name>.sock" in it).
  std::string plugins_dir() const { return dir_.Join("plugins"); }
  // instance-file's directory: one file per instance.
  std::string instances_dir() const { return dir_.Join("instances"); }
  // A scratch directory for the test's own files (removed with everything else).
  std::string scratch_dir() const { return dir_.Join("scratch"); }
  // The instance files (instance-file's temporaries, dot files, left out).
  std::vector<std::string> Instances() const;

  // Runs `binary` (an absolute path) with `args` and the extra environment `env`, with the
  // working directory of the test and /usr/bin and /bin ahead on PATH, until it exits; kills it
  // at `deadline`. Errors: what PluginProcess::Start returned; DEADLINE_EXCEEDED (with the
  // output so far) when the deadline passed.
  absl::StatusOr<ClientRun> RunClient(const std::string& binary, std::vector<std::string> args,
                                      std::vector<std::pair<std::string, std::string>> env,
                                      absl::Duration deadline);

 private:
  testing::TempDir dir_;
  std::vector<std::unique_ptr<testing::PluginProcess>> plugins_;
  int runs_ = 0;
};

// The directory holding the protos (proto/ among the test's runfiles), for clients that load or
// compile them.
std::string ProtoDir();

}  // namespace infrakit::interop

#endif  // INFRAKIT_TESTS_INTEROP_INTEROP_ENV_H_
