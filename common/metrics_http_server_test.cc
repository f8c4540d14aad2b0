#include "common/metrics_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/http_get.h"

namespace infrakit::metrics {
namespace {

using ::infrakit::testing::HttpExchange;
using ::infrakit::testing::HttpGet;
using ::infrakit::testing::HttpResponse;

// A connected client socket that sends nothing (or only part of a request).
int IdleClient(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

TEST(MetricsHttpServerTest, ServesTheRenderedPageOnGetMetrics) {
  std::atomic<int> renders{0};
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("127.0.0.1:0", [&] {
        ++renders;
        return std::string("# TYPE x gauge\nx 1\n");
      });
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->url(), "http://127.0.0.1:" + std::to_string((*server)->port()) + "/metrics");

  absl::StatusOr<HttpResponse> r = HttpGet((*server)->port(), "/metrics?format=text");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "# TYPE x gauge\nx 1\n");
  EXPECT_TRUE(absl::StrContains(r->headers, "Content-Type: text/plain; version=0.0.4"));
  EXPECT_TRUE(absl::StrContains(r->headers, "Content-Length: 19"));
  EXPECT_EQ(renders.load(), 1);
}

TEST(MetricsHttpServerTest, AnswersBadRequestsWithoutRendering) {
  std::atomic<int> renders{0};
  auto server = MetricsHttpServer::Start("localhost:0", [&] {
    ++renders;
    return std::string();
  });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\n\r\n", 404},
      {"GET /metricsx HTTP/1.0\r\n\r\n", 404},
      {"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405},
      {"hello\r\n\r\n", 400},
      {"GET /metrics SPDY/3\r\n\r\n", 400},
      {std::string(MetricsHttpServer::kMaxRequestBytes + 10, 'a'), 431},
  };
  for (const Case& c : cases) {
    absl::StatusOr<HttpResponse> r = HttpExchange(port, c.request);
    ASSERT_TRUE(r.ok()) << r.status() << " for " << c.request.substr(0, 40);
    EXPECT_EQ(r->status, c.status) << c.request.substr(0, 40);
  }
  EXPECT_EQ(renders.load(), 0);
  // Still serving after all that.
  absl::StatusOr<HttpResponse> r = HttpGet(port, "/metrics");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
}

TEST(MetricsHttpServerTest, IdleClientsDoNotBlockOthers) {
  auto server = MetricsHttpServer::Start("127.0.0.1:0", [] { return std::string("ok\n"); });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  std::vector<int> idle;
  for (int i = 0; i < MetricsHttpServer::kMaxConnections - 1; ++i) idle.push_back(IdleClient(port));
  ssize_t sent = send(idle[0], "GET /met", 8, MSG_NOSIGNAL);  // half a request
  EXPECT_EQ(sent, 8);
  absl::StatusOr<HttpResponse> r = HttpGet(port, "/metrics");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "ok\n");
  for (int fd : idle) close(fd);
}

TEST(MetricsHttpServerTest, RejectsBadAddressesAndBusyPorts) {
  for (const char* address :
       {"", "9100", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", "example.com:9100", ":9100"}) {
    EXPECT_EQ(ValidateListenAddress(address).code(), absl::StatusCode::kInvalidArgument) << address;
  }
  EXPECT_TRUE(ValidateListenAddress("[::1]:9100").ok());
  auto first = MetricsHttpServer::Start("127.0.0.1:0", [] { return std::string(); });
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = MetricsHttpServer::Start("127.0.0.1:" + std::to_string((*first)->port()),
                                         [] { return std::string(); });
  EXPECT_FALSE(second.ok());
}

TEST(MetricsHttpServerTest, ResponseForWaitsForAWholeHead) {
  auto render = [] { return std::string("body"); };
  EXPECT_EQ(HttpResponseFor("GET /metrics HTTP/1.1\r\n", render), "");
  EXPECT_TRUE(absl::StartsWith(HttpResponseFor("GET /metrics HTTP/1.1\n\n", render),
                               "HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(
      absl::EndsWith(HttpResponseFor("GET /metrics HTTP/1.1\r\n\r\n", render), "\r\n\r\nbody"));
}

}  // namespace
}  // namespace infrakit::metrics
