// The infrakit-instance-process binary over its real socket: its instances outlive it (killed or
// stopped), and a restarted binary re-adopts them and reports their death over gRPC.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/discovery/channel.h"
#include "client/instance_client.h"
#include "gtest/gtest.h"
#include "plugins/instance/process/proc_stat.h"
#include "spec/tags.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::process {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kDeadline = absl::Seconds(20);
constexpr char kBinary[] = "plugins/instance/process/infrakit-instance-process";

bool IsGone(pid_t pid) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  return !stat.ok() || !stat->alive();
}

class Sink : public spi::instance::WatchSink {
 public:
  void OnEvent(const v1::WatchResponse& event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  }
  void OnDone(const absl::Status& status) override {}
  bool Has(v1::EventType type, const std::string& id) {
    absl::MutexLock lock(&mu_);
    for (const v1::WatchResponse& e : events_) {
      if (e.type() == type && e.instance().id() == id) return true;
    }
    return false;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::WatchResponse> events_ ABSL_GUARDED_BY(mu_);
};

class InstanceProcessBinaryTest : public ::testing::Test {
 protected:
  void TearDown() override {
    client_.reset();
    plugin_.reset();
    for (pid_t pgid : groups_) kill(-pgid, SIGKILL);
  }

  void StartPlugin() {
    plugin_ = std::make_unique<PluginProcess>(
        kBinary,
        std::vector<std::string>{"--plugins-dir", dir_.Join("plugins"), "--dir",
                                 dir_.Join("instances")},
        dir_.path());
    ASSERT_TRUE(plugin_->Start().ok());
    const std::string socket = dir_.Join("plugins/instance-process.sock");
    ASSERT_TRUE(plugin_->WaitReady(socket, kDeadline).ok()) << plugin_->Stderr();
    client_ =
        std::make_unique<client::InstanceClient>(client::discovery::MakePluginChannel(socket));
  }

  std::vector<v1::Description> Describe() {
    v1::DescribeRequest request;
    request.set_include_properties(true);
    absl::StatusOr<v1::DescribeResponse> response = client_->Describe(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    return {response->instances().begin(), response->instances().end()};
  }

  TempDir dir_;
  std::unique_ptr<PluginProcess> plugin_;
  std::unique_ptr<client::InstanceClient> client_;
  std::vector<pid_t> groups_;
};

// A second plugin on the same directory, under another name: refused before it reads the
// directory (exit 1, the message naming it), no socket; the first one's instance stays its own.
TEST_F(InstanceProcessBinaryTest, ASecondPluginOnTheDirectoryIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartPlugin());
  v1::ProvisionRequest request;
  request.mutable_spec()->set_init("exec sleep 1000");
  absl::StatusOr<v1::ProvisionResponse> first = client_->Provision(request);
  ASSERT_TRUE(first.ok()) << first.status();
  std::vector<v1::Description> all = Describe();
  ASSERT_EQ(all.size(), 1u);
  groups_ = {static_cast<pid_t>(all[0].properties().fields().at("Pid").number_value())};

  PluginProcess second(
      kBinary,
      std::vector<std::string>{"--plugins-dir", dir_.Join("plugins"), "--name",
                               "instance-process-2", "--dir", dir_.Join("instances")},
      dir_.path());
  ASSERT_TRUE(second.Start().ok());
  absl::StatusOr<int> exited = second.Wait(kDeadline);
  ASSERT_TRUE(exited.ok()) << exited.status();
  EXPECT_TRUE(WIFEXITED(*exited) && WEXITSTATUS(*exited) == 1) << second.Stderr();
  EXPECT_NE(second.Stderr().find(absl::StrCat("instance directory ", dir_.Join("instances"),
                                              " is in use by another instance plugin")),
            std::string::npos)
      << second.Stderr();
  EXPECT_EQ(second.Stderr().find("re-adopted"), std::string::npos) << second.Stderr();
  EXPECT_EQ(access(dir_.Join("plugins/instance-process-2.sock").c_str(), F_OK), -1);
  all = Describe();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id(), first->id());
}

TEST_F(InstanceProcessBinaryTest, InstancesOutliveThePluginAndAreReadopted) {
  ASSERT_NO_FATAL_FAILURE(StartPlugin());
  v1::ProvisionRequest request;
  request.mutable_spec()->set_init("exec sleep 1000");
  (*request.mutable_spec()->mutable_tags())[spec::kGroupTag] = "workers";
  absl::StatusOr<v1::ProvisionResponse> first = client_->Provision(request);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<v1::ProvisionResponse> second = client_->Provision(request);
  ASSERT_TRUE(second.ok()) << second.status();
  std::vector<v1::Description> all = Describe();
  ASSERT_EQ(all.size(), 2u);
  const pid_t pid = static_cast<pid_t>(all[0].properties().fields().at("Pid").number_value());
  const pid_t other = static_cast<pid_t>(all[1].properties().fields().at("Pid").number_value());
  groups_ = {pid, other};
  // Not in the plugin's process group or session.
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  absl::StatusOr<ProcStat> plugin_stat = ReadProcStat(plugin_->pid());
  ASSERT_TRUE(stat.ok() && plugin_stat.ok());
  EXPECT_NE(stat->pgrp, plugin_stat->pgrp);
  EXPECT_NE(stat->session, plugin_stat->session);

  // kill -9 of the plugin: the instances live on.
  plugin_->Kill();
  EXPECT_FALSE(IsGone(pid));
  EXPECT_FALSE(IsGone(other));

  ASSERT_NO_FATAL_FAILURE(StartPlugin());
  all = Describe();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id(), first->id());
  EXPECT_EQ(all[0].properties().fields().at("Pid").number_value(), pid);
  EXPECT_EQ(all[0].state(), v1::LIFECYCLE_STATE_RUNNING);

  // A clean stop (SIGTERM) leaves them running as well.
  ASSERT_TRUE(plugin_->Signal(SIGTERM).ok());
  ASSERT_TRUE(plugin_->Wait(kDeadline).ok());
  EXPECT_FALSE(IsGone(pid));
  ASSERT_NO_FATAL_FAILURE(StartPlugin());
  ASSERT_EQ(Describe().size(), 2u);

  // The re-adopted processes are watched: a kill -9 is a REMOVED on the stream.
  Sink sink;
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> watch =
      client_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(WaitFor([&] { return sink.Has(v1::EVENT_TYPE_SYNCED, ""); }, kDeadline));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return sink.Has(v1::EVENT_TYPE_REMOVED, first->id()); }, kDeadline));
  all = Describe();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id(), second->id());

  v1::DestroyRequest destroy;
  destroy.set_id(second->id());
  ASSERT_TRUE(client_->Destroy(destroy).ok());
  EXPECT_TRUE(IsGone(other));
  EXPECT_TRUE(Describe().empty());
  watch->reset();
}

}  // namespace
}  // namespace infrakit::plugins::instance::process
