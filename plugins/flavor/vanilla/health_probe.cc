#include "plugins/flavor/vanilla/health_probe.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/curl_library.h"

extern char** environ;

namespace infrakit::plugins::flavor::vanilla {
namespace {

// Enough of a command's output to say why it failed.
constexpr size_t kOutputTail = 512;

ProbeResult Passed() { return {ProbeResult::Outcome::kPassed, ""}; }
ProbeResult Failed(std::string reason) {
  return {ProbeResult::Outcome::kFailed, std::move(reason)};
}
ProbeResult NotRun(std::string reason) {
  return {ProbeResult::Outcome::kNotRun, std::move(reason)};
}

int RemainingMillis(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), INT32_MAX));
}

std::string Tail(const std::string& output) {
  std::string tail(absl::StripAsciiWhitespace(output));
  if (tail.size() > 200) tail = "..." + tail.substr(tail.size() - 200);
  return tail;
}

// Reads what is available from `fd` into `output` (keeping its end). False at end of file or
// on an error.
bool ReadSome(int fd, std::string* output) {
  char buffer[4096];
  ssize_t n = read(fd, buffer, sizeof(buffer));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  output->append(buffer, static_cast<size_t>(n));
  if (output->size() > kOutputTail) output->erase(0, output->size() - kOutputTail);
  return true;
}

size_t DiscardBody(char* data, size_t size, size_t count, void* user) { return size * count; }

}  // namespace

absl::StatusOr<std::pair<std::string, std::string>> SplitHostPort(absl::string_view address) {
  std::string host;
  absl::string_view port;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", address, "\" is not host:port ([v6]:port for IPv6)"));
    }
    host = std::string(address.substr(1, close - 1));
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("\"", address, "\" has no :port"));
    }
    host = std::string(address.substr(0, colon));
    port = address.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", address, "\": write an IPv6 host in brackets, [v6]:port"));
    }
  }
  if (host.empty() || host.find_first_of(" \t\r\n/") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("\"", address, "\" has no valid host"));
  }
  int number = 0;
  if (port.empty() || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\": the port is not a number in 1..65535"));
  }
  return std::make_pair(host, std::string(port));
}

ProbeResult RunCommandProbe(const std::string& command,
                            const std::vector<std::pair<std::string, std::string>>& env,
                            absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;

  // The environment: ours, with `env` replacing variables of the same names.
  absl::flat_hash_set<std::string> replaced;
  std::vector<std::string> variables;
  for (const auto& [name, value] : env) {
    replaced.insert(name);
    variables.push_back(absl::StrCat(name, "=", value));
  }
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const absl::string_view entry(*e);
    if (!replaced.contains(entry.substr(0, entry.find('=')))) variables.emplace_back(entry);
  }
  std::vector<char*> envp;
  for (std::string& v : variables) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh";
  std::string dash_c = "-c";
  std::string script = command;
  char* argv[] = {sh.data(), dash_c.data(), script.data(), nullptr};

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return NotRun(absl::StrCat("pipe: ", strerror(errno)));

  // posix_spawn rather than fork: safe in a multi-threaded server.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);
  // A group of its own, so that a timeout kills what the command started too.
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, sh.c_str(), &actions, &attributes, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    return NotRun(absl::StrCat("starting /bin/sh: ", strerror(spawned)));
  }

  // Through syscall(): Debian 12's <sys/pidfd.h> lacks extern "C" for C++.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int error = errno;
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(pipe_fds[0]);
    return NotRun(absl::StrCat("pidfd_open: ", strerror(error)));
  }

  std::string output;
  bool pipe_open = true;
  bool exited = false;
  while (!exited) {
    const int wait_ms = RemainingMillis(deadline);
    if (wait_ms == 0) break;
    pollfd fds[2] = {{pidfd, POLLIN, 0}, {pipe_open ? pipe_fds[0] : -1, POLLIN, 0}};
    const int ready = poll(fds, 2, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (fds[1].revents != 0) pipe_open = ReadSome(pipe_fds[0], &output);
    if (fds[0].revents != 0) exited = true;
  }
  if (!exited) {
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(pidfd);
    close(pipe_fds[0]);
    return Failed(absl::StrCat("command timed out after ", absl::FormatDuration(timeout),
                               output.empty() ? "" : ": ", Tail(output)));
  }
  // What the command wrote just before exiting; a background child still holding the pipe
  // must not keep us here.
  while (pipe_open) {
    pollfd fd = {pipe_fds[0], POLLIN, 0};
    if (poll(&fd, 1, 0) <= 0) break;
    pipe_open = ReadSome(pipe_fds[0], &output);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(pidfd);
  close(pipe_fds[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Passed();
  std::string reason = WIFEXITED(status)
                           ? absl::StrCat("command exited with status ", WEXITSTATUS(status))
                           : absl::StrCat("command killed by signal ", WTERMSIG(status));
  if (!output.empty()) absl::StrAppend(&reason, ": ", Tail(output));
  return Failed(std::move(reason));
}

ProbeResult TcpProbe(const std::string& address, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  auto host_port = SplitHostPort(address);
  if (!host_port.ok()) return NotRun(std::string(host_port.status().message()));
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const int resolved =
      getaddrinfo(host_port->first.c_str(), host_port->second.c_str(), &hints, &addresses);
  if (resolved != 0) {
    return Failed(absl::StrCat("resolving ", host_port->first, ": ", gai_strerror(resolved)));
  }
  std::string reason = absl::StrCat("connect ", address, ": no address");
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      reason = absl::StrCat("socket: ", strerror(errno));
      continue;
    }
    int error = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd p = {fd, POLLOUT, 0};
        int ready;
        do {
          ready = poll(&p, 1, RemainingMillis(deadline));
        } while (ready < 0 && errno == EINTR);
        if (ready == 0) {
          close(fd);
          freeaddrinfo(addresses);
          return Failed(absl::StrCat("connect ", address, ": timed out after ",
                                     absl::FormatDuration(timeout)));
        }
        socklen_t length = sizeof(error);
        if (ready < 0) {
          error = errno;
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
          error = errno;
        }
      }
    }
    close(fd);
    if (error == 0) {
      freeaddrinfo(addresses);
      return Passed();
    }
    reason = absl::StrCat("connect ", address, ": ", strerror(error));
  }
  freeaddrinfo(addresses);
  return Failed(std::move(reason));
}

ProbeResult HttpProbe(const std::string& url, absl::Duration timeout) {
  absl::StatusOr<const common::CurlFunctions*> loaded = common::Curl();
  if (!loaded.ok()) return NotRun(std::string(loaded.status().message()));
  const common::CurlFunctions& curl = **loaded;
  CURL* handle = curl.easy_init();
  if (handle == nullptr) return NotRun("curl_easy_init failed");
  char error[CURL_ERROR_SIZE] = {0};
  const long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(timeout));
  curl.easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl.easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM in a multi-threaded process
  curl.easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl.easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  // A probe of an instance's own address must not go through a proxy from the environment.
  curl.easy_setopt(handle, CURLOPT_NOPROXY, "*");
  curl.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(handle, CURLOPT_USERAGENT, "infrakit-flavor-vanilla");
  curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, &DiscardBody);
  curl.easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  const CURLcode performed = curl.easy_perform(handle);
  long status = 0;
  curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  curl.easy_cleanup(handle);
  if (performed != CURLE_OK) {
    return Failed(
        absl::StrCat("GET ", url, ": ", error[0] != '\0' ? error : curl.easy_strerror(performed)));
  }
  if (status < 200 || status > 299) return Failed(absl::StrCat("GET ", url, ": HTTP ", status));
  return Passed();
}

}  // namespace infrakit::plugins::flavor::vanilla
