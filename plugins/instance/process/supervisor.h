// Supervision of OS processes for instance-process: starting a command in its own session,
// learning at once when it dies, stopping its whole process tree, and re-adopting processes a
// previous plugin process started.
//
// Death is noticed without polling: each supervised process has a pidfd (pidfd_open, Linux >=
// 5.3) registered in one epoll set, and one monitoring thread blocks in epoll_wait on that set
// plus an eventfd used to stop it. pidfds work for children and for re-adopted processes that
// are not our children alike; children are reaped (waitid P_PIDFD) so that none stays a zombie.
//
// Processes outlive the Supervisor: destroying it closes its descriptors and kills nothing.
// Started processes lead their own session (setsid), so they are not in the plugin's process
// group, have no controlling terminal (no SIGHUP when the plugin's terminal goes away), and
// do not inherit the plugin's descriptors or signal dispositions.
#ifndef INFRAKIT_PLUGINS_INSTANCE_PROCESS_SUPERVISOR_H_
#define INFRAKIT_PLUGINS_INSTANCE_PROCESS_SUPERVISOR_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace infrakit::plugins::instance::process {

// How to start one process.
struct LaunchSpec {
  // The file to execute (no PATH lookup; relative to working_dir); empty: argv[0].
  std::string program;
  // The program's arguments, argv[0] included.
  std::vector<std::string> argv;
  // When not empty: started instead (its argv[0] being its file) when `program` cannot be
  // started (it vanished, is not executable, is a script without `#!`), e.g. the shell command
  // that `program` short-cuts, so that the shell decides what happens then.
  std::vector<std::string> fallback_argv;
  // The complete environment, "NAME=value" each.
  std::vector<std::string> env;
  // Absolute working directory; empty keeps the plugin's.
  std::string working_dir;
  // Absolute path of the file that stdout and stderr are appended to (created 0644). stdin is
  // /dev/null.
  std::string log_path;
};

// One process for the life of the machine: pids are reused, (pid, start time) are not.
struct ProcessIdentity {
  pid_t pid = 0;
  // Field 22 of /proc/<pid>/stat.
  uint64_t start_time = 0;
};

// How a supervised process ended.
struct ExitStatus {
  // True when this supervisor reaped the process (it was its child); the fields below are
  // meaningful only then. Re-adopted processes are reaped by their own parent.
  bool known = false;
  // Exit code when it exited, or 0.
  int exit_code = 0;
  // Signal number when a signal killed it, or 0.
  int signal = 0;

  // "exited with code 3", "killed by signal 9 (Killed)", "exited (status unknown)".
  std::string ToString() const;
};

class Supervisor {
 public:
  // Called once per supervised process when it exits (whatever the cause, Stop included), on
  // the monitoring thread, with no Supervisor lock held: it may call Release but must not call
  // Stop (which waits for the monitoring thread's help) and should return quickly.
  using ExitCallback = std::function<void(const std::string& key, const ExitStatus& status)>;

  // Creates the epoll set and the wake-up eventfd and starts the monitoring thread. INTERNAL
  // when the kernel refuses (no pidfd support is detected at the first Start/Adopt).
  static absl::StatusOr<std::unique_ptr<Supervisor>> Create(ExitCallback on_exit);

  // Shutdown(), then closes the descriptors. Kills nothing: the processes keep running.
  ~Supervisor();

  // Stops the monitoring thread: no callback runs once this returns (one under way is waited
  // for, and may still call Release). Idempotent. Must not be called from the callback. The
  // owner calls it before tearing down what the callback uses.
  void Shutdown();

  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts `spec` as the leader of a new session and process group and supervises it under
  // `key` (any string unique among the supervised, e.g. an instance ID). Once this returns the
  // exit callback may fire (even before the caller has seen the result, for a process that dies
  // at once). Errors: ALREADY_EXISTS for a key in use, INVALID_ARGUMENT for an empty argv,
  // INTERNAL (with errno text) when spawning fails (e.g. the working directory does not exist;
  // with a fallback_argv, when that fails too). Thread-safe.
  absl::StatusOr<ProcessIdentity> Start(const std::string& key, const LaunchSpec& spec);

  // Supervises, under `key`, a process started earlier (by an earlier plugin process, say) if
  // it is still that process: its pid exists, is not a zombie, and its start time matches.
  // Returns true when adopted. Returns false when it is dead (it is reaped if it was our
  // child, and what remains of its process group is killed) or when the pid now belongs to
  // another process (which is left alone). Errors: ALREADY_EXISTS for a key in use, INTERNAL
  // when the kernel refuses a pidfd. Thread-safe.
  absl::StatusOr<bool> Adopt(const std::string& key, const ProcessIdentity& process);

  // Stops the process group of the process supervised under `key` (which leads it): sends
  // `signal` to the group, waits up to `grace` for every member to exit, then sends SIGKILL to
  // the group and waits for the members to die. Members that left the group (setsid/setpgid)
  // are not reached. Blocks for up to `grace` plus a few seconds. The exit callback still fires
  // for the leader. Errors: NOT_FOUND for an unknown key; PERMISSION_DENIED when the group may
  // not be signalled; DEADLINE_EXCEEDED when members survive SIGKILL (uninterruptible sleep).
  // When the leader has already exited, its leftovers were killed then, and this returns OK.
  // Thread-safe; concurrent Stops of one key each do the whole sequence.
  absl::Status Stop(const std::string& key, int signal, absl::Duration grace);

  // Forgets `key` (closing its pidfd) without touching the process; no callback follows for
  // it unless one is already under way. No-op for an unknown key. Thread-safe; may be called
  // from the exit callback.
  void Release(const std::string& key);

  // Kills (SIGKILL) what remains of the process group led by the dead process `process`,
  // unless its pid now belongs to another process. Thread-safe.
  static void KillLeftovers(const ProcessIdentity& process);

 private:
  class PidFd;
  struct Entry {
    ProcessIdentity process;
    std::unique_ptr<PidFd> pidfd;  // Null once the process has exited.
    uint64_t token = 0;            // epoll data of its pidfd.
    int stops_in_progress = 0;     // While > 0, Stop handles the group, not the monitor.
    bool exit_handled = false;     // The monitor has seen its exit and reaped it (if ours).
  };

  Supervisor(ExitCallback on_exit, int epoll_fd, int wake_fd);

  // Registers an open pidfd under `key`. Fails when the key is in use.
  absl::Status Register(const std::string& key, const ProcessIdentity& process,
                        std::unique_ptr<PidFd> pidfd);
  void MonitorLoop();
  // Waits until the monitor has handled the exit of the process under `key` (or `key` is no
  // longer supervised, or supervision stops), at most until `deadline`. True when it has.
  bool WaitExitHandled(const std::string& key, absl::Time deadline);
  void HandleExit(uint64_t token);

  const ExitCallback on_exit_;
  const int epoll_fd_;
  const int wake_fd_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::string> keys_by_token_ ABSL_GUARDED_BY(mu_);
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;  // 0 is the eventfd's.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::thread monitor_;
};

}  // namespace infrakit::plugins::instance::process

#endif  // INFRAKIT_PLUGINS_INSTANCE_PROCESS_SUPERVISOR_H_
