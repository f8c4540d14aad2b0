#include "client/discovery/unix_socket.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace infrakit::client::discovery {

absl::string_view SocketStateName(SocketState state) {
  switch (state) {
    case SocketState::kMissing:
      return "missing";
    case SocketState::kNotSocket:
      return "not a socket";
    case SocketState::kStale:
      return "stale";
    case SocketState::kLive:
      return "alive";
  }
  return "unknown";
}

absl::StatusOr<SocketState> ProbeSocket(absl::string_view path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path \"", path, "\" must be 1 to ",
                                                   sizeof(addr.sun_path) - 1, " bytes long, is ",
                                                   path.size()));
  }
  const std::string p(path);
  struct stat st;
  if (lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return SocketState::kMissing;
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", p));
  }
  if (!S_ISSOCK(st.st_mode)) return SocketState::kNotSocket;

  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, p.data(), p.size());
  // Non-blocking so that a listener with a full backlog cannot stall the probe.
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket(AF_UNIX)");
  int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int err = rc == 0 ? 0 : errno;
  close(fd);
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS) return SocketState::kLive;
  if (err == ECONNREFUSED) return SocketState::kStale;
  if (err == ENOENT) return SocketState::kMissing;  // removed between lstat and connect
  return absl::ErrnoToStatus(err, absl::StrCat("connect ", p));
}

std::string SocketAddress(absl::string_view socket_path) {
  if (!socket_path.empty() && socket_path.front() == '/') {
    return absl::StrCat("unix://", socket_path);
  }
  return absl::StrCat("unix:", socket_path);
}

}  // namespace infrakit::client::discovery
