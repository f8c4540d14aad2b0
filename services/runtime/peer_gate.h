// Who may talk to a plugin: the accept loop of a plugin's unix socket, which checks each
// connecting process's credentials (SO_PEERCRED) before gRPC sees a byte from it.
//
// gRPC C++ does not hand a server the sockets it accepts, so a plugin accepts them itself: the
// PeerGate owns the listening socket, accepts on a thread of its own, refuses (closes) the
// connections of processes the PeerPolicy does not allow, logging who they were (at most one
// line per second, with a count of the refusals not logged), and hands each allowed connection
// to its `admit` callback (the PluginServer gives it to gRPC with AddInsecureChannelFromFd).
#ifndef INFRAKIT_SERVICES_RUNTIME_PEER_GATE_H_
#define INFRAKIT_SERVICES_RUNTIME_PEER_GATE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace infrakit::services::runtime {

// The credentials of a connecting process, as SO_PEERCRED reports them.
struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Which processes may connect: root, the server's own uid, and the uids and (primary) gids
// listed. Copyable; thread-safe to read.
struct PeerPolicy {
  uid_t own_uid = 0;
  std::vector<uid_t> uids;
  std::vector<gid_t> gids;

  // Root and the calling process's uid only.
  static PeerPolicy Default();
  // Default() widened by `--allow-uid` / `--allow-gid` values: each a number or a user / group
  // name. INVALID_ARGUMENT naming the flag and the value when one is neither.
  static absl::StatusOr<PeerPolicy> FromFlags(const std::vector<std::string>& allow_uid,
                                              const std::vector<std::string>& allow_gid);

  // Whether `peer` may connect.
  bool Allows(const Peer& peer) const;
  // Whether anyone besides root and the server's own uid may connect (then the socket must be
  // reachable by others: the PluginServer makes it 0666 and relies on this check).
  bool widened() const { return !uids.empty() || !gids.empty(); }
  // E.g. "uid 0 (root), uid 1000, gid 27": for log lines.
  std::string Describe() const;
};

class PeerGate {
 public:
  // Called on the gate's thread with each allowed connection (non-blocking, close-on-exec),
  // which it then owns.
  using Admit = std::function<void(int fd, const Peer& peer)>;

  // Takes `listen_fd` (a bound, listening, non-blocking unix socket; owned once started, closed
  // by Stop) and starts accepting on a thread of its own. `socket_path` names the socket in log
  // lines. Errors: the errno's code when the thread's wake-up descriptor cannot be made (the
  // caller still owns `listen_fd` then).
  static absl::StatusOr<std::unique_ptr<PeerGate>> Start(int listen_fd, PeerPolicy policy,
                                                         std::string socket_path, Admit admit);

  // Stop()s.
  ~PeerGate();
  PeerGate(const PeerGate&) = delete;
  PeerGate& operator=(const PeerGate&) = delete;

  // Stops accepting: wakes and joins the thread and closes the listening socket. Connections
  // already admitted are not touched. Idempotent; not from an Admit callback.
  void Stop();

  // How many connections were refused / admitted so far. Thread-safe.
  int64_t refused() const { return refused_.load(); }
  int64_t admitted() const { return admitted_.load(); }

 private:
  PeerGate(int listen_fd, int wake_fd, PeerPolicy policy, std::string socket_path, Admit admit);

  // The thread: waits for connections (or the wake-up), accepts and judges them.
  void Loop();
  // Accepts one waiting connection, if any, and admits or refuses it. False when the process
  // is out of descriptors (the loop then waits a little before trying again).
  bool AcceptOne();
  // Logs a refusal, at most once per second (the others are counted and told in the next line).
  void LogRefusal(const Peer& peer) ABSL_LOCKS_EXCLUDED(log_mu_);

  const int listen_fd_;
  const int wake_fd_;
  const PeerPolicy policy_;
  const std::string socket_path_;
  const Admit admit_;
  std::atomic<int64_t> refused_{0};
  std::atomic<int64_t> admitted_{0};
  absl::Mutex log_mu_;
  absl::Time last_log_ ABSL_GUARDED_BY(log_mu_) = absl::InfinitePast();
  int64_t unlogged_ ABSL_GUARDED_BY(log_mu_) = 0;
  std::thread thread_;
  bool stopped_ = false;  // set by Stop(), which is not thread-safe
};

}  // namespace infrakit::services::runtime

#endif  // INFRAKIT_SERVICES_RUNTIME_PEER_GATE_H_
