#include "plugins/flavor/zookeeper/srvr_probe.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/flavor/zookeeper/fake_srvr_server.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

using ::testing::HasSubstr;

constexpr char kFollower[] =
    "Zookeeper version: 3.8.0-debian--1, built on 2024-06-16 00:00 UTC\n"
    "Latency min/avg/max: 0/0.0/0\n"
    "Received: 2\n"
    "Sent: 1\n"
    "Connections: 1\n"
    "Outstanding: 0\n"
    "Zxid: 0x100000002\n"
    "Mode: follower\n"
    "Node count: 5\n";

constexpr char kLeader[] =
    "Zookeeper version: 3.8.0-debian--1, built on 2024-06-16 00:00 UTC\n"
    "Latency min/avg/max: 0/0.0/0\n"
    "Received: 1\n"
    "Sent: 0\n"
    "Connections: 1\n"
    "Outstanding: 0\n"
    "Zxid: 0x200000000\n"
    "Mode: leader\n"
    "Node count: 5\n"
    "Proposal sizes last/min/max: -1/-1/-1\n";

TEST(ParseSrvrTest, Follower) {
  auto state = ParseSrvr(kFollower);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->serving);
  EXPECT_EQ(state->mode, "follower");
  EXPECT_EQ(state->zxid, "0x100000002");
}

TEST(ParseSrvrTest, Leader) {
  auto state = ParseSrvr(kLeader);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->mode, "leader");
  EXPECT_EQ(state->zxid, "0x200000000");
}

TEST(ParseSrvrTest, ObserverWithCrLf) {
  auto state = ParseSrvr("Zxid: 0x5\r\nMode: observer\r\n");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->mode, "observer");
  EXPECT_EQ(state->zxid, "0x5");
}

TEST(ParseSrvrTest, NotServing) {
  auto state = ParseSrvr("This ZooKeeper instance is not currently serving requests\n");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_FALSE(state->serving);
  EXPECT_TRUE(state->mode.empty());
}

TEST(ParseSrvrTest, Garbage) {
  for (const char* text : {"", "imok", "HTTP/1.1 400 Bad Request\r\n\r\n", "Mode:\n"}) {
    auto state = ParseSrvr(text);
    EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_THAT(ParseSrvr("imok").status().message(), HasSubstr("\"imok\""));
}

TEST(AskFourLetterWordTest, ReadsTheWholeAnswer) {
  FakeSrvrServer server(FakeSrvrServer::Behavior::kAnswer, kLeader);
  auto answer = AskFourLetterWord("127.0.0.1", server.port(), "srvr", absl::Seconds(5));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(*answer, kLeader);
  EXPECT_EQ(server.received(), "srvr");
}

TEST(AskFourLetterWordTest, RefusedIsUnavailable) {
  const int port = UnusedPort();
  auto answer = AskFourLetterWord("127.0.0.1", port, "srvr", absl::Seconds(5));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(answer.status().message(), HasSubstr("refused"));
  EXPECT_THAT(answer.status().message(), HasSubstr(absl::StrCat("127.0.0.1:", port)));
}

TEST(AskFourLetterWordTest, NoAnswerTimesOut) {
  FakeSrvrServer server(FakeSrvrServer::Behavior::kHang);
  const absl::Time start = absl::Now();
  auto answer = AskFourLetterWord("127.0.0.1", server.port(), "srvr", absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(answer.status().message(), HasSubstr("no answer from 127.0.0.1:"));
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Seconds(3));
}

TEST(AskFourLetterWordTest, NotAnAddress) {
  EXPECT_EQ(AskFourLetterWord("zk-1", 2181, "srvr", absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infrakit::plugins::flavor::zookeeper
