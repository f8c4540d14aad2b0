#include "plugins/flavor/zookeeper/srvr_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

constexpr size_t kMaxAnswer = 64 * 1024;

// Closes a descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  const int fd_;
};

// Waits until `fd` is ready for `events` or `deadline` passes. OK when ready; DEADLINE_EXCEEDED
// otherwise.
absl::Status WaitReady(int fd, short events, absl::Time deadline, absl::string_view what) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError(what);
    pollfd p = {fd, events, 0};
    const int64_t ms =
        std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
    const int n = poll(&p, 1, static_cast<int>(ms));
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR)
      return absl::UnavailableError(absl::StrCat(what, ": poll: ", strerror(errno)));
  }
}

}  // namespace

absl::StatusOr<ServerState> ParseSrvr(absl::string_view answer) {
  ServerState state;
  if (absl::StrContains(answer, "not currently serving requests")) return state;
  for (absl::string_view line : absl::StrSplit(answer, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, "Mode:"))
      state.mode = std::string(absl::StripAsciiWhitespace(line));
    if (absl::ConsumePrefix(&line, "Zxid:"))
      state.zxid = std::string(absl::StripAsciiWhitespace(line));
  }
  if (state.mode.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("not a srvr answer (no \"Mode:\" line): \"",
                                                   absl::CEscape(answer.substr(0, 80)), "\""));
  }
  state.serving = true;
  return state;
}

absl::StatusOr<std::string> AskFourLetterWord(const std::string& ip, int port,
                                              absl::string_view word, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string where = absl::StrCat(ip, ":", port);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("\"", ip, "\" is not an IPv4 address"));
  }
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  const std::string late =
      absl::StrCat("no answer from ", where, " within ", absl::FormatDuration(timeout));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrCat("connect to ", where, ": ", strerror(errno)));
    }
    if (absl::Status s = WaitReady(fd.get(), POLLOUT, deadline, late); !s.ok()) return s;
    int error = 0;
    socklen_t size = sizeof(error);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) {
      return absl::UnavailableError(absl::StrCat("connect to ", where, ": ", strerror(error)));
    }
  }
  // Four bytes fit any socket buffer: one send (MSG_NOSIGNAL: a closed peer is an error, not a
  // SIGPIPE).
  if (send(fd.get(), word.data(), word.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(word.size())) {
    return absl::UnavailableError(absl::StrCat("send to ", where, ": ", strerror(errno)));
  }
  std::string answer;
  char buffer[4096];
  while (answer.size() < kMaxAnswer) {
    if (absl::Status s = WaitReady(fd.get(), POLLIN, deadline, late); !s.ok()) return s;
    const ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::UnavailableError(absl::StrCat("read from ", where, ": ", strerror(errno)));
    }
    answer.append(buffer, n);
  }
  return answer;
}

}  // namespace infrakit::plugins::flavor::zookeeper
