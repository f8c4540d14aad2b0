// Health probes: run a command, open a TCP connection, GET a URL. Each is bounded by a
// timeout and reports why it failed.
//
// Plain functions, no state: any flavor can use them. All are thread-safe and block the
// calling thread for at most about the timeout.
#ifndef INFRAKIT_PLUGINS_FLAVOR_VANILLA_HEALTH_PROBE_H_
#define INFRAKIT_PLUGINS_FLAVOR_VANILLA_HEALTH_PROBE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace infrakit::plugins::flavor::vanilla {

struct ProbeResult {
  enum class Outcome {
    // The probe ran and succeeded.
    kPassed,
    // The probe ran and failed; `reason` says how.
    kFailed,
    // The probe could not be run (e.g. no process could be started); `reason` says why.
    kNotRun,
  };
  Outcome outcome = Outcome::kNotRun;
  std::string reason;
};

// Runs `command` with /bin/sh -c, stdin from /dev/null, in a process group of its own, with
// the plugin's environment plus `env`. Passed on exit status 0; failed on another status (the
// reason has the status and the end of the output), on a signal, or after `timeout` (the
// whole process group is then killed).
ProbeResult RunCommandProbe(const std::string& command,
                            const std::vector<std::pair<std::string, std::string>>& env,
                            absl::Duration timeout);

// Connects to `address` ("host:port", "[v6]:port"); passed when a connection opens within
// `timeout` (to any of the host's addresses), then closes it.
ProbeResult TcpProbe(const std::string& address, absl::Duration timeout);

// GETs `url` (http or https, no proxy, no redirects followed) within `timeout`; passed on a
// 2xx status.
ProbeResult HttpProbe(const std::string& url, absl::Duration timeout);

// Splits "host:port" or "[v6]:port". INVALID_ARGUMENT when there is no host or the port is not
// a number in 1..65535. Thread-safe (pure).
absl::StatusOr<std::pair<std::string, std::string>> SplitHostPort(absl::string_view address);

}  // namespace infrakit::plugins::flavor::vanilla

#endif  // INFRAKIT_PLUGINS_FLAVOR_VANILLA_HEALTH_PROBE_H_
