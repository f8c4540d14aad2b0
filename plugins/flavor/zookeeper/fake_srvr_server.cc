#include "plugins/flavor/zookeeper/fake_srvr_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "glog/logging.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

// A TCP socket bound to 127.0.0.1 on a port of the kernel's choosing; sets *port.
int BindLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_GE(fd, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t size = sizeof(address);
  CHECK_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size), 0);
  *port = ntohs(address.sin_port);
  return fd;
}

}  // namespace

FakeSrvrServer::FakeSrvrServer(Behavior behavior, std::string answer)
    : behavior_(behavior), answer_(std::move(answer)) {
  listener_ = BindLoopback(&port_);
  CHECK_EQ(listen(listener_, 16), 0);
  if (behavior_ == Behavior::kAnswer) thread_ = std::thread([this] { Serve(); });
}

FakeSrvrServer::~FakeSrvrServer() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  close(listener_);
}

std::string FakeSrvrServer::received() const {
  absl::MutexLock lock(&mu_);
  return received_;
}

void FakeSrvrServer::Serve() {
  while (!stopping_) {
    // Short polls so that the destructor's stop is seen soon.
    pollfd p = {listener_, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    char word[4];
    size_t got = 0;
    while (got < sizeof(word)) {
      const ssize_t n = read(fd, word + got, sizeof(word) - got);
      if (n <= 0) break;
      got += n;
    }
    {
      absl::MutexLock lock(&mu_);
      received_.append(word, got);
    }
    size_t sent = 0;
    while (sent < answer_.size()) {
      const ssize_t n = send(fd, answer_.data() + sent, answer_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += n;
    }
    close(fd);
  }
}

int UnusedPort() {
  int port = 0;
  close(BindLoopback(&port));
  return port;
}

}  // namespace infrakit::plugins::flavor::zookeeper
