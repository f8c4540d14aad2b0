#include "tools/bench/ping_pong.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace infrakit::tools::bench {
namespace {

absl::StatusOr<sockaddr_un> Address(const std::string& path) {
  sockaddr_un address;
  memset(&address, 0, sizeof(address));
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path too long (", path.size(), " bytes): ", path));
  }
  memcpy(address.sun_path, path.data(), path.size());
  return address;
}

// Reads or writes exactly `size` bytes. Returns false on EOF or error (errno set; 0 on EOF).
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadAll(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = 0;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PongServer>> PongServer::Start(const std::string& socket_path,
                                                              size_t request_bytes,
                                                              size_t response_bytes) {
  absl::StatusOr<sockaddr_un> address = Address(socket_path);
  if (!address.ok()) return address.status();
  const int listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) return absl::ErrnoToStatus(errno, "socket");
  if (bind(listen_fd, reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) != 0 ||
      listen(listen_fd, 4) != 0) {
    const int error = errno;
    close(listen_fd);
    return absl::ErrnoToStatus(error, absl::StrCat("cannot listen on ", socket_path));
  }
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const int error = errno;
    close(listen_fd);
    unlink(socket_path.c_str());
    return absl::ErrnoToStatus(error, "eventfd");
  }
  std::unique_ptr<PongServer> server(
      new PongServer(socket_path, listen_fd, wake_fd, request_bytes, response_bytes));
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

PongServer::PongServer(std::string socket_path, int listen_fd, int wake_fd, size_t request_bytes,
                       size_t response_bytes)
    : socket_path_(std::move(socket_path)),
      listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      request_bytes_(request_bytes),
      response_bytes_(response_bytes) {}

PongServer::~PongServer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // Wakes a blocking read of the connection being served.
    if (connection_fd_ >= 0) shutdown(connection_fd_, SHUT_RDWR);
  }
  const uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof(one));
  (void)ignored;
  thread_.join();
  close(listen_fd_);
  close(wake_fd_);
  unlink(socket_path_.c_str());
}

void PongServer::Serve() {
  struct pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      connection_fd_ = fd;
    }
    ServeConnection(fd);
    {
      absl::MutexLock lock(&mu_);
      connection_fd_ = -1;
    }
    close(fd);
  }
}

void PongServer::ServeConnection(int fd) {
  std::string request(request_bytes_, '\0');
  const std::string response(response_bytes_, 'r');
  // Plain blocking reads and writes, nothing else per round trip: this is the floor. The client
  // closing, or the destructor shutting the socket down, ends the loop.
  for (;;) {
    if (!ReadAll(fd, request.data(), request.size())) return;
    if (!WriteAll(fd, response.data(), response.size())) return;
  }
}

absl::StatusOr<std::vector<absl::Duration>> PingPong(const std::string& socket_path,
                                                     size_t request_bytes, size_t response_bytes,
                                                     int warmup, int rounds) {
  absl::StatusOr<sockaddr_un> address = Address(socket_path);
  if (!address.ok()) return address.status();
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) != 0) {
    const int error = errno;
    close(fd);
    return absl::ErrnoToStatus(error, absl::StrCat("cannot connect to ", socket_path));
  }
  const std::string request(request_bytes, 'q');
  std::string response(response_bytes, '\0');
  std::vector<absl::Duration> samples;
  samples.reserve(static_cast<size_t>(rounds));
  for (int i = 0; i < warmup + rounds; ++i) {
    const absl::Time start = absl::Now();
    if (!WriteAll(fd, request.data(), request.size()) ||
        !ReadAll(fd, response.data(), response.size())) {
      const int error = errno;
      close(fd);
      if (error == 0) return absl::UnavailableError("the pong server closed the connection");
      return absl::ErrnoToStatus(error, "ping-pong");
    }
    if (i >= warmup) samples.push_back(absl::Now() - start);
  }
  close(fd);
  return samples;
}

}  // namespace infrakit::tools::bench
