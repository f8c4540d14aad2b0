#include "common/metrics_http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace infrakit::metrics {
namespace {

struct HostPort {
  std::string host;  // numeric
  int port = 0;
};

absl::StatusOr<HostPort> ParseAddress(absl::string_view address) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("metrics listen address \"", address, "\": ",
                                                   why, " (want HOST:PORT, e.g. 127.0.0.1:9101)"));
  };
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return bad("no port");
  HostPort hp;
  absl::string_view host = address.substr(0, colon);
  if (!absl::SimpleAtoi(address.substr(colon + 1), &hp.port) || hp.port < 0 || hp.port > 65535) {
    return bad("bad port");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return bad("no host");
  hp.host = host == "localhost" ? "127.0.0.1" : std::string(host);
  in6_addr ignored;
  if (inet_pton(AF_INET, hp.host.c_str(), &ignored) != 1 &&
      inet_pton(AF_INET6, hp.host.c_str(), &ignored) != 1) {
    return bad("the host must be an IP address or localhost");
  }
  return hp;
}

std::string Response(absl::string_view status, absl::string_view content_type,
                     absl::string_view body, absl::string_view extra_headers = "") {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(), "\r\n", extra_headers,
                      "Connection: close\r\n\r\n", body);
}

std::string ErrorResponse(absl::string_view status, absl::string_view extra_headers = "") {
  return Response(status, "text/plain; charset=utf-8", absl::StrCat(status, "\n"), extra_headers);
}

// One client connection of the poll loop.
struct Connection {
  int fd = -1;
  std::string in;   // the request so far
  std::string out;  // the response, once known
  size_t sent = 0;
  absl::Time deadline;
};

// Reads what `c` has sent and, once its request is whole, prepares the response. False when the
// connection is done with (closed by the client, or an error).
bool ReadRequest(Connection* c, const std::function<std::string()>& render) {
  char buf[4096];
  const ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  if (n == 0) return false;
  c->in.append(buf, static_cast<size_t>(n));
  c->out = HttpResponseFor(c->in, render);
  return true;
}

// Sends what it can of `c`'s response. False when all is sent (or the client is gone).
bool WriteResponse(Connection* c) {
  while (c->sent < c->out.size()) {
    const ssize_t n = send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c->sent += static_cast<size_t>(n);
  }
  shutdown(c->fd, SHUT_WR);
  return false;
}

}  // namespace

absl::Status ValidateListenAddress(absl::string_view address) {
  return ParseAddress(address).status();
}

std::string HttpResponseFor(absl::string_view request, const std::function<std::string()>& render) {
  size_t head_end = request.find("\r\n\r\n");
  if (head_end == absl::string_view::npos) head_end = request.find("\n\n");
  if (head_end == absl::string_view::npos) {
    if (request.size() > MetricsHttpServer::kMaxRequestBytes) {
      return ErrorResponse("431 Request Header Fields Too Large");
    }
    return "";
  }
  absl::string_view line = request.substr(0, request.find('\n'));
  if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      !absl::StartsWith(parts[2], "HTTP/1.")) {
    return ErrorResponse("400 Bad Request");
  }
  if (parts[0] != "GET") return ErrorResponse("405 Method Not Allowed", "Allow: GET\r\n");
  absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path != "/metrics") return ErrorResponse("404 Not Found");
  return Response("200 OK", "text/plain; version=0.0.4; charset=utf-8", render());
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    absl::string_view address, std::function<std::string()> render) {
  absl::StatusOr<HostPort> hp = ParseAddress(address);
  if (!hp.ok()) return hp.status();
  addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* info = nullptr;
  if (getaddrinfo(hp->host.c_str(), std::to_string(hp->port).c_str(), &hints, &info) != 0 ||
      info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("metrics listen address \"", address, "\""));
  }
  const int fd = socket(info->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, info->ai_addr, info->ai_addrlen) != 0 || listen(fd, 16) != 0) err = errno;
  }
  freeaddrinfo(info);
  sockaddr_storage bound = {};
  socklen_t len = sizeof(bound);
  if (err == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) err = errno;
  int wake[2] = {-1, -1};
  if (err == 0 && pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) err = errno;
  if (err != 0) {
    if (fd >= 0) close(fd);
    return absl::ErrnoToStatus(err, absl::StrCat("cannot serve metrics on ", address));
  }
  const int port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  const bool v6 = hp->host.find(':') != std::string::npos;
  std::string url =
      absl::StrCat("http://", v6 ? "[" : "", hp->host, v6 ? "]" : "", ":", port, "/metrics");
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(fd, wake[0], wake[1], port, std::move(url), std::move(render)));
}

MetricsHttpServer::MetricsHttpServer(int listen_fd, int wake_read, int wake_write, int port,
                                     std::string url, std::function<std::string()> render)
    : listen_fd_(listen_fd),
      wake_read_(wake_read),
      wake_write_(wake_write),
      port_(port),
      url_(std::move(url)),
      render_(std::move(render)) {
  thread_ = std::thread([this] { Serve(); });
}

MetricsHttpServer::~MetricsHttpServer() {
  const char byte = 0;
  ssize_t ignored = write(wake_write_, &byte, 1);
  (void)ignored;
  thread_.join();
  close(listen_fd_);
  close(wake_read_);
  close(wake_write_);
}

void MetricsHttpServer::Serve() {
  std::vector<Connection> conns;
  std::vector<pollfd> fds;
  while (true) {
    fds.clear();
    fds.push_back({wake_read_, POLLIN, 0});
    fds.push_back({listen_fd_, static_cast<short>(conns.size() < kMaxConnections ? POLLIN : 0), 0});
    absl::Time next = absl::InfiniteFuture();
    for (const Connection& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
      next = std::min(next, c.deadline);
    }
    const int timeout_ms =
        next == absl::InfiniteFuture()
            ? -1
            : static_cast<int>(std::max<int64_t>(
                  0, absl::ToInt64Milliseconds(next - absl::Now() + absl::Milliseconds(1))));
    if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
      PLOG(ERROR) << "metrics server: poll";
      break;
    }
    if (fds[0].revents != 0) break;
    const absl::Time now = absl::Now();
    std::vector<Connection> kept;
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      const short revents = fds[i + 2].revents;
      bool open = now < c.deadline;
      if (open && c.out.empty() && (revents & (POLLIN | POLLHUP | POLLERR))) {
        open = ReadRequest(&c, render_);
      }
      if (open && !c.out.empty()) open = WriteResponse(&c);
      if (open) {
        kept.push_back(std::move(c));
      } else {
        close(c.fd);
      }
    }
    conns.swap(kept);
    while (fds[1].revents != 0 && conns.size() < kMaxConnections) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;  // EAGAIN: none left; anything else: try again at the next poll
      conns.push_back(Connection{fd, "", "", 0, now + kConnectionTimeout});
    }
  }
  for (const Connection& c : conns) close(c.fd);
}

}  // namespace infrakit::metrics
