#include "tests/e2e/chaos/chaos_cluster.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/discovery/channel.h"
#include "tests/e2e/chaos/ground_truth.h"
#include "tests/testing/wait_for.h"

namespace infrakit::testing {
namespace {

// Generous: the machine is shared and a restart loads a binary from a cold page cache.
constexpr absl::Duration kStartDeadline = absl::Seconds(30);
constexpr absl::Duration kClientDeadline = absl::Seconds(20);

const char* Binary(const std::string& name) {
  if (name == "group") return "services/group/server/infrakit-group";
  if (name == "instance-process") return "plugins/instance/process/infrakit-instance-process";
  if (name == "instance-file") return "plugins/instance/file/infrakit-instance-file";
  return "plugins/flavor/vanilla/infrakit-flavor-vanilla";
}

std::string Tail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  return s.size() > bytes ? "..." + s.substr(s.size() - bytes) : s;
}

// Uniform in [lo, hi] milliseconds.
absl::Duration Millis(std::mt19937_64& rng, int lo, int hi) {
  return absl::Milliseconds(std::uniform_int_distribution<int>(lo, hi)(rng));
}

}  // namespace

std::string DescribeFault(const Fault& fault, const std::string& target_name) {
  const std::string hold = absl::FormatDuration(fault.hold);
  switch (fault.kind) {
    case FaultKind::kKill:
      return absl::StrCat("kill -9 ", target_name, ", down ", hold);
    case FaultKind::kStop:
      return absl::StrCat("SIGSTOP ", target_name, " for ", hold);
    case FaultKind::kSocketRemoved:
      return absl::StrCat("rm the socket of ", target_name, ", restart after ", hold);
    case FaultKind::kStaleSocket:
      return absl::StrCat("kill -9 ", target_name, ", a stale socket in its place for ", hold);
  }
  return "?";
}

Fault DrawFault(std::mt19937_64& rng) {
  Fault f;
  f.target = static_cast<Role>(std::uniform_int_distribution<int>(0, 2)(rng));
  // Kill and stop are the common faults; the socket faults are rarer, as in life.
  const int kind = std::uniform_int_distribution<int>(0, 9)(rng);
  f.kind = kind < 4   ? FaultKind::kKill
           : kind < 7 ? FaultKind::kStop
           : kind < 8 ? FaultKind::kSocketRemoved
                      : FaultKind::kStaleSocket;
  f.before = Millis(rng, 0, 700);
  f.overlap = f.kind == FaultKind::kStop && std::uniform_int_distribution<int>(0, 2)(rng) == 0;
  switch (f.kind) {
    case FaultKind::kKill:
      f.hold = Millis(rng, 0, 400);
      break;
    case FaultKind::kStop:
      f.hold = Millis(rng, 50, 1500);
      break;
    case FaultKind::kSocketRemoved:
    case FaultKind::kStaleSocket:
      f.hold = Millis(rng, 100, 800);
      break;
  }
  return f;
}

ChaosCluster::ChaosCluster(const TempDir* dir, std::string instance_plugin)
    : dir_(dir), names_{"group", std::move(instance_plugin), "flavor-vanilla"} {}

ChaosCluster::~ChaosCluster() { KillAll(); }

std::string ChaosCluster::socket(Role role) const {
  return absl::StrCat(plugins_dir(), "/", name(role), ".sock");
}

absl::Status ChaosCluster::Start() {
  for (const std::string& d : {plugins_dir(), instances_dir(), ready_dir()}) {
    if (mkdir(d.c_str(), 0700) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", d));
    }
  }
  // The plugins first, as scripts/run.sh does: the group service finds them at once.
  for (Role role : {Role::kInstance, Role::kFlavor, Role::kGroup}) {
    absl::Status started = StartProcess(role);
    if (!started.ok()) return started;
  }
  return absl::OkStatus();
}

absl::Status ChaosCluster::StartProcess(Role role) {
  const int r = static_cast<int>(role);
  processes_[r] = std::make_unique<PluginProcess>(Binary(name(role)), Args(role), dir_->path());
  ++starts_[r];
  absl::Status started = processes_[r]->Start();
  if (started.ok()) started = processes_[r]->WaitReady(socket(role), kStartDeadline);
  if (!started.ok()) {
    return absl::Status(started.code(),
                        absl::StrCat(name(role), " (start ", starts_[r], "): ", started.message()));
  }
  if (role == Role::kGroup) groups_ = NewGroupClient();
  return absl::OkStatus();
}

std::unique_ptr<client::GroupClient> ChaosCluster::NewGroupClient() const {
  return std::make_unique<client::GroupClient>(
      client::discovery::MakePluginChannel(socket(Role::kGroup)), kClientDeadline);
}

absl::Status ChaosCluster::InjectWhileStopped(const Fault& stop, const Fault& inner) {
  absl::SleepFor(stop.before);  // The random point of the fault: nothing is waited for.
  ++injected_[static_cast<int>(FaultKind::kStop)];
  absl::Status stopped = process(stop.target).Signal(SIGSTOP);
  if (!stopped.ok()) return stopped;
  absl::SleepFor(stop.hold);  // The fault's duration.
  absl::Status done = Inject(inner);
  absl::Status resumed = process(stop.target).Signal(SIGCONT);
  return done.ok() ? resumed : done;
}

absl::Status ChaosCluster::Inject(const Fault& fault) {
  absl::SleepFor(fault.before);  // The random point of the fault: nothing is waited for.
  switch (fault.kind) {
    case FaultKind::kKill:
      return Kill(fault);
    case FaultKind::kStop:
      return Stop(fault);
    case FaultKind::kSocketRemoved:
      return SocketRemoved(fault);
    case FaultKind::kStaleSocket:
      return StaleSocket(fault);
  }
  return absl::InternalError("unknown fault");
}

void ChaosCluster::KillProcess(Role role) {
  ++injected_[static_cast<int>(FaultKind::kKill)];
  process(role).Kill();
}

absl::Status ChaosCluster::TerminateProcess(Role role) {
  PluginProcess& p = process(role);
  absl::Status signalled = p.Signal(SIGTERM);
  if (!signalled.ok()) return signalled;
  absl::StatusOr<int> exited = p.Wait(kStartDeadline);
  if (!exited.ok()) {
    return absl::Status(
        exited.status().code(),
        absl::StrCat(name(role), " did not stop on SIGTERM: ", exited.status().message()));
  }
  if (!WIFEXITED(*exited) || WEXITSTATUS(*exited) != 0) {
    return absl::InternalError(
        absl::StrCat(name(role), " ", DescribeExit(*exited), " on SIGTERM\n", p.Stderr()));
  }
  return absl::OkStatus();
}

absl::Status ChaosCluster::RemoveSocket(Role role) {
  ++injected_[static_cast<int>(FaultKind::kSocketRemoved)];
  if (unlink(socket(role).c_str()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("rm ", socket(role)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ChaosCluster::BindStaleSocket(Role role) {
  ++injected_[static_cast<int>(FaultKind::kStaleSocket)];
  const std::string path = socket(role);
  unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, absl::StrCat("bind ", path));
  }
  return fd;
}

absl::Status ChaosCluster::Kill(const Fault& fault) {
  KillProcess(fault.target);
  absl::SleepFor(fault.hold);  // The fault's duration.
  return StartProcess(fault.target);
}

absl::Status ChaosCluster::Stop(const Fault& fault) {
  ++injected_[static_cast<int>(FaultKind::kStop)];
  absl::Status stopped = process(fault.target).Signal(SIGSTOP);
  if (!stopped.ok()) return stopped;
  absl::SleepFor(fault.hold);  // The fault's duration.
  return process(fault.target).Signal(SIGCONT);
}

absl::Status ChaosCluster::SocketRemoved(const Fault& fault) {
  absl::Status removed = RemoveSocket(fault.target);
  if (!removed.ok()) return removed;
  absl::SleepFor(fault.hold);  // The fault's duration.
  // The operator notices and restarts the process: it must stop cleanly without its socket.
  absl::Status stopped = TerminateProcess(fault.target);
  if (!stopped.ok()) return stopped;
  return StartProcess(fault.target);
}

absl::Status ChaosCluster::StaleSocket(const Fault& fault) {
  KillProcess(fault.target);
  absl::StatusOr<int> fd = BindStaleSocket(fault.target);
  if (!fd.ok()) return fd.status();
  absl::SleepFor(fault.hold);  // The fault's duration: bound, never listening.
  absl::Status started = StartProcess(fault.target);
  close(*fd);
  return started;
}

std::vector<std::string> ChaosCluster::Args(Role role) const {
  std::vector<std::string> args = {"--plugins-dir", plugins_dir()};
  if (role == Role::kGroup) {
    // A short resync: the safety net runs several times in a phase.
    args.insert(args.end(), {"--state-dir", state_dir(), "--resync-period", "2s", "--log", "1"});
  } else if (role == Role::kInstance) {
    args.insert(args.end(), {"--dir", instances_dir()});
  }
  return args;
}

absl::StatusOr<std::pair<int, std::string>> ChaosCluster::RunSecond(Role role,
                                                                    const std::string& name,
                                                                    absl::Duration deadline) {
  std::vector<std::string> args = Args(role);
  args.insert(args.end(), {"--name", name});
  PluginProcess second(Binary(this->name(role)), args, dir_->path());
  absl::Status started = second.Start();
  if (!started.ok()) return started;
  absl::StatusOr<int> exited = second.Wait(deadline);
  if (!exited.ok()) {
    return absl::Status(exited.status().code(),
                        absl::StrCat("the second ", this->name(role), " did not exit: ",
                                     exited.status().message(), "\n", second.Stderr()));
  }
  return std::make_pair(*exited, second.Stderr());
}

std::string ChaosCluster::Logs() const {
  std::string out;
  for (int r = 0; r < 3; ++r) {
    if (processes_[r] == nullptr) continue;
    absl::StrAppend(&out, "\n--- ", names_[r], " (start ", starts_[r], ", ",
                    processes_[r]->stderr_path(), ") ---\n",
                    Tail(processes_[r]->stderr_path(), 6000));
  }
  return out;
}

void ChaosCluster::KillAll() {
  if (processes_[static_cast<int>(Role::kGroup)] != nullptr) process(Role::kGroup).Kill();
  for (auto& p : processes_) {
    if (p != nullptr) p->Signal(SIGCONT).IgnoreError();  // Nothing stays frozen.
  }
  // Instance processes lead sessions of their own: end each one's process group, then it.
  WaitFor(
      [&] {
        bool none = true;
        for (pid_t pid : InstancePids(instances_dir())) {
          none = false;
          if (getpgid(pid) == pid) kill(-pid, SIGKILL);
          kill(pid, SIGKILL);
        }
        return none;
      },
      absl::Seconds(30));
}

}  // namespace infrakit::testing
