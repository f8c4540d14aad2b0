// Tests only: a private Docker engine (dockerd 20.10) started by the test, with its own
// data-root, exec-root, socket, pidfile and cgroup parent under one scratch directory and the
// flags that let several run on one machine (no iptables, no bridge, vfs storage). It runs in a
// network and mount namespace of its own (unshare --net --mount), or in another engine's (so
// that engines of one swarm reach each other on 127.0.0.x): what swarm init creates
// (docker_gwbridge, the ingress namespace) and what dockerd mounts vanish with the namespace and
// never touch the machine's. Loopback is brought up in a new namespace; all of 127.0.0.0/8 is
// then local to it.
#ifndef INFRAKIT_PLUGINS_FLAVOR_SWARM_PRIVATE_ENGINE_H_
#define INFRAKIT_PLUGINS_FLAVOR_SWARM_PRIVATE_ENGINE_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace infrakit::plugins::flavor::swarm {

// Processes (other than this one) whose command line contains `needle`, e.g. a test's scratch
// directory: what a test checks is empty once its engines are stopped.
std::vector<pid_t> ProcessesNaming(const std::string& needle);

class PrivateEngine {
 public:
  // Empty when running as root, dockerd, unshare, nsenter and ip are all found and
  // `unshare --net --mount` works (the test can run), else what is missing, e.g. "dockerd is not
  // installed (apt-get install
  // --no-install-recommends docker.io)".
  static std::string Missing();

  // Where the engine keeps everything: `dir` must exist; the engine uses `dir`/<name>.*.
  PrivateEngine(std::string dir, std::string name);
  // Stops the engine (Stop()).
  ~PrivateEngine();
  PrivateEngine(const PrivateEngine&) = delete;
  PrivateEngine& operator=(const PrivateEngine&) = delete;

  // Starts dockerd with engine labels `labels`, in a new namespace (`namespace_of` 0) or in
  // the namespaces of the process `namespace_of` (another engine's pid()), and waits until it
  // answers /_ping (at most `timeout`). Errors carry the end of dockerd's log.
  absl::Status Start(const std::map<std::string, std::string>& labels, pid_t namespace_of = 0,
                     absl::Duration timeout = absl::Seconds(60));

  // Stops the engine: SIGTERM and up to `grace` for it to exit, then SIGKILL; then kills what
  // is left of its containerd. Idempotent.
  void Stop(absl::Duration grace = absl::Seconds(20));

  // kill -9 of dockerd alone (its containerd stays until Stop()).
  void Kill();

  const std::string& socket_path() const { return socket_path_; }
  pid_t pid() const { return pid_; }
  // Resident set size of dockerd plus its containerd, in KiB (0 when not running).
  long RssKib() const;
  // The last `bytes` of dockerd's log.
  std::string LogTail(size_t bytes = 2000) const;

 private:
  std::string dir_;
  std::string name_;
  std::string socket_path_;
  std::string exec_root_;
  std::string log_path_;
  pid_t pid_ = 0;
};

}  // namespace infrakit::plugins::flavor::swarm

#endif  // INFRAKIT_PLUGINS_FLAVOR_SWARM_PRIVATE_ENGINE_H_
