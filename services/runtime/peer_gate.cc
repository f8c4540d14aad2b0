#include "services/runtime/peer_gate.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace infrakit::services::runtime {
namespace {

// How long the loop waits before accepting again when the process is out of descriptors.
constexpr int kOutOfDescriptorsPauseMs = 100;

// A uid from a number or a user name; nullopt when it is neither.
std::optional<uid_t> LookUpUid(const std::string& value) {
  uint32_t number = 0;
  if (absl::SimpleAtoi(value, &number)) return static_cast<uid_t>(number);
  struct passwd entry;
  struct passwd* found = nullptr;
  char buffer[4096];
  if (getpwnam_r(value.c_str(), &entry, buffer, sizeof(buffer), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return found->pw_uid;
}

// A gid from a number or a group name; nullopt when it is neither.
std::optional<gid_t> LookUpGid(const std::string& value) {
  uint32_t number = 0;
  if (absl::SimpleAtoi(value, &number)) return static_cast<gid_t>(number);
  struct group entry;
  struct group* found = nullptr;
  char buffer[16384];
  if (getgrnam_r(value.c_str(), &entry, buffer, sizeof(buffer), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return found->gr_gid;
}

}  // namespace

PeerPolicy PeerPolicy::Default() {
  PeerPolicy policy;
  policy.own_uid = getuid();
  return policy;
}

absl::StatusOr<PeerPolicy> PeerPolicy::FromFlags(const std::vector<std::string>& allow_uid,
                                                 const std::vector<std::string>& allow_gid) {
  PeerPolicy policy = Default();
  for (const std::string& value : allow_uid) {
    if (value.empty()) continue;
    std::optional<uid_t> uid = LookUpUid(value);
    if (!uid.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--allow-uid: \"", value, "\" is neither a number nor a user name"));
    }
    policy.uids.push_back(*uid);
  }
  for (const std::string& value : allow_gid) {
    if (value.empty()) continue;
    std::optional<gid_t> gid = LookUpGid(value);
    if (!gid.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--allow-gid: \"", value, "\" is neither a number nor a group name"));
    }
    policy.gids.push_back(*gid);
  }
  return policy;
}

bool PeerPolicy::Allows(const Peer& peer) const {
  if (peer.uid == 0 || peer.uid == own_uid) return true;
  if (std::find(uids.begin(), uids.end(), peer.uid) != uids.end()) return true;
  return std::find(gids.begin(), gids.end(), peer.gid) != gids.end();
}

std::string PeerPolicy::Describe() const {
  std::vector<std::string> parts = {"uid 0 (root)"};
  if (own_uid != 0) parts.push_back(absl::StrCat("uid ", own_uid, " (this server's)"));
  for (uid_t uid : uids) parts.push_back(absl::StrCat("uid ", uid));
  for (gid_t gid : gids) parts.push_back(absl::StrCat("gid ", gid));
  return absl::StrJoin(parts, ", ");
}

absl::StatusOr<std::unique_ptr<PeerGate>> PeerGate::Start(int listen_fd, PeerPolicy policy,
                                                          std::string socket_path, Admit admit) {
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("eventfd for ", socket_path));
  std::unique_ptr<PeerGate> gate(new PeerGate(listen_fd, wake_fd, std::move(policy),
                                              std::move(socket_path), std::move(admit)));
  gate->thread_ = std::thread([raw = gate.get()] { raw->Loop(); });
  return gate;
}

PeerGate::PeerGate(int listen_fd, int wake_fd, PeerPolicy policy, std::string socket_path,
                   Admit admit)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      policy_(std::move(policy)),
      socket_path_(std::move(socket_path)),
      admit_(std::move(admit)) {}

PeerGate::~PeerGate() { Stop(); }

void PeerGate::Stop() {
  if (stopped_) return;
  stopped_ = true;
  const uint64_t one = 1;
  const ssize_t ignored = write(wake_fd_, &one, sizeof(one));
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(wake_fd_);
}

void PeerGate::Loop() {
  int pause_ms = -1;  // wait for an event; a pause only when out of descriptors
  while (true) {
    struct pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    const int n = poll(fds, pause_ms < 0 ? 2 : 1, pause_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      PLOG(ERROR) << "poll of " << socket_path_ << "; no longer accepting connections";
      return;
    }
    if (fds[0].revents != 0) return;  // Stop()
    pause_ms = -1;
    if ((fds[1].revents & POLLIN) != 0 && !AcceptOne()) pause_ms = kOutOfDescriptorsPauseMs;
  }
}

bool PeerGate::AcceptOne() {
  const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      PLOG_EVERY_N(WARNING, 100) << "cannot accept a connection on " << socket_path_;
      return false;
    }
    // EAGAIN (taken already), ECONNABORTED (the client gave up), EINTR: nothing to do.
    return true;
  }
  struct ucred cred = {};
  socklen_t size = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) {
    PLOG(WARNING) << "cannot read the credentials of a connection on " << socket_path_
                  << "; refusing it";
    close(fd);
    refused_.fetch_add(1);
    return true;
  }
  const Peer peer{cred.pid, cred.uid, cred.gid};
  if (!policy_.Allows(peer)) {
    // Closed before gRPC reads anything from it: no call of this process is ever served.
    close(fd);
    refused_.fetch_add(1);
    LogRefusal(peer);
    return true;
  }
  admitted_.fetch_add(1);
  admit_(fd, peer);
  return true;
}

void PeerGate::LogRefusal(const Peer& peer) {
  int64_t unlogged = 0;
  {
    absl::MutexLock lock(&log_mu_);
    const absl::Time now = absl::Now();
    if (now - last_log_ < absl::Seconds(1)) {
      ++unlogged_;
      return;
    }
    last_log_ = now;
    unlogged = std::exchange(unlogged_, 0);
  }
  LOG(WARNING) << "Refused a connection on " << socket_path_ << " from pid " << peer.pid << " uid "
               << peer.uid << " gid " << peer.gid << " (allowed: " << policy_.Describe()
               << "; widen with --allow-uid / --allow-gid)"
               << (unlogged > 0 ? absl::StrCat("; ", unlogged,
                                               " more refused since the last "
                                               "such line")
                                : "");
}

}  // namespace infrakit::services::runtime
