// Tests only: what the instance-vagrant tests run against. A private dockerd (PrivateEngine of
// flavor-swarm's tests: its own data-root, socket and network + mount namespace) holding the
// image "local/busybox", imported offline with `docker import` from a rootfs of Debian's
// busybox-static (/bin/busybox and its applets as links), and the docker CLI pointed at it.
#ifndef INFRAKIT_PLUGINS_INSTANCE_VAGRANT_TEST_ENGINE_H_
#define INFRAKIT_PLUGINS_INSTANCE_VAGRANT_TEST_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/flavor/swarm/private_engine.h"

namespace infrakit::plugins::instance::vagrant {

// The image every test instance runs.
inline constexpr char kTestImage[] = "local/busybox";

// Empty when the tests can run here, else why not ("vagrant is not installed (apt-get install
// --no-install-recommends vagrant)"): root, dockerd and namespaces (PrivateEngine::Missing),
// vagrant, docker and busybox-static.
std::string TestEngineMissing();

// Not thread-safe: use from the test's main thread.
class TestEngine {
 public:
  // Keeps the engine's files under `dir` (which must exist and stay short: the socket lives
  // there).
  explicit TestEngine(std::string dir);
  // Stop().
  ~TestEngine();

  // Starts the engine and imports kTestImage. Errors carry the engine's log or docker's output.
  absl::Status Start();
  // Removes every container (docker rm -f), then stops the engine (its namespaces, mounts and
  // processes go with it).
  void Stop();

  // "unix://<socket>": the plugin's --docker-host.
  std::string docker_host() const;
  // Runs `docker <args>` against the engine: its output, or INTERNAL with it.
  absl::StatusOr<std::string> Docker(const std::vector<std::string>& args) const;
  // The names of the engine's containers (running or not), sorted.
  std::vector<std::string> Containers() const;
  // The names of its running containers, sorted.
  std::vector<std::string> RunningContainers() const;

 private:
  std::string dir_;
  std::unique_ptr<flavor::swarm::PrivateEngine> engine_;
};

}  // namespace infrakit::plugins::instance::vagrant

#endif  // INFRAKIT_PLUGINS_INSTANCE_VAGRANT_TEST_ENGINE_H_
