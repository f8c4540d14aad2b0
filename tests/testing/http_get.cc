#include "tests/testing/http_get.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace infrakit::testing {
namespace {

// Waits until `fd` is ready for `events` or `end` passes.
absl::Status WaitFd(int fd, short events, absl::Time end) {
  while (true) {
    const int64_t ms = absl::ToInt64Milliseconds(end - absl::Now());
    if (ms <= 0) return absl::DeadlineExceededError("HTTP exchange timed out");
    pollfd p = {fd, events, 0};
    const int rc = poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1000)));
    if (rc > 0) return absl::OkStatus();
    if (rc < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
  }
}

absl::StatusOr<HttpResponse> Parse(const std::string& raw) {
  const size_t head_end = raw.find("\r\n\r\n");
  int status = 0;
  if (head_end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0 ||
      !absl::SimpleAtoi(raw.substr(9, 3), &status)) {
    return absl::InternalError(absl::StrCat("not an HTTP response: ", raw.substr(0, 200)));
  }
  HttpResponse r;
  r.status = status;
  r.headers = raw.substr(0, head_end);
  r.body = raw.substr(head_end + 4);
  return r;
}

}  // namespace

absl::StatusOr<HttpResponse> HttpExchange(int port, absl::string_view request,
                                          absl::Duration deadline) {
  const absl::Time end = absl::Now() + deadline;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  absl::Status status;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
    status = absl::UnavailableError(absl::StrCat("connect to port ", port, ": ", strerror(errno)));
  }
  if (status.ok()) status = WaitFd(fd, POLLOUT, end);
  int err = 0;
  socklen_t len = sizeof(err);
  if (status.ok() && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
    status = absl::UnavailableError(absl::StrCat("connect to port ", port, ": ", strerror(err)));
  }
  size_t sent = 0;
  while (status.ok() && sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN) {
      status = WaitFd(fd, POLLOUT, end);
    } else {
      status = absl::ErrnoToStatus(errno, "send");
    }
  }
  std::string raw;
  while (status.ok()) {
    char buf[65536];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN) {
      status = WaitFd(fd, POLLIN, end);
    } else {
      status = absl::ErrnoToStatus(errno, "recv");
    }
  }
  close(fd);
  if (!status.ok()) return status;
  return Parse(raw);
}

absl::StatusOr<HttpResponse> HttpGet(int port, absl::string_view path, absl::Duration deadline) {
  return HttpExchange(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
                      deadline);
}

}  // namespace infrakit::testing
