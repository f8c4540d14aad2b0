#include "plugins/flavor/vanilla/health_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::flavor::vanilla {
namespace {

using ::testing::HasSubstr;
using Outcome = ProbeResult::Outcome;

constexpr absl::Duration kGenerous = absl::Seconds(20);

std::string TempDir() {
  const char* root = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(root != nullptr ? root : "/tmp", "/probe-XXXXXX");
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Waits for `done` with the shared helper, up to this file's deadline.
bool WaitFor(const std::function<bool()>& done) {
  return ::infrakit::testing::WaitFor(done, kGenerous);
}

// True once `pid` has exited (gone, or a zombie nobody reaped yet).
bool Dead(pid_t pid) {
  const std::string stat = ReadAll(absl::StrCat("/proc/", pid, "/stat"));
  if (stat.empty()) return true;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

// A loopback TCP socket bound to a free port; listening or not.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listening) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    if (listening) EXPECT_EQ(listen(fd_, 16), 0);
  }
  ~LoopbackSocket() { close(fd_); }

  int fd() const { return fd_; }
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_;
  int port_;
};

// Answers one HTTP request with `status` and records the request line.
class OneShotHttpServer {
 public:
  explicit OneShotHttpServer(int status) : socket_(/*listening=*/true) {
    thread_ = std::thread([this, status] {
      const int client = accept(socket_.fd(), nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buffer[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(client, buffer, sizeof(buffer));
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      request_line_ = request.substr(0, request.find("\r\n"));
      const std::string answer = absl::StrCat("HTTP/1.1 ", status,
                                              " Whatever\r\nContent-Length: 2\r\n"
                                              "Connection: close\r\n\r\nok");
      EXPECT_EQ(write(client, answer.data(), answer.size()), static_cast<ssize_t>(answer.size()));
      close(client);
    });
  }
  ~OneShotHttpServer() {
    if (thread_.joinable()) thread_.join();
  }

  std::string url(const std::string& path) const {
    return absl::StrCat("http://", socket_.address(), path);
  }
  // Valid once the probe returned.
  std::string request_line() {
    thread_.join();
    return request_line_;
  }

 private:
  LoopbackSocket socket_;
  std::thread thread_;
  std::string request_line_;
};

TEST(SplitHostPortTest, AcceptsHostsAndPorts) {
  auto a = SplitHostPort("127.0.0.1:8080");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, "8080");
  auto b = SplitHostPort("[::1]:22");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(b->second, "22");
  EXPECT_TRUE(SplitHostPort("localhost:1").ok());
  EXPECT_TRUE(SplitHostPort("localhost:65535").ok());
}

TEST(SplitHostPortTest, RejectsMalformedAddresses) {
  for (const char* bad : {"", "localhost", ":80", "host:", "host:0", "host:65536", "host:http",
                          "host:-1", "::1:80", "[::1]80", "[::1", "a b:80", "host:8080/x"}) {
    auto split = SplitHostPort(bad);
    EXPECT_FALSE(split.ok()) << bad;
    EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(RunCommandProbeTest, ExitZeroPasses) {
  EXPECT_EQ(RunCommandProbe("true", {}, kGenerous).outcome, Outcome::kPassed);
}

TEST(RunCommandProbeTest, OtherExitFailsWithStatusAndOutput) {
  ProbeResult result = RunCommandProbe("echo disk full >&2; exit 3", {}, kGenerous);
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_THAT(result.reason, HasSubstr("status 3"));
  EXPECT_THAT(result.reason, HasSubstr("disk full"));
}

TEST(RunCommandProbeTest, SeesTheInstanceInItsEnvironment) {
  ProbeResult result = RunCommandProbe(
      R"(test "$INFRAKIT_INSTANCE_ID" = i-1 && test "$INFRAKIT_LOGICAL_ID" = 10.0.0.1)",
      {{"INFRAKIT_INSTANCE_ID", "i-1"}, {"INFRAKIT_LOGICAL_ID", "10.0.0.1"}}, kGenerous);
  EXPECT_EQ(result.outcome, Outcome::kPassed) << result.reason;
  // The plugin's own environment is passed on.
  setenv("VANILLA_PROBE_TEST", "inherited", 1);
  result = RunCommandProbe(R"(test "$VANILLA_PROBE_TEST" = inherited)", {}, kGenerous);
  EXPECT_EQ(result.outcome, Outcome::kPassed) << result.reason;
}

TEST(RunCommandProbeTest, TimeoutFailsAndKillsTheWholeGroup) {
  const std::string pid_file = absl::StrCat(TempDir(), "/pid");
  ProbeResult result = RunCommandProbe(absl::StrCat("sleep 300 & echo $! > ", pid_file, "; wait"),
                                       {}, absl::Milliseconds(300));
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_THAT(result.reason, HasSubstr("timed out"));
  int pid = 0;
  ASSERT_TRUE(WaitFor(
      [&] { return absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadAll(pid_file)), &pid); }));
  EXPECT_TRUE(WaitFor([&] { return Dead(pid); })) << "the background sleep outlived the probe";
}

TEST(RunCommandProbeTest, ABackgroundChildDoesNotHoldTheProbe) {
  const std::string pid_file = absl::StrCat(TempDir(), "/pid");
  // The background sleep keeps the output pipe open after the shell exits 0.
  ProbeResult result =
      RunCommandProbe(absl::StrCat("sleep 300 & echo $! > ", pid_file), {}, kGenerous);
  EXPECT_EQ(result.outcome, Outcome::kPassed) << result.reason;
  int pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadAll(pid_file)), &pid));
  kill(pid, SIGKILL);
}

TEST(TcpProbeTest, PassesOnAListeningSocket) {
  LoopbackSocket server(/*listening=*/true);
  ProbeResult result = TcpProbe(server.address(), kGenerous);
  EXPECT_EQ(result.outcome, Outcome::kPassed) << result.reason;
  ProbeResult by_name = TcpProbe(absl::StrCat("localhost:", server.port()), kGenerous);
  EXPECT_EQ(by_name.outcome, Outcome::kPassed) << by_name.reason;
}

TEST(TcpProbeTest, FailsOnAClosedPort) {
  LoopbackSocket bound(/*listening=*/false);  // holds the port, accepts nothing
  ProbeResult result = TcpProbe(bound.address(), kGenerous);
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_THAT(result.reason, HasSubstr("refused"));
  EXPECT_THAT(result.reason, HasSubstr(bound.address()));
}

TEST(HttpProbeTest, PassesOn2xx) {
  OneShotHttpServer server(204);
  ProbeResult result = HttpProbe(server.url("/health?x=1"), kGenerous);
  EXPECT_EQ(result.outcome, Outcome::kPassed) << result.reason;
  EXPECT_EQ(server.request_line(), "GET /health?x=1 HTTP/1.1");
}

TEST(HttpProbeTest, FailsOnOtherStatuses) {
  OneShotHttpServer server(503);
  ProbeResult result = HttpProbe(server.url("/"), kGenerous);
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_THAT(result.reason, HasSubstr("HTTP 503"));
}

TEST(HttpProbeTest, FailsWhenNothingListens) {
  LoopbackSocket bound(/*listening=*/false);
  ProbeResult result = HttpProbe(absl::StrCat("http://", bound.address(), "/"), kGenerous);
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_THAT(result.reason, HasSubstr("GET http://"));
}

TEST(HttpProbeTest, TimesOutOnASilentServer) {
  LoopbackSocket server(/*listening=*/true);  // accepts (backlog) but never answers
  ProbeResult result =
      HttpProbe(absl::StrCat("http://", server.address(), "/"), absl::Milliseconds(300));
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  EXPECT_THAT(result.reason, HasSubstr("timed out"));
}

}  // namespace
}  // namespace infrakit::plugins::flavor::vanilla
