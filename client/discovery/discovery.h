// Plugin discovery: the plugins directory holds one `<name>.sock` per plugin (docs/design.md),
// so discovery is listing that directory and asking each live socket who it is.
#ifndef INFRAKIT_CLIENT_DISCOVERY_DISCOVERY_H_
#define INFRAKIT_CLIENT_DISCOVERY_DISCOVERY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/discovery/channel.h"      // IWYU pragma: export
#include "client/discovery/unix_socket.h"  // IWYU pragma: export
#include "infrakit/plugin/v1/plugin.pb.h"

namespace infrakit::client::discovery {

// Deadline of the Info call discovery makes to each live plugin.
inline constexpr absl::Duration kDefaultInfoDeadline = absl::Seconds(2);

// One `<name>.sock` in the plugins directory.
struct PluginEntry {
  std::string name;         // the file name without ".sock": the plugin's name
  std::string socket_path;  // "<dir>/<name>.sock"
  // SocketAddress(socket_path), what `plugin ls` prints under LISTEN, e.g.
  // "unix:///run/infrakit/plugins/group.sock".
  std::string address;
  bool alive = false;  // a server accepts connections on it; false = stale (connect refused)
  // The plugin's answer to PluginService.Info (kind, type, version...), when alive and it
  // answered in time; otherwise info_status says why not (e.g. a live socket that is not an
  // InfraKit plugin, or a plugin too busy to answer).
  std::optional<infrakit::plugin::v1::InfoResponse> info;
  absl::Status info_status;
};

// Lists the plugins in `dir`, sorted by name: every `*.sock` entry that is a unix socket, alive or
// stale; other entries (regular files, directories, anything not named *.sock) are ignored. Calls
// PluginService.Info on each live socket with `info_deadline`.
// A missing `dir` is an empty list (no plugin has started yet), not an error.
// Errors: PERMISSION_DENIED / INTERNAL (with the errno text and the directory) when `dir` cannot
// be read. Thread-safe; blocks for at most about info_deadline per live plugin.
absl::StatusOr<std::vector<PluginEntry>> ListPlugins(
    absl::string_view dir, absl::Duration info_deadline = kDefaultInfoDeadline);

// The socket path ("<dir>/<name>.sock") of the live plugin `name` in `dir`; give it to
// MakePluginChannel. Checks liveness by connecting (no RPC).
// Errors: INVALID_ARGUMENT for an empty name or one containing '/'; NOT_FOUND "no plugin named X
// in DIR" when there is no such socket; UNAVAILABLE "plugin X at SOCK does not answer" when the
// socket is stale (or the path is not a socket). Thread-safe; does not block.
absl::StatusOr<std::string> Find(absl::string_view dir, absl::string_view name);

// Calls PluginService.Info on the socket at `socket` (a path or a "unix:" address) with
// `deadline`. Errors: the call's status (UNAVAILABLE when nothing answers, DEADLINE_EXCEEDED...),
// with the socket named in the message. Thread-safe; blocks for at most `deadline`.
absl::StatusOr<infrakit::plugin::v1::InfoResponse> GetInfo(
    absl::string_view socket, absl::Duration deadline = kDefaultInfoDeadline);

}  // namespace infrakit::client::discovery

#endif  // INFRAKIT_CLIENT_DISCOVERY_DISCOVERY_H_
