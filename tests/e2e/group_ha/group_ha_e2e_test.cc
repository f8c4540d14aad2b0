// Two real infrakit-group processes (--store etcd://) on one real etcd, with the real
// instance-file and flavor-vanilla plugins: the leader manages the group, the follower refuses
// writes; after kill -9 of the leader the follower takes over and keeps the group converged.
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::testing::EtcdCluster;
using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr char kGroupBinary[] = "services/group/server/infrakit-group";
constexpr char kFileBinary[] = "plugins/instance/file/infrakit-instance-file";
constexpr char kVanillaBinary[] = "plugins/flavor/vanilla/infrakit-flavor-vanilla";
constexpr absl::Duration kStart = absl::Seconds(30);
constexpr absl::Duration kWait = absl::Seconds(60);
constexpr char kConfig[] = R"({"ID": "cattle", "Properties": {
    "Instance": {"Plugin": "instance-file", "Properties": {"Note": "ha"}},
    "Flavor": {"Plugin": "flavor-vanilla", "Properties": {"Size": 2}}}})";

class GroupHaE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdCluster::Installed()) GTEST_SKIP() << EtcdCluster::kNotInstalled;
    etcd_ = std::make_unique<EtcdCluster>(1);
    absl::Status started = etcd_->Start();
    ASSERT_TRUE(started.ok()) << started;
    ASSERT_EQ(mkdir(dir_.Join("plugins").c_str(), 0700), 0);
    ASSERT_EQ(mkdir(dir_.Join("instances").c_str(), 0700), 0);
    file_ = StartPlugin(kFileBinary, {"--dir", dir_.Join("instances")}, "instance-file");
    vanilla_ = StartPlugin(kVanillaBinary, {}, "flavor-vanilla");
    a_ = StartGroup("group-a");
    ASSERT_TRUE(WaitFor([&] { return !ListGroups("group-a").follower(); }, kWait));
    b_ = StartGroup("group-b");
  }

  std::string Socket(const std::string& name) { return dir_.Join("plugins/" + name + ".sock"); }

  std::unique_ptr<PluginProcess> StartPlugin(const std::string& binary,
                                             std::vector<std::string> args,
                                             const std::string& name) {
    args.insert(args.begin(), {"--plugins-dir", dir_.Join("plugins"), "--name", name});
    auto process = std::make_unique<PluginProcess>(binary, std::move(args), dir_.path());
    absl::Status started = process->Start();
    EXPECT_TRUE(started.ok()) << started;
    absl::Status ready = process->WaitReady(Socket(name), kStart);
    EXPECT_TRUE(ready.ok()) << ready << "\n" << process->Stderr();
    return process;
  }

  std::unique_ptr<PluginProcess> StartGroup(const std::string& name) {
    return StartPlugin(kGroupBinary,
                       {"--store", "etcd://" + etcd_->Endpoints(), "--etcd-prefix", "/e2e",
                        "--etcd-lease-ttl", "2s", "--advertise", name, "--resync-period", "1s"},
                       name);
  }

  std::unique_ptr<gv1::GroupService::Stub> Stub(const std::string& name) {
    return gv1::GroupService::NewStub(client::discovery::MakePluginChannel(Socket(name)));
  }

  // ListGroups of group service `name` (an empty response when it does not answer).
  gv1::ListGroupsResponse ListGroups(const std::string& name) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    gv1::ListGroupsResponse response;
    if (!Stub(name)->ListGroups(&context, gv1::ListGroupsRequest(), &response).ok()) {
      response.Clear();
      response.set_follower(true);
    }
    return response;
  }

  grpc::Status Watch(const std::string& name) {
    auto spec = client::config::ParseGroupConfig(kConfig);
    EXPECT_TRUE(spec.ok()) << spec.status();
    gv1::WatchGroupRequest request;
    *request.mutable_spec() = *spec;
    grpc::ClientContext context;
    gv1::WatchGroupResponse response;
    return Stub(name)->WatchGroup(&context, request, &response);
  }

  // The instance files (dot files are instance-file's temporaries).
  std::vector<std::string> Instances() {
    std::vector<std::string> out;
    DIR* d = opendir(dir_.Join("instances").c_str());
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    }
    closedir(d);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::unique_ptr<PluginProcess> file_;
  std::unique_ptr<PluginProcess> vanilla_;
  std::unique_ptr<PluginProcess> a_;
  std::unique_ptr<PluginProcess> b_;
};

TEST_F(GroupHaE2eTest, AfterKill9OfTheLeaderTheFollowerTakesOverAndKeepsTheGroupConverged) {
  ASSERT_TRUE(WaitFor([&] { return ListGroups("group-b").leader() == "group-a"; }, kWait));
  grpc::Status refused = Watch("group-b");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("the leader is group-a"), std::string::npos)
      << refused.error_message();
  grpc::Status watched = Watch("group-a");
  ASSERT_TRUE(watched.ok()) << watched.error_message();
  ASSERT_TRUE(WaitFor([&] { return Instances().size() == 2; }, kWait));

  const absl::Time killed = absl::Now();
  ASSERT_TRUE(a_->Signal(SIGKILL).ok());
  a_->Wait();
  ASSERT_TRUE(WaitFor([&] { return !ListGroups("group-b").follower(); }, kWait));
  std::cerr << "takeover after kill -9 in " << absl::FormatDuration(absl::Now() - killed) << "\n";
  gv1::ListGroupsResponse list = ListGroups("group-b");
  EXPECT_EQ(list.leader(), "group-b");
  ASSERT_EQ(list.groups_size(), 1);
  EXPECT_EQ(list.groups(0).spec().id(), "cattle");

  // The new leader keeps the group converged: a lost instance is replaced.
  const std::vector<std::string> before = Instances();
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(unlink(dir_.Join("instances/" + before[0]).c_str()), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> now = Instances();
        return now.size() == 2 && now != before;
      },
      kWait));
  EXPECT_TRUE(WaitFor([&] { return Instances().size() == 2; }, absl::Seconds(3)));
}

}  // namespace
}  // namespace infrakit
