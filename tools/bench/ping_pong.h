// The physical floor of a local round trip: a raw unix-socket ping-pong between two threads,
// against which the benchmark sets gRPC's unary call.
#ifndef INFRAKIT_TOOLS_BENCH_PING_PONG_H_
#define INFRAKIT_TOOLS_BENCH_PING_PONG_H_

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace infrakit::tools::bench {

// A stream unix-socket server on one thread: for each connection (one at a time), reads
// `request_bytes` and answers `response_bytes`, until the peer closes. Thread-compatible;
// the serving thread is its own.
class PongServer {
 public:
  // Listens on `socket_path` (must not exist; < 108 bytes). Errors: the errno's code.
  static absl::StatusOr<std::unique_ptr<PongServer>> Start(const std::string& socket_path,
                                                           size_t request_bytes,
                                                           size_t response_bytes);
  // Stops serving (ending a connection in progress) and removes the socket.
  ~PongServer();

  PongServer(const PongServer&) = delete;
  PongServer& operator=(const PongServer&) = delete;

 private:
  PongServer(std::string socket_path, int listen_fd, int wake_fd, size_t request_bytes,
             size_t response_bytes);
  void Serve();
  // Answers one connection until it closes or the server stops.
  void ServeConnection(int fd);

  const std::string socket_path_;
  const int listen_fd_;
  const int wake_fd_;  // eventfd that stops Serve
  const size_t request_bytes_;
  const size_t response_bytes_;
  std::thread thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The connection being served, -1 when none.
  int connection_fd_ ABSL_GUARDED_BY(mu_) = -1;
};

// Connects to a PongServer and times `rounds` round trips of `request_bytes` out and
// `response_bytes` back (the server's sizes), after `warmup` untimed ones. Errors: the errno's
// code (connect, I/O), UNAVAILABLE when the server closes early. Blocks.
absl::StatusOr<std::vector<absl::Duration>> PingPong(const std::string& socket_path,
                                                     size_t request_bytes, size_t response_bytes,
                                                     int warmup, int rounds);

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_PING_PONG_H_
