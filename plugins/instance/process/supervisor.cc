#include "plugins/instance/process/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "plugins/instance/process/proc_stat.h"

namespace infrakit::plugins::instance::process {

// An open pidfd, closed on destruction.
class Supervisor::PidFd {
 public:
  explicit PidFd(int fd) : fd_(fd) {}
  ~PidFd() { close(fd_); }
  PidFd(const PidFd&) = delete;
  PidFd& operator=(const PidFd&) = delete;
  int fd() const { return fd_; }

 private:
  const int fd_;
};

namespace {

// How long to wait for processes to die after SIGKILL: only a process stuck in uninterruptible
// sleep takes longer.
constexpr absl::Duration kKillTimeout = absl::Seconds(10);

std::string ErrnoText(int err) { return std::strerror(err); }

// Debian's glibc 2.36 declares pidfd_open in <sys/pidfd.h> without C linkage, so C++ cannot
// link against it: call the system call directly.
int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Milliseconds left until `deadline`, rounded up, for poll(2).
int PollTimeoutMs(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<double>(std::ceil(absl::ToDoubleMilliseconds(left)), 1 << 30));
}

// True when the process behind `pidfd` has exited (pidfds poll readable then).
bool HasExited(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  int n;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

// Reaps the process behind `pidfd` if it is our child and has exited.
ExitStatus Reap(int pidfd) {
  ExitStatus status;
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  int rc;
  do {
    rc = waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  // ECHILD: not our child (re-adopted); its parent reaps it.
  if (rc != 0 || info.si_pid == 0) return status;
  status.known = true;
  if (info.si_code == CLD_EXITED) {
    status.exit_code = info.si_status;
  } else {
    status.signal = info.si_status;
  }
  return status;
}

// Waits until process group `pgid` has no living member, or `deadline`. Event-driven: opens a
// pidfd for each member found in /proc and polls them all; then scans again in case a member
// forked meanwhile. Returns true when the group is empty.
bool WaitGroupGone(pid_t pgid, absl::Time deadline) {
  for (;;) {
    const std::vector<pid_t> members = LiveProcessGroupMembers(pgid);
    if (members.empty()) return true;
    if (absl::Now() >= deadline) return false;
    std::vector<struct pollfd> fds;
    for (pid_t pid : members) {
      const int fd = PidfdOpen(pid);
      if (fd < 0) continue;  // Gone already (ESRCH), or out of descriptors: rescanned below.
      // The pid may have been reused between the scan and pidfd_open.
      absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
      if (!stat.ok() || stat->pgrp != pgid || !stat->alive()) {
        close(fd);
        continue;
      }
      fds.push_back({fd, POLLIN, 0});
    }
    if (fds.empty()) {
      // Every member vanished between the scan and now (the usual case), or pidfd_open keeps
      // failing (descriptor exhaustion): a short pause keeps the latter from spinning.
      absl::SleepFor(absl::Milliseconds(5));
      continue;
    }
    bool timed_out = false;
    while (!fds.empty()) {
      const int n = poll(fds.data(), fds.size(), PollTimeoutMs(deadline));
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // Unexpected: fall back to scanning again.
      }
      if (n == 0) {
        timed_out = true;
        break;
      }
      std::vector<struct pollfd> still;
      for (const struct pollfd& p : fds) {
        if (p.revents != 0) {
          close(p.fd);
        } else {
          still.push_back({p.fd, POLLIN, 0});
        }
      }
      fds = std::move(still);
    }
    for (const struct pollfd& p : fds) close(p.fd);
    if (timed_out) return LiveProcessGroupMembers(pgid).empty();
  }
}

// Waits until process group `pgid` has no living member, or `deadline`. The group is usually its
// leader alone (an instance that exec'd its program): `leader_gone` waits (up to the deadline)
// until the leader has exited and been reaped, after which a group without members is told by
// kill(-pgid, 0) failing with ESRCH, in O(1); only a group with members left (or its leader's
// zombie not reaped by its parent yet) is scanned for in /proc, which is O(processes on the
// machine) per call: a thousand instances destroyed would otherwise scan a thousand times.
bool WaitGroupGone(pid_t pgid, absl::Time deadline,
                   const std::function<bool(absl::Time)>& leader_gone) {
  if (leader_gone(deadline) && kill(-pgid, 0) != 0 && errno == ESRCH) return true;
  return WaitGroupGone(pgid, deadline);
}

// Signal, grace, SIGKILL for a whole process group led by the process `leader_gone` waits for
// (see above).
absl::Status StopGroup(pid_t pgid, int signal, absl::Duration grace,
                       const std::function<bool(absl::Time)>& leader_gone) {
  if (kill(-pgid, signal) < 0) {
    if (errno == ESRCH) return absl::OkStatus();
    if (errno == EPERM) {
      return absl::PermissionDeniedError(
          absl::StrCat("signalling process group ", pgid, ": ", ErrnoText(errno)));
    }
    return absl::InternalError(
        absl::StrCat("signalling process group ", pgid, ": ", ErrnoText(errno)));
  }
  if (WaitGroupGone(pgid, absl::Now() + grace, leader_gone)) return absl::OkStatus();
  LOG(INFO) << "process group " << pgid << " still running after " << grace
            << " grace; sending SIGKILL";
  if (kill(-pgid, SIGKILL) < 0 && errno != ESRCH) {
    return absl::InternalError(
        absl::StrCat("killing process group ", pgid, ": ", ErrnoText(errno)));
  }
  if (WaitGroupGone(pgid, absl::Now() + kKillTimeout, leader_gone)) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat("process group ", pgid, " survived SIGKILL for ",
                                                  absl::FormatDuration(kKillTimeout)));
}

// Frees the resources of a posix_spawn call on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
};

// Kills and reaps a child we could not supervise.
void KillChild(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// posix_spawn of `program` with `argv` and the rest of `spec` (environment, working directory,
// log, a new session). Everything the child needs is prepared here: posix_spawn runs no code of
// ours in the child, which is what makes starting processes safe in a multithreaded program;
// glibc's posix_spawn shares the parent's memory until the child's exec (CLONE_VFORK), so
// nothing is copied. 0 and the pid in `*pid`, or the errno (of the exec too).
int Spawn(const std::string& program, const std::vector<std::string>& args, const LaunchSpec& spec,
          pid_t* pid) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& var : spec.env) envp.push_back(const_cast<char*>(var.c_str()));
  envp.push_back(nullptr);

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 1, spec.log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);
  // Nothing else of the plugin's leaks: an inherited listening socket would keep a dead
  // plugin's socket looking alive.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  if (!spec.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&setup.actions, spec.working_dir.c_str());
  }
  // A new session: own process group, no controlling terminal. Default signal dispositions
  // and an empty mask, whatever the plugin ignores or blocks.
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  return posix_spawn(pid, program.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (!known) return "exited (status unknown: not our child)";
  if (signal != 0) return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
  return absl::StrCat("exited with code ", exit_code);
}

absl::StatusOr<std::unique_ptr<Supervisor>> Supervisor::Create(ExitCallback on_exit) {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", ErrnoText(errno)));
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const int err = errno;
    close(epoll_fd);
    return absl::InternalError(absl::StrCat("eventfd: ", ErrnoText(err)));
  }
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = 0;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &event) < 0) {
    const int err = errno;
    close(wake_fd);
    close(epoll_fd);
    return absl::InternalError(absl::StrCat("epoll_ctl(eventfd): ", ErrnoText(err)));
  }
  return std::unique_ptr<Supervisor>(new Supervisor(std::move(on_exit), epoll_fd, wake_fd));
}

Supervisor::Supervisor(ExitCallback on_exit, int epoll_fd, int wake_fd)
    : on_exit_(std::move(on_exit)), epoll_fd_(epoll_fd), wake_fd_(wake_fd) {
  monitor_ = std::thread([this] { MonitorLoop(); });
}

Supervisor::~Supervisor() {
  Shutdown();
  {
    absl::MutexLock lock(&mu_);
    entries_.clear();  // Closes the pidfds; the processes live on.
    keys_by_token_.clear();
  }
  close(wake_fd_);
  close(epoll_fd_);
}

void Supervisor::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  // The eventfd is non-blocking; a full counter still leaves it readable, which is all we need.
  (void)!write(wake_fd_, &one, sizeof(one));
  if (monitor_.joinable()) monitor_.join();
}

absl::Status Supervisor::Register(const std::string& key, const ProcessIdentity& process,
                                  std::unique_ptr<PidFd> pidfd) {
  absl::MutexLock lock(&mu_);
  if (entries_.contains(key)) {
    return absl::AlreadyExistsError(absl::StrCat("process key ", key, " is in use"));
  }
  const uint64_t token = next_token_++;
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, pidfd->fd(), &event) < 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl(pidfd): ", ErrnoText(errno)));
  }
  Entry& entry = entries_[key];
  entry.process = process;
  entry.pidfd = std::move(pidfd);
  entry.token = token;
  keys_by_token_[token] = key;
  return absl::OkStatus();
}

absl::StatusOr<ProcessIdentity> Supervisor::Start(const std::string& key, const LaunchSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("launch spec: empty argv");
  {
    absl::MutexLock lock(&mu_);
    if (entries_.contains(key)) {
      return absl::AlreadyExistsError(absl::StrCat("process key ", key, " is in use"));
    }
  }
  const std::string& program = spec.program.empty() ? spec.argv[0] : spec.program;
  pid_t pid = 0;
  int rc = Spawn(program, spec.argv, spec, &pid);
  if (rc != 0 && !spec.fallback_argv.empty()) {
    VLOG(1) << "starting " << program << " for " << key << ": " << ErrnoText(rc) << "; starting "
            << spec.fallback_argv[0] << " instead";
    rc = Spawn(spec.fallback_argv[0], spec.fallback_argv, spec, &pid);
  }
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("starting ", program,
                                            spec.working_dir.empty() ? "" : " in ",
                                            spec.working_dir, ": ", ErrnoText(rc)));
  }
  // Our unreaped child cannot vanish or be replaced before we reap it, so opening its pidfd
  // and reading its start time now is race-free.
  const int fd = PidfdOpen(pid);
  if (fd < 0) {
    const int err = errno;
    KillChild(pid);
    return absl::InternalError(absl::StrCat("pidfd_open(", pid, "): ", ErrnoText(err),
                                            " (instance-process needs Linux >= 5.3)"));
  }
  auto pidfd = std::make_unique<PidFd>(fd);
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  if (!stat.ok()) {
    KillChild(pid);
    return absl::InternalError(
        absl::StrCat("reading the start time of ", pid, ": ", stat.status().message()));
  }
  const ProcessIdentity process{pid, stat->start_time};
  if (absl::Status registered = Register(key, process, std::move(pidfd)); !registered.ok()) {
    KillChild(pid);
    return registered;
  }
  VLOG(1) << "started " << key << " as pid " << pid;
  return process;
}

absl::StatusOr<bool> Supervisor::Adopt(const std::string& key, const ProcessIdentity& process) {
  {
    absl::MutexLock lock(&mu_);
    if (entries_.contains(key)) {
      return absl::AlreadyExistsError(absl::StrCat("process key ", key, " is in use"));
    }
  }
  if (process.pid <= 0) return false;
  // pidfd first, then the start time: if the start time matches, the pidfd refers to that very
  // process (a pid cannot be reused while its process is alive or unreaped).
  const int fd = PidfdOpen(process.pid);
  if (fd < 0) {
    if (errno == ESRCH) {
      KillLeftovers(process);
      return false;
    }
    return absl::InternalError(absl::StrCat("pidfd_open(", process.pid, "): ", ErrnoText(errno)));
  }
  auto pidfd = std::make_unique<PidFd>(fd);
  absl::StatusOr<ProcStat> stat = ReadProcStat(process.pid);
  if (!stat.ok()) {
    if (!absl::IsNotFound(stat.status())) return stat.status();
    KillLeftovers(process);
    return false;
  }
  if (stat->start_time != process.start_time) {
    VLOG(1) << "pid " << process.pid << " now belongs to another process (start time "
            << stat->start_time << ", expected " << process.start_time << ")";
    return false;
  }
  if (!stat->alive() || HasExited(fd)) {
    KillLeftovers(process);  // Before reaping: the unreaped leader keeps its group id reserved.
    Reap(fd);
    return false;
  }
  if (absl::Status registered = Register(key, process, std::move(pidfd)); !registered.ok()) {
    return registered;
  }
  VLOG(1) << "adopted " << key << " (pid " << process.pid << ")";
  return true;
}

absl::Status Supervisor::Stop(const std::string& key, int signal, absl::Duration grace) {
  pid_t pgid;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return absl::NotFoundError(absl::StrCat("no process ", key));
    // Exited: the monitor killed its leftovers then; the group id may be free for reuse now.
    if (it->second.pidfd == nullptr) return absl::OkStatus();
    ++it->second.stops_in_progress;
    pgid = it->second.process.pid;  // It leads its own group.
  }
  absl::Status status = StopGroup(pgid, signal, grace, [this, &key](absl::Time deadline) {
    return WaitExitHandled(key, deadline);
  });
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) --it->second.stops_in_progress;
  }
  return status;
}

bool Supervisor::WaitExitHandled(const std::string& key, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto handled = [this, &key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = entries_.find(key);
    // Once stopping, the monitor handles nothing more: the caller falls back to /proc.
    return stopping_ || it == entries_.end() || it->second.exit_handled;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&handled), deadline);
}

void Supervisor::Release(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.pidfd != nullptr) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.pidfd->fd(), nullptr);
    // Released right after a Stop, before the monitor got to it: an exited child must still be
    // reaped, or it stays a zombie (this returns at once for a living process).
    Reap(it->second.pidfd->fd());
  }
  keys_by_token_.erase(it->second.token);
  entries_.erase(it);
}

void Supervisor::KillLeftovers(const ProcessIdentity& process) {
  if (process.pid <= 0) return;
  absl::StatusOr<ProcStat> stat = ReadProcStat(process.pid);
  // A living process with another start time has that pid now: the group id may be its.
  if (stat.ok() && stat->start_time != process.start_time) return;
  // The leader is gone or an unreaped zombie: a group with its id can only be its own (a
  // group id is not reused while the group has members).
  if (kill(-process.pid, SIGKILL) == 0) {
    VLOG(1) << "killed the leftovers of process group " << process.pid;
  }
}

void Supervisor::MonitorLoop() {
  constexpr int kMaxEvents = 64;
  struct epoll_event events[kMaxEvents];
  for (;;) {
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      LOG(ERROR) << "epoll_wait: " << ErrnoText(errno) << "; process supervision stops";
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == 0) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof(count));
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        continue;
      }
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
      }
      HandleExit(events[i].data.u64);
    }
  }
}

void Supervisor::HandleExit(uint64_t token) {
  std::string key;
  ProcessIdentity process;
  std::unique_ptr<PidFd> pidfd;
  bool stop_in_progress;
  {
    absl::MutexLock lock(&mu_);
    auto key_it = keys_by_token_.find(token);
    if (key_it == keys_by_token_.end()) return;  // Released meanwhile.
    key = key_it->second;
    keys_by_token_.erase(key_it);
    Entry& entry = entries_[key];
    pidfd = std::move(entry.pidfd);
    process = entry.process;
    stop_in_progress = entry.stops_in_progress > 0;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, pidfd->fd(), nullptr);
  }
  // The instance is its leader: whatever it left in its group dies with it. A Stop under way
  // gives those members their grace period instead.
  if (!stop_in_progress) KillLeftovers(process);
  const ExitStatus status = Reap(pidfd->fd());
  pidfd.reset();
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.token == token) it->second.exit_handled = true;
  }
  VLOG(1) << key << " (pid " << process.pid << ") " << status.ToString();
  on_exit_(key, status);
}

}  // namespace infrakit::plugins::instance::process
