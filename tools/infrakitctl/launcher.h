// `infrakitctl plugin start`: runs plugins as child processes, waits until each answers,
// supervises them (restart with exponential backoff) and stops them all on request.
//
// Everything happens on the thread that calls Run(), which waits in poll(2) on: a wake pipe
// (Stop(), readiness results), one pidfd per child (its exit) and one pipe per child (its
// output). There is no polling loop: the only timeout is the next due restart or the stop
// grace period. Readiness is one PluginService.Info call per start, made with wait_for_ready
// on a helper thread, so gRPC connects as soon as the plugin listens.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_LAUNCHER_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_LAUNCHER_H_

#include <poll.h>
#include <sys/types.h>

#include <atomic>
#include <deque>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace infrakit::tools::infrakitctl {

// One plugin to run.
struct LaunchSpec {
  std::string name;               // its name: the socket is <plugins_dir>/<name>.sock
  std::string binary;             // path of the executable
  std::vector<std::string> args;  // extra arguments; the launcher adds --name and --plugins-dir
};

struct LauncherOptions {
  std::string plugins_dir;  // passed to every plugin as --plugins-dir
  std::string log_dir;      // <log_dir>/<name>.log gets each plugin's output (created 0700)
  // A (re)started plugin must answer PluginService.Info within this long.
  absl::Duration ready_timeout = absl::Seconds(30);
  // Stop(): SIGTERM, then SIGKILL for plugins still running after this long.
  absl::Duration stop_grace = absl::Seconds(5);
  // Restart delays: initial_backoff, doubled after each quick death, at most max_backoff; back
  // to initial_backoff once a plugin has run for stable_after.
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(30);
  absl::Duration stable_after = absl::Seconds(60);
  // Copy each plugin's output to `out`, each line prefixed with the plugin's name.
  bool copy_logs = true;
};

// Messages: the ready table and "restarted" notes go to `out`; problems (a plugin exited, is
// restarted, did not answer) to `err` as "infrakitctl: ...". Both are written only by the
// thread in Run().
//
// Thread-safety: Run() once, from one thread (the one whose exit would kill the children:
// PR_SET_PDEATHSIG). Stop(), Pid() and Restarts() are thread-safe.
class Launcher {
 public:
  Launcher(std::vector<LaunchSpec> plugins, LauncherOptions options, std::ostream* out,
           std::ostream* err);
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Starts every plugin, waits until all answer, prints the plugins table (`plugin ls`'s NAME
  // / LISTEN), then supervises them until Stop(); then stops them (SIGTERM, stop_grace, SIGKILL)
  // and removes sockets they left behind. Returns OK after Stop().
  // Errors (everything started is stopped first): INVALID_ARGUMENT for an empty list or a name
  // given twice; ALREADY_EXISTS when a live server already owns one of the names;
  // FAILED_PRECONDITION when a plugin exits before answering or does not answer within
  // ready_timeout (the message has its last lines of output); INTERNAL when a pipe, a log file
  // or fork fails.
  absl::Status Run();

  // Makes Run() stop the plugins and return (now, or as soon as it starts). Thread-safe; not
  // async-signal-safe (call it from a signal-handling thread, not a handler).
  void Stop();

  // The pid of the running process of plugin `name`, or -1. Thread-safe.
  pid_t Pid(const std::string& name) const;

  // How many times plugin `name` was restarted. Thread-safe.
  int Restarts(const std::string& name) const;

  // Whether every plugin has answered at least once since Run() started. Thread-safe.
  bool AllReady() const;

 private:
  struct Child;
  struct Probe;
  struct ProbeResult {
    size_t child;
    int generation;
    absl::Status status;
  };

  absl::Status Prepare();
  absl::Status StartChild(Child& child);
  void StartProbe(Child& child);
  void FinishProbe(Child& child);
  void OnExit(Child& child, int wait_status);
  // One turn of Run's loop, in order: waits (poll) for output, an exit, a wake-up or the next
  // restart; reads output and reaps exits; takes the probes' results; restarts the plugins
  // whose backoff is over; prints the table once every plugin answered. An error ends Run.
  absl::Status WaitForEvents();
  absl::Status HandleExits(const std::vector<pollfd>& fds);
  absl::Status HandleProbeResults(bool announced);
  void RestartDue();
  void AnnounceIfAllReady(bool* announced);
  void ReadOutput(Child& child, bool flush);
  void EmitLine(Child& child, const std::string& line);
  void Note(Child& child, const std::string& text);
  void StopAll();
  std::string Tail(const Child& child) const;
  void Wake();

  const LauncherOptions options_;
  std::ostream* const out_;
  std::ostream* const err_;
  std::vector<std::unique_ptr<Child>> children_;
  int wake_read_ = -1;
  int wake_write_ = -1;
  int dev_null_ = -1;
  std::atomic<bool> stop_requested_{false};

  mutable absl::Mutex mu_;
  std::vector<ProbeResult> probe_results_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, pid_t> pids_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> restarts_ ABSL_GUARDED_BY(mu_);
  bool all_ready_ ABSL_GUARDED_BY(mu_) = false;
};

// "exited with status 3", "killed by signal 9 (Killed)" for a waitpid() status.
std::string DescribeWaitStatus(int wait_status);

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_LAUNCHER_H_
