#include "tools/bench/ping_pong.h"

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::tools::bench {
namespace {

TEST(PingPongTest, TimesEveryRoundAfterTheWarmup) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<PongServer>> server =
      PongServer::Start(dir.Join("pong.sock"), 10, 300);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::vector<absl::Duration>> samples =
      PingPong(dir.Join("pong.sock"), 10, 300, 5, 50);
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 50u);
  for (absl::Duration d : *samples) EXPECT_GT(d, absl::ZeroDuration());
}

TEST(PingPongTest, ServesOneConnectionAfterAnother) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<PongServer>> server =
      PongServer::Start(dir.Join("pong.sock"), 1, 1);
  ASSERT_TRUE(server.ok()) << server.status();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::vector<absl::Duration>> samples =
        PingPong(dir.Join("pong.sock"), 1, 1, 0, 10);
    ASSERT_TRUE(samples.ok()) << samples.status();
    EXPECT_EQ(samples->size(), 10u);
  }
}

TEST(PingPongTest, NoServerIsAnError) {
  testing::TempDir dir;
  EXPECT_FALSE(PingPong(dir.Join("none.sock"), 1, 1, 0, 1).ok());
}

TEST(PongServerTest, ExistingPathIsAnError) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<PongServer>> first = PongServer::Start(dir.Join("p.sock"), 1, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(PongServer::Start(dir.Join("p.sock"), 1, 1).ok());
}

}  // namespace
}  // namespace infrakit::tools::bench
