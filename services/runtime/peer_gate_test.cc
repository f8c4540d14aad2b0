#include "services/runtime/peer_gate.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::services::runtime {
namespace {

TEST(PeerPolicyTest, AllowsRootItsOwnUidAndTheListedOnes) {
  PeerPolicy policy;
  policy.own_uid = 1000;
  policy.uids = {2000};
  policy.gids = {300};
  EXPECT_TRUE(policy.Allows({1, 0, 5}));
  EXPECT_TRUE(policy.Allows({1, 1000, 5}));
  EXPECT_TRUE(policy.Allows({1, 2000, 5}));
  EXPECT_TRUE(policy.Allows({1, 4000, 300}));
  EXPECT_FALSE(policy.Allows({1, 4000, 5}));
  EXPECT_TRUE(policy.widened());
  EXPECT_EQ(policy.Describe(), "uid 0 (root), uid 1000 (this server's), uid 2000, gid 300");
  EXPECT_FALSE(PeerPolicy::Default().widened());
}

TEST(PeerPolicyTest, FlagsTakeNumbersAndNamesAndNameABadValue) {
  absl::StatusOr<PeerPolicy> policy = PeerPolicy::FromFlags({"1234", "root"}, {"root", "77"});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->uids, (std::vector<uid_t>{1234, 0}));
  EXPECT_EQ(policy->gids, (std::vector<gid_t>{0, 77}));
  EXPECT_EQ(policy->own_uid, getuid());

  absl::StatusOr<PeerPolicy> bad = PeerPolicy::FromFlags({"no-such-user-here"}, {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "--allow-uid")) << bad.status();
  bad = PeerPolicy::FromFlags({}, {"no-such-group-here"});
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "--allow-gid")) << bad.status();
}

// A listening socket in a temporary directory.
int Listen(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, path.data(), path.size());
  EXPECT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(listen(fd, 16), 0);
  return fd;
}

int Connect(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, path.data(), path.size());
  EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  return fd;
}

TEST(PeerGateTest, AdmitsAnAllowedPeerWithItsCredentialsAndStops) {
  testing::TempDir scratch;
  const std::string path = scratch.path() + "/s";
  absl::Mutex mu;
  std::vector<Peer> admitted;
  auto gate =
      PeerGate::Start(Listen(path), PeerPolicy::Default(), path, [&](int fd, const Peer& peer) {
        close(fd);
        absl::MutexLock lock(&mu);
        admitted.push_back(peer);
      });
  ASSERT_TRUE(gate.ok()) << gate.status();
  const int client = Connect(path);
  ASSERT_TRUE(testing::WaitFor([&] { return (*gate)->admitted() == 1; }, absl::Seconds(20)));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(admitted[0].uid, getuid());
    EXPECT_EQ(admitted[0].pid, getpid());
  }
  EXPECT_EQ((*gate)->refused(), 0);
  close(client);
  (*gate)->Stop();
  (*gate)->Stop();  // idempotent
}

}  // namespace
}  // namespace infrakit::services::runtime
