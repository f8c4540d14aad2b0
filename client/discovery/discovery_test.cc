// Discovery over a real plugins directory: a live plugin (an in-process PluginServer), a stale
// socket, a live socket that does not speak gRPC, and entries that are not plugins.
#include "client/discovery/discovery.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/runtime/plugin_server.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::client::discovery {
namespace {

using ::infrakit::services::runtime::PluginIdentity;
using ::infrakit::services::runtime::PluginServer;
using ::infrakit::testing::TempDir;

// A bound AF_UNIX socket; listening or not.
int BindSocket(const std::string& path, bool listen_on_it) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -1;
  if (listen_on_it && listen(fd, 8) != 0) return -1;
  return fd;
}

PluginIdentity Identity() {
  PluginIdentity identity;
  identity.default_name = "alpha";
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_GROUP;
  identity.type = "infrakit.GroupPlugin/1.0";
  identity.binary = "infrakit-group";
  return identity;
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    // stale: bound then closed, as a crashed server leaves it
    int stale = BindSocket(dir_.Join("beta.sock"), false);
    ASSERT_GE(stale, 0);
    close(stale);
    // live but not a gRPC server
    raw_fd_ = BindSocket(dir_.Join("raw.sock"), true);
    ASSERT_GE(raw_fd_, 0);
    // not plugins
    std::ofstream(dir_.Join("gamma.sock")) << "a regular file named like a socket";
    std::ofstream(dir_.Join("notes.txt")) << "x";
    ASSERT_EQ(mkdir(dir_.Join("sub.sock").c_str(), 0700), 0);
    int unnamed = BindSocket(dir_.Join("listening-but-not-dot-sock"), true);
    ASSERT_GE(unnamed, 0);
    extra_fd_ = unnamed;
  }
  void TearDown() override {
    if (raw_fd_ >= 0) close(raw_fd_);
    if (extra_fd_ >= 0) close(extra_fd_);
  }

  TempDir dir_;
  PluginServer server_{Identity(), "alpha", dir_.path()};
  int raw_fd_ = -1;
  int extra_fd_ = -1;
};

TEST_F(DiscoveryTest, ListsLiveAndStaleSocketsSortedAndIgnoresTheRest) {
  absl::StatusOr<std::vector<PluginEntry>> plugins =
      ListPlugins(dir_.path(), absl::Milliseconds(300));
  ASSERT_TRUE(plugins.ok()) << plugins.status();
  ASSERT_EQ(plugins->size(), 3u);

  const PluginEntry& alpha = (*plugins)[0];
  EXPECT_EQ(alpha.name, "alpha");
  EXPECT_EQ(alpha.socket_path, dir_.Join("alpha.sock"));
  EXPECT_EQ(alpha.address, "unix://" + dir_.Join("alpha.sock"));
  EXPECT_TRUE(alpha.alive);
  ASSERT_TRUE(alpha.info.has_value()) << alpha.info_status;
  EXPECT_EQ(alpha.info->kind(), infrakit::plugin::v1::PLUGIN_KIND_GROUP);
  EXPECT_EQ(alpha.info->type(), "infrakit.GroupPlugin/1.0");
  EXPECT_EQ(alpha.info->name(), "alpha");

  const PluginEntry& beta = (*plugins)[1];
  EXPECT_EQ(beta.name, "beta");
  EXPECT_FALSE(beta.alive);
  EXPECT_FALSE(beta.info.has_value());
  EXPECT_EQ(beta.info_status.code(), absl::StatusCode::kUnavailable);

  const PluginEntry& raw = (*plugins)[2];
  EXPECT_EQ(raw.name, "raw");
  EXPECT_TRUE(raw.alive);              // something accepts connections...
  EXPECT_FALSE(raw.info.has_value());  // ...but it is not an InfraKit plugin
  EXPECT_FALSE(raw.info_status.ok());
}

TEST_F(DiscoveryTest, FindReturnsTheSocketOfALivePlugin) {
  absl::StatusOr<std::string> socket = Find(dir_.path(), "alpha");
  ASSERT_TRUE(socket.ok()) << socket.status();
  EXPECT_EQ(*socket, dir_.Join("alpha.sock"));
  absl::StatusOr<infrakit::plugin::v1::InfoResponse> info = GetInfo(*socket);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name(), "alpha");
  // The address form dials the same plugin.
  EXPECT_TRUE(GetInfo(SocketAddress(*socket)).ok());
}

TEST_F(DiscoveryTest, FindErrors) {
  absl::StatusOr<std::string> missing = Find(dir_.path(), "zeta");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no plugin named zeta in " + dir_.path());

  absl::StatusOr<std::string> stale = Find(dir_.path(), "beta");
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(stale.status().message(),
            "plugin beta at " + dir_.Join("beta.sock") + " does not answer");

  EXPECT_EQ(Find(dir_.path(), "gamma").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Find(dir_.path(), "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Find(dir_.path(), "../alpha").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DiscoveryTest, AStoppedPluginBecomesNotFound) {
  server_.Shutdown();
  EXPECT_EQ(Find(dir_.path(), "alpha").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<PluginEntry>> plugins =
      ListPlugins(dir_.path(), absl::Milliseconds(300));
  ASSERT_TRUE(plugins.ok());
  ASSERT_EQ(plugins->size(), 2u);
  EXPECT_EQ((*plugins)[0].name, "beta");
}

TEST(ListPluginsTest, MissingDirectoryIsEmpty) {
  TempDir dir;
  absl::StatusOr<std::vector<PluginEntry>> plugins = ListPlugins(dir.Join("none"));
  ASSERT_TRUE(plugins.ok()) << plugins.status();
  EXPECT_TRUE(plugins->empty());
}

TEST(ListPluginsTest, AFileInsteadOfADirectoryIsAnError) {
  TempDir dir;
  std::ofstream(dir.Join("file")) << "x";
  absl::StatusOr<std::vector<PluginEntry>> plugins = ListPlugins(dir.Join("file"));
  EXPECT_FALSE(plugins.ok());
  EXPECT_TRUE(absl::StrContains(plugins.status().message(), dir.Join("file"))) << plugins.status();
}

TEST(ProbeSocketTest, States) {
  TempDir dir;
  EXPECT_EQ(*ProbeSocket(dir.Join("none")), SocketState::kMissing);
  std::ofstream(dir.Join("file")) << "x";
  EXPECT_EQ(*ProbeSocket(dir.Join("file")), SocketState::kNotSocket);
  int stale = BindSocket(dir.Join("stale"), false);
  ASSERT_GE(stale, 0);
  close(stale);
  EXPECT_EQ(*ProbeSocket(dir.Join("stale")), SocketState::kStale);
  int live = BindSocket(dir.Join("live"), true);
  ASSERT_GE(live, 0);
  EXPECT_EQ(*ProbeSocket(dir.Join("live")), SocketState::kLive);
  close(live);
  EXPECT_EQ(*ProbeSocket(dir.Join("live")), SocketState::kStale);
  EXPECT_EQ(ProbeSocket(std::string(200, 'x')).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SocketStateName(SocketState::kLive), "alive");
}

TEST(SocketAddressTest, AbsoluteAndRelative) {
  EXPECT_EQ(SocketAddress("/run/infrakit/plugins/group.sock"),
            "unix:///run/infrakit/plugins/group.sock");
  EXPECT_EQ(SocketAddress("plugins/group.sock"), "unix:plugins/group.sock");
}

}  // namespace
}  // namespace infrakit::client::discovery
