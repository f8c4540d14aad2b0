// A minimal HTTP/1.x server for one thing: `GET /metrics`, answered with a page the caller
// renders (the Prometheus text exposition, common/metrics.h). Debian 12 has no small HTTP server
// library among InfraKit's dependencies, so this is one, kept small and bounded:
//
//  - one thread, a poll() loop over the listening socket and at most kMaxConnections
//    non-blocking connections (more wait in the listen backlog);
//  - a request is its request line and headers, at most kMaxRequestBytes; a body is never read;
//  - each connection has kConnectionTimeout to send its request and read the answer, then it is
//    closed: a client that sends nothing or never reads holds a slot that long at most;
//  - one answer per connection (`Connection: close`): 200 with the page for GET /metrics (a
//    query string is ignored), 404 for another path, 405 for another method, 400 for a request
//    that is not HTTP, 431 for one too large.
#ifndef INFRAKIT_COMMON_METRICS_HTTP_SERVER_H_
#define INFRAKIT_COMMON_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace infrakit::metrics {

// Parses "HOST:PORT" (an IPv4 address, "localhost", or "[IPv6]"; PORT 0..65535, 0 = any free
// port) for MetricsHttpServer. Errors: INVALID_ARGUMENT naming the address.
absl::Status ValidateListenAddress(absl::string_view address);

class MetricsHttpServer {
 public:
  static constexpr int kMaxConnections = 16;
  static constexpr size_t kMaxRequestBytes = 8192;
  static constexpr absl::Duration kConnectionTimeout = absl::Seconds(5);

  // Listens on `address` (see ValidateListenAddress) and serves from a new thread, calling
  // `render` (on that thread) for each GET /metrics. Errors: INVALID_ARGUMENT for a bad
  // address; the errno status (e.g. "address already in use") naming it when it cannot listen.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      absl::string_view address, std::function<std::string()> render);

  // Stops the thread and closes every socket.
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port listened on (the one picked when the address asked for 0).
  int port() const { return port_; }
  // "http://HOST:PORT/metrics".
  std::string url() const { return url_; }

 private:
  MetricsHttpServer(int listen_fd, int wake_read, int wake_write, int port, std::string url,
                    std::function<std::string()> render);
  void Serve();

  const int listen_fd_;
  const int wake_read_;  // readable when the destructor asks the thread to stop
  const int wake_write_;
  const int port_;
  const std::string url_;
  const std::function<std::string()> render_;
  std::thread thread_;
};

// The answer to one request (exposed for tests): the full HTTP response for `request`, the bytes
// received so far, or "" when they do not hold a whole request head yet and are within
// MetricsHttpServer::kMaxRequestBytes. Calls `render` only for GET /metrics.
std::string HttpResponseFor(absl::string_view request, const std::function<std::string()>& render);

}  // namespace infrakit::metrics

#endif  // INFRAKIT_COMMON_METRICS_HTTP_SERVER_H_
