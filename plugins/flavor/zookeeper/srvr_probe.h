// Asking a ZooKeeper server how it is: the `srvr` four-letter word over a plain TCP socket, and
// its answer parsed.
//
// `srvr` is the health signal because it reports the server's part in a working ensemble
// ("Mode: leader", "follower", "observer", "standalone") or that it is not serving ("This
// ZooKeeper instance is not currently serving requests", e.g. without a quorum). `ruok` is
// never used: a server answers "imok" to it without a quorum.
#ifndef INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_SRVR_PROBE_H_
#define INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_SRVR_PROBE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace infrakit::plugins::flavor::zookeeper {

// What a `srvr` answer says.
struct ServerState {
  // False for "not currently serving requests"; the other fields are then empty.
  bool serving = false;
  // "leader", "follower", "observer", "standalone" (or another mode a later ZooKeeper reports).
  std::string mode;
  // The "Zxid:" line's value, e.g. "0x100000002"; empty if absent.
  std::string zxid;
};

// Parses the text a server sends back for `srvr`. INVALID_ARGUMENT (quoting the start of the
// text) when it is neither the not-serving message nor a text with a "Mode: " line.
// Thread-safe (pure).
absl::StatusOr<ServerState> ParseSrvr(absl::string_view answer);

// Sends `word` (e.g. "srvr") to ip:port and returns everything the server sends back until it
// closes the connection. The whole exchange (connect, send, read) is bounded by `timeout`.
// UNAVAILABLE "connect to ip:port: Connection refused" (or another socket error);
// DEADLINE_EXCEEDED "no answer from ip:port within 1s" when the server does not answer or close
// in time; INVALID_ARGUMENT for an `ip` that is not an IPv4 address. Thread-safe; blocks up to
// `timeout`.
absl::StatusOr<std::string> AskFourLetterWord(const std::string& ip, int port,
                                              absl::string_view word, absl::Duration timeout);

}  // namespace infrakit::plugins::flavor::zookeeper

#endif  // INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_SRVR_PROBE_H_
