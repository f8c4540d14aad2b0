// Liveness of a unix domain socket file, decided the way the kernel decides it: by connecting.
// Shared by the plugin server runtime (stale or live socket before taking a name) and by
// discovery (alive or stale in `plugin ls`).
#ifndef INFRAKIT_CLIENT_DISCOVERY_UNIX_SOCKET_H_
#define INFRAKIT_CLIENT_DISCOVERY_UNIX_SOCKET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace infrakit::client::discovery {

// What is at a socket path.
enum class SocketState {
  kMissing,    // nothing at the path
  kNotSocket,  // something that is not a unix socket (a regular file, a directory...)
  kStale,      // a socket file nobody listens on (its server died without removing it)
  kLive,       // a socket a process accepts connections on
};

// Returns a short lower-case word for `state` ("missing", "not a socket", "stale", "alive").
absl::string_view SocketStateName(SocketState state);

// Classifies `path` by lstat() and, for a socket, a non-blocking connect(). A connect that is
// refused (ECONNREFUSED) means stale; one that succeeds or is merely queued (EAGAIN: the
// listener's backlog is full, so someone is listening) means live. Never blocks for long: a unix
// connect either completes or fails at once.
// Errors: INVALID_ARGUMENT if `path` does not fit in sockaddr_un (108 bytes);
// PERMISSION_DENIED / INTERNAL with the errno text for other failures (e.g. a directory on the
// path is not searchable). Thread-safe.
absl::StatusOr<SocketState> ProbeSocket(absl::string_view path);

// The dial/listen address of a socket path: "unix:///abs/path" for an absolute path (the form
// `plugin ls` prints under LISTEN, as the original InfraKit does), "unix:rel/path" for a relative
// one. Thread-safe (pure).
std::string SocketAddress(absl::string_view socket_path);

}  // namespace infrakit::client::discovery

#endif  // INFRAKIT_CLIENT_DISCOVERY_UNIX_SOCKET_H_
