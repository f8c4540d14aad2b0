// The infrakit-group wiring: flag checks, the state directory's lock, refusing a corrupt store.
#include "services/group/server/group_server.h"

#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::services::group::server {
namespace {

using ::infrakit::testing::TempDir;
using ::testing::HasSubstr;

GroupServerOptions Options(const TempDir& dir) {
  GroupServerOptions o;
  o.plugins_dir = dir.Join("plugins");
  o.state_dir = dir.Join("state");
  return o;
}

TEST(GroupServerTest, DefaultStateDirIsPerName) {
  EXPECT_EQ(DefaultStateDir("/home/u/.infrakit", "group"), "/home/u/.infrakit/group/group");
  EXPECT_EQ(DefaultStateDir("/home/u/.infrakit", "group-2"), "/home/u/.infrakit/group/group-2");
}

TEST(GroupServerTest, ExecutorThreadsGrowWithParallelism) {
  EXPECT_GT(ExecutorThreads(1), 2);
  EXPECT_GT(ExecutorThreads(16), 2 * 16);
}

TEST(GroupServerTest, StartsOnAFreshStateDirAndServesNothingYet) {
  TempDir dir;
  auto server = GroupServer::Create(Options(dir));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_NE((*server)->service(), nullptr);
  EXPECT_EQ((*server)->controller()->ListGroups().groups_size(), 0);
}

TEST(GroupServerTest, BadFlagsAreNamed) {
  TempDir dir;
  GroupServerOptions o = Options(dir);
  o.state_dir = "";
  auto server = GroupServer::Create(o);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("--state-dir"));

  o = Options(dir);
  o.resync_period = absl::ZeroDuration();
  server = GroupServer::Create(o);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("--resync-period"));

  o = Options(dir);
  o.max_parallel = 0;
  server = GroupServer::Create(o);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("--max-parallel"));
}

TEST(GroupServerTest, TwoServersCannotShareAStateDir) {
  TempDir dir;
  auto first = GroupServer::Create(Options(dir));
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = GroupServer::Create(Options(dir));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(dir.Join("state")));

  first->reset();  // Releases the lock.
  auto third = GroupServer::Create(Options(dir));
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(GroupServerTest, RefusesACorruptRecord) {
  TempDir dir;
  {
    auto server = GroupServer::Create(Options(dir));
    ASSERT_TRUE(server.ok()) << server.status();
  }
  {
    std::ofstream out(dir.Join("state") + "/cattle.json");
    out << "{ this is not a record";
  }
  auto server = GroupServer::Create(Options(dir));
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("cattle.json"));
  // Refused, not read as empty: the record is still there for a human to fix.
  std::ifstream in(dir.Join("state") + "/cattle.json");
  EXPECT_TRUE(in.good());
}

}  // namespace
}  // namespace infrakit::services::group::server
