// The instance properties instance-process understands (a group config's
// Instance.Properties), and their checking.
//
//   {
//     "Command": "exec python3 -m http.server 8080",  // optional, see below
//     "Dir": "/srv/www",                  // working directory; default: the instance's own
//                                         // directory; relative paths are relative to it
//     "Env": {"PORT": "8080"},            // extra environment variables (string values)
//     "StopSignal": "TERM",               // signal Destroy sends first (default TERM)
//     "StopGraceSeconds": 10              // wait before SIGKILL (default 10, at most 3600)
//   }
//
// The instance process is `/bin/sh <instance dir>/init.sh` (the spec's init script). With
// Command set, the init script runs first, in addition: when it succeeds, the same process
// execs `/bin/sh -c <Command>`, which then is the instance; when it fails, the instance dies.
// This lets a flavor prepare an instance (init) and the group config say what runs (Command).
// With an init script of blanks the Command starts at once, and without a shell when it is a
// plain simple command (simple_command.h).
#ifndef INFRAKIT_PLUGINS_INSTANCE_PROCESS_PROPERTIES_H_
#define INFRAKIT_PLUGINS_INSTANCE_PROCESS_PROPERTIES_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"

namespace infrakit::plugins::instance::process {

struct ProcessProperties {
  // Empty: none.
  std::string command;
  // Empty: the instance's directory.
  std::string dir;
  // Names are valid environment variable names not starting with INFRAKIT_ (those are the
  // plugin's).
  std::map<std::string, std::string> env;
  int stop_signal;
  absl::Duration stop_grace;

  ProcessProperties();
};

// The longest StopGraceSeconds accepted: Destroy blocks for up to that long.
inline constexpr double kMaxStopGraceSeconds = 3600;

// Checks and decodes `properties`. INVALID_ARGUMENT naming the field ("properties.Env.PORT:
// must be a string, got number") for unknown keys, wrong types and bad values. Thread-safe
// (pure).
absl::StatusOr<ProcessProperties> ParseProcessProperties(
    const google::protobuf::Struct& properties);

// "TERM", "SIGTERM" -> SIGTERM, for the signals a stop may use (HUP, INT, QUIT, KILL, USR1,
// USR2, TERM). INVALID_ARGUMENT otherwise. Thread-safe (pure).
absl::StatusOr<int> ParseSignalName(absl::string_view name);

}  // namespace infrakit::plugins::instance::process

#endif  // INFRAKIT_PLUGINS_INSTANCE_PROCESS_PROPERTIES_H_
