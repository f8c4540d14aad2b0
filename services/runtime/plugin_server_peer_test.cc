// Who may talk to a plugin, on a real PluginServer: processes of two users this test creates
// (useradd, as root; removed afterwards) connect to the plugin's socket. The one the policy does
// not allow is disconnected before gRPC reads a byte (and counted); the allowed one, by uid or
// by gid, is served; root always is.
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/discovery/discovery.h"
#include "gtest/gtest.h"
#include "services/runtime/plugin_server.h"
#include "tests/testing/wait_for.h"

namespace infrakit::services::runtime {
namespace {

constexpr absl::Duration kDeadline = absl::Seconds(20);

// What a process of another user saw when it connected.
enum class Outcome { kServed, kRefused, kCannotConnect, kOther };

// Connects to the unix socket `path` from a child process running as `uid` / `gid`, sends the
// HTTP/2 client preface and waits (10 s at most) for the server: gRPC answers with its SETTINGS
// (kServed); a refused connection is closed unread (kRefused).
Outcome ConnectAs(uid_t uid, gid_t gid, const std::string& path) {
  const pid_t child = fork();
  if (child == 0) {
    // Only system calls from here on (the parent has threads).
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(10);
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, path.data(), path.size());
    if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) _exit(2);
    static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
    // MSG_NOSIGNAL: a server that already closed the connection is an answer, not a SIGPIPE.
    if (send(fd, kPreface, sizeof(kPreface) - 1, MSG_NOSIGNAL) < 0) {
      _exit(errno == EPIPE || errno == ECONNRESET ? 1 : 11);
    }
    struct pollfd wait_for_server = {fd, POLLIN, 0};
    if (poll(&wait_for_server, 1, 10000) != 1) _exit(12);
    char byte;
    const ssize_t n = read(fd, &byte, 1);
    _exit(n > 0 ? 0 : (n == 0 || errno == ECONNRESET) ? 1 : 13);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status))
    return Outcome::kOther;
  switch (WEXITSTATUS(status)) {
    case 0:
      return Outcome::kServed;
    case 1:
      return Outcome::kRefused;
    case 2:
      return Outcome::kCannotConnect;
    default:
      return Outcome::kOther;
  }
}

// A system user made for the test and removed with it.
class TestUser {
 public:
  explicit TestUser(std::string name) : name_(std::move(name)) {
    userdel();
    const std::string add =
        absl::StrCat("useradd --system --no-create-home --user-group --shell /usr/sbin/nologin ",
                     name_, " >/dev/null 2>&1");
    if (system(add.c_str()) != 0) return;
    struct passwd* entry = getpwnam(name_.c_str());
    if (entry == nullptr) return;
    uid_ = entry->pw_uid;
    gid_ = entry->pw_gid;
    made_ = true;
  }
  ~TestUser() { userdel(); }

  bool made() const { return made_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }

 private:
  void userdel() const {
    const int ignored = system(absl::StrCat("userdel ", name_, " >/dev/null 2>&1").c_str());
    (void)ignored;
  }

  const std::string name_;
  bool made_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

class PluginServerPeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (to create users and connect as them)";
    // Short per-process names: useradd allows 32 characters.
    refused_ = std::make_unique<TestUser>(absl::StrCat("ikpeer", getpid(), "a"));
    allowed_ = std::make_unique<TestUser>(absl::StrCat("ikpeer", getpid(), "b"));
    if (!refused_->made() || !allowed_->made()) GTEST_SKIP() << "useradd failed";
    // A plugins directory others can reach (the test's own temporary directory may not be).
    std::string tmpl = "/tmp/ik-peer-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(chmod(dir_.c_str(), 0711), 0);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  PluginIdentity Identity() const {
    PluginIdentity identity;
    identity.default_name = "peer-test";
    identity.kind = infrakit::plugin::v1::PLUGIN_KIND_INSTANCE;
    return identity;
  }

  std::unique_ptr<TestUser> refused_;
  std::unique_ptr<TestUser> allowed_;
  std::string dir_;
};

TEST_F(PluginServerPeerTest, RefusesAnotherUserAndServesTheAllowedUid) {
  PluginServer server(Identity(), "peer-test", dir_);
  PeerPolicy policy = PeerPolicy::Default();
  policy.uids = {allowed_->uid()};
  server.SetPeerPolicy(policy);
  ASSERT_TRUE(server.Start().ok());
  const std::string socket = server.socket_path();
  struct stat st;
  ASSERT_EQ(stat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u) << "a widened policy needs a socket others can reach";

  EXPECT_EQ(ConnectAs(refused_->uid(), refused_->gid(), socket), Outcome::kRefused);
  EXPECT_TRUE(testing::WaitFor([&] { return server.refused_connections() == 1; }, kDeadline));
  EXPECT_EQ(ConnectAs(allowed_->uid(), allowed_->gid(), socket), Outcome::kServed);
  EXPECT_EQ(server.refused_connections(), 1);
  // Root (this process), through a real client: every call works.
  absl::StatusOr<infrakit::plugin::v1::InfoResponse> info =
      client::discovery::GetInfo(socket, absl::Seconds(10));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name(), "peer-test");
  server.Shutdown();
}

TEST_F(PluginServerPeerTest, ServesAnAllowedGid) {
  PluginServer server(Identity(), "peer-test", dir_);
  PeerPolicy policy = PeerPolicy::Default();
  policy.gids = {refused_->gid()};
  server.SetPeerPolicy(policy);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(ConnectAs(refused_->uid(), refused_->gid(), server.socket_path()), Outcome::kServed);
  EXPECT_EQ(ConnectAs(allowed_->uid(), allowed_->gid(), server.socket_path()), Outcome::kRefused);
  EXPECT_TRUE(testing::WaitFor([&] { return server.refused_connections() == 1; }, kDeadline));
}

TEST_F(PluginServerPeerTest, ByDefaultTheSocketIsOwnerOnlyAndOthersAreRefused) {
  PluginServer server(Identity(), "peer-test", dir_);
  ASSERT_TRUE(server.Start().ok());
  struct stat st;
  ASSERT_EQ(stat(server.socket_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The file's mode keeps them out already; were it opened, the check would refuse them too.
  EXPECT_EQ(ConnectAs(allowed_->uid(), allowed_->gid(), server.socket_path()),
            Outcome::kCannotConnect);
  ASSERT_EQ(chmod(server.socket_path().c_str(), 0666), 0);
  EXPECT_EQ(ConnectAs(allowed_->uid(), allowed_->gid(), server.socket_path()), Outcome::kRefused);
  EXPECT_TRUE(testing::WaitFor([&] { return server.refused_connections() == 1; }, kDeadline));
}

}  // namespace
}  // namespace infrakit::services::runtime
