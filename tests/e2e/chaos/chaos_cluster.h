// The processes of the chaos test and the faults done to them: the real infrakit-group, an
// instance plugin (infrakit-instance-process or infrakit-instance-file) and
// infrakit-flavor-vanilla, started as a user starts them (each with --plugins-dir, listening on
// <plugins dir>/<name>.sock), then killed, stopped, or robbed of their socket at random points.
//
// Not thread-safe: use from the test's main thread (PluginProcess: the children die with the
// thread that started them, so faults that restart a process run there too).
#ifndef INFRAKIT_TESTS_E2E_CHAOS_CHAOS_CLUSTER_H_
#define INFRAKIT_TESTS_E2E_CHAOS_CHAOS_CLUSTER_H_

#include <array>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/group_client.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::testing {

// The three processes a fault may hit.
enum class Role { kGroup = 0, kInstance = 1, kFlavor = 2 };

enum class FaultKind {
  // kill -9, down for `hold`, started again (on the dead socket file it left).
  kKill,
  // SIGSTOP, frozen for `hold`, SIGCONT.
  kStop,
  // The socket file removed under the running process: for `hold` nobody can connect to it
  // (connections made before still work); then it is restarted (SIGTERM, which must end it
  // cleanly, and started again).
  kSocketRemoved,
  // kill -9, then a stale socket at its path: a socket bound there but not listening
  // (connections refused) for `hold`, still bound while the process starts again (which must
  // replace it).
  kStaleSocket,
};

struct Fault {
  Role target = Role::kGroup;
  FaultKind kind = FaultKind::kKill;
  // Pause before the fault, from the end of the previous one (or the start of the phase).
  absl::Duration before;
  absl::Duration hold;
  // kStop only: the next fault (on another process) comes while this one is frozen, so that
  // faults combine (e.g. the instance plugin frozen mid-Provision while the group service is
  // killed and restarted).
  bool overlap = false;
};

// "kill -9 instance-process, down 120ms".
std::string DescribeFault(const Fault& fault, const std::string& target_name);

// A fault drawn from `rng`: target and kind uniform, pauses and holds short enough for a phase
// to see several faults and long enough for calls to time out and streams to break.
Fault DrawFault(std::mt19937_64& rng);

class ChaosCluster {
 public:
  // `instance_plugin`: "instance-process" or "instance-file". Processes run in `dir` (logs,
  // plugins dir, instances dir, the group's state dir).
  ChaosCluster(const TempDir* dir, std::string instance_plugin);
  ~ChaosCluster();

  // Starts the three processes and waits until each answers. Errors name the process, with
  // its stderr.
  absl::Status Start();

  // Does `fault`, its `before` pause included; the process is running and answering again when
  // this returns. Errors: a process that does not come back, or does not stop on SIGTERM.
  absl::Status Inject(const Fault& fault);
  // `stop` (a kStop fault) with `inner` (on another process) done while its target is frozen:
  // `stop.before`, SIGSTOP, `stop.hold`, `inner`, SIGCONT.
  absl::Status InjectWhileStopped(const Fault& stop, const Fault& inner);

  // The primitives the faults are made of, for tests that do them one by one.
  // Starts the role's process (again) and waits until it answers.
  absl::Status StartProcess(Role role);
  // SIGKILL, reaped; its socket file stays behind, dead.
  void KillProcess(Role role);
  // SIGTERM; the process must exit 0 within the start deadline.
  absl::Status TerminateProcess(Role role);
  // Removes the role's socket file (the process keeps running).
  absl::Status RemoveSocket(Role role);
  // Puts a socket bound but not listening at the role's socket path (connections to it are
  // refused) in place of what is there; the caller closes the returned descriptor (the file
  // stays, a dead socket).
  absl::StatusOr<int> BindStaleSocket(Role role);

  // A second process of `role` on the same state or instance directory, under `name`, run
  // until it exits (within `deadline`); returns its waitpid status and its stderr.
  absl::StatusOr<std::pair<int, std::string>> RunSecond(Role role, const std::string& name,
                                                        absl::Duration deadline);

  // A client of the group service, made afresh after each restart of it.
  client::GroupClient& groups() { return *groups_; }
  // A new client of the group service (for a thread of its own).
  std::unique_ptr<client::GroupClient> NewGroupClient() const;

  const std::string& name(Role role) const { return names_[static_cast<int>(role)]; }
  std::string socket(Role role) const;
  std::string plugins_dir() const { return dir_->Join("plugins"); }
  std::string instances_dir() const { return dir_->Join("instances"); }
  std::string ready_dir() const { return dir_->Join("ready"); }
  std::string state_dir() const { return dir_->Join("state"); }
  PluginProcess& process(Role role) { return *processes_[static_cast<int>(role)]; }

  // How many faults of each FaultKind were done, by Inject or the primitives: kill -9 (those
  // of kStaleSocket included), SIGSTOP, sockets removed, stale sockets bound.
  const std::array<int, 4>& injected() const { return injected_; }

  // The processes' logs (the latest process of each role), for failure messages.
  std::string Logs() const;

  // Kills the group service, then every instance process left under the instances dir (so a
  // failed run leaves nothing behind). Idempotent.
  void KillAll();

 private:
  // The command line of the role's process: as a user starts it.
  std::vector<std::string> Args(Role role) const;
  absl::Status Kill(const Fault& fault);
  absl::Status Stop(const Fault& fault);
  absl::Status SocketRemoved(const Fault& fault);
  absl::Status StaleSocket(const Fault& fault);

  const TempDir* dir_;
  std::array<std::string, 3> names_;
  std::array<std::unique_ptr<PluginProcess>, 3> processes_;
  std::array<int, 3> starts_ = {0, 0, 0};
  std::array<int, 4> injected_ = {0, 0, 0, 0};
  std::unique_ptr<client::GroupClient> groups_;
};

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_E2E_CHAOS_CHAOS_CLUSTER_H_
