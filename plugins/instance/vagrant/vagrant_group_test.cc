// instance-vagrant under the real group service (examples/vagrant): the real
// infrakit-instance-vagrant, infrakit-flavor-vanilla and infrakit-group binaries on real
// sockets, Vagrant's docker provider against a private dockerd. A group of 3 converges, a
// container removed behind the plugin's back is healed, a rolling update replaces every
// member, and destroying the group leaves no container and no instance directory.
#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "plugins/instance/vagrant/test_engine.h"
#include "spec/group_spec.h"
#include "spec/tags.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kWait = absl::Seconds(60);
constexpr absl::Duration kPause = absl::Milliseconds(50);

class VagrantGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = TestEngineMissing();
    if (!missing.empty()) GTEST_SKIP() << missing;
    engine_ = std::make_unique<TestEngine>(dir_.path());
    absl::Status started = engine_->Start();
    ASSERT_TRUE(started.ok()) << started;
    vagrant_ = StartPlugin(
        "plugins/instance/vagrant/infrakit-instance-vagrant",
        {"--dir", dir_.Join("instances"), "--docker-host", engine_->docker_host(), "--log", "1"},
        "instance-vagrant");
    ASSERT_NE(vagrant_, nullptr);
    vanilla_ = StartPlugin("plugins/flavor/vanilla/infrakit-flavor-vanilla", {}, "flavor-vanilla");
    ASSERT_NE(vanilla_, nullptr);
    group_ = StartPlugin("services/group/server/infrakit-group",
                         {"--state-dir", dir_.Join("state")}, "group");
    ASSERT_NE(group_, nullptr);
    groups_ = std::make_unique<client::GroupClient>(
        client::discovery::MakePluginChannel(dir_.Join("plugins/group.sock")), absl::Seconds(60));
  }

  void TearDown() override {
    if (watched_ && groups_ != nullptr) {
      gv1::DestroyGroupRequest request;
      request.set_id("busybox");
      groups_->DestroyGroup(request).status().IgnoreError();
    }
    if (group_ != nullptr) group_->Kill();
    if (vagrant_ != nullptr) {
      vagrant_->Signal(SIGTERM).IgnoreError();
      EXPECT_TRUE(vagrant_->Wait(kWait).ok());
    }
    if (engine_ != nullptr) engine_->Stop();
  }

  std::unique_ptr<PluginProcess> StartPlugin(const std::string& binary,
                                             std::vector<std::string> args,
                                             const std::string& name) {
    args.insert(args.begin(), {"--plugins-dir", dir_.Join("plugins")});
    auto process = std::make_unique<PluginProcess>(binary, std::move(args), dir_.path());
    absl::Status started = process->Start();
    EXPECT_TRUE(started.ok()) << started;
    if (!started.ok()) return nullptr;
    absl::Status ready =
        process->WaitReady(dir_.Join(absl::StrCat("plugins/", name, ".sock")), kWait);
    EXPECT_TRUE(ready.ok()) << ready << "\n" << process->Stderr();
    if (!ready.ok()) return nullptr;
    return process;
  }

  gv1::GroupSpec Load(const std::string& name) {
    auto parsed = client::config::ParseConfigFile(
        infrakit::testing::RunfilePath(absl::StrCat("examples/vagrant/", name)));
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? parsed->spec : gv1::GroupSpec();
  }

  std::string Logs() const {
    return absl::StrCat("\n--- group ---\n", group_ ? group_->Stderr() : "",
                        "\n--- instance-vagrant ---\n", vagrant_ ? vagrant_->Stderr() : "");
  }

  // The group's members, sorted, once it has `size` of them each with a running container
  // and on config `sha`; empty (with a test failure) if that does not happen in time.
  std::vector<std::string> WaitConverged(int size, const std::string& sha) {
    std::vector<std::string> members;
    std::vector<std::string> running;
    const bool converged = WaitFor(
        [&] {
          gv1::InspectGroupRequest request;
          request.set_id("busybox");
          auto group = groups_->InspectGroup(request);
          if (!group.ok()) return false;
          members.clear();
          for (const gv1::Member& m : group->members()) {
            auto tag = m.tags().find(spec::kShaTag);
            if (tag == m.tags().end() || tag->second != sha) return false;
            members.push_back(m.id());
          }
          std::sort(members.begin(), members.end());
          running = engine_->RunningContainers();
          return static_cast<int>(members.size()) == size && running == members;
        },
        kWait, kPause);
    EXPECT_TRUE(converged) << "members " << absl::StrJoin(members, " ") << ", containers "
                           << absl::StrJoin(running, " ") << Logs();
    return converged ? members : std::vector<std::string>{};
  }

  TempDir dir_;
  std::unique_ptr<TestEngine> engine_;
  std::unique_ptr<PluginProcess> vagrant_;
  std::unique_ptr<PluginProcess> vanilla_;
  std::unique_ptr<PluginProcess> group_;
  std::unique_ptr<client::GroupClient> groups_;
  bool watched_ = false;
};

TEST_F(VagrantGroupTest, ConvergesHealsRollsAndDestroys) {
  const gv1::GroupSpec v1 = Load("busybox.json");
  const std::string sha1 = spec::ConfigSha(v1);
  absl::Time start = absl::Now();
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = v1;
  auto watched = groups_->WatchGroup(watch);
  ASSERT_TRUE(watched.ok()) << watched.status() << Logs();
  watched_ = true;
  const std::vector<std::string> first = WaitConverged(3, sha1);
  ASSERT_EQ(first.size(), 3);
  LOG(INFO) << "3 containers running " << absl::Now() - start << " after watch";
  // The init ran inside the container, with the instance's environment.
  auto logs = engine_->Docker({"logs", first[0]});
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_TRUE(absl::StrContains(*logs, absl::StrCat(first[0], " of group busybox starting (v1)")))
      << *logs;

  // A container removed behind the plugin's back: the group replaces the instance.
  start = absl::Now();
  ASSERT_TRUE(engine_->Docker({"rm", "-f", first[1]}).ok());
  const std::vector<std::string> healed = WaitConverged(3, sha1);
  ASSERT_EQ(healed.size(), 3);
  EXPECT_EQ(std::count(healed.begin(), healed.end(), first[1]), 0);
  LOG(INFO) << "healed (3 containers running again) in " << absl::Now() - start;

  // A rolling update replaces every member.
  start = absl::Now();
  const gv1::GroupSpec v2 = Load("busybox-v2.json");
  const std::string sha2 = spec::ConfigSha(v2);
  ASSERT_NE(sha1, sha2);
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = v2;
  gv1::UpdateGroupResponse last;
  const absl::Status updated =
      groups_->UpdateGroup(update, [&](const gv1::UpdateGroupResponse& r) { last = r; });
  ASSERT_TRUE(updated.ok()) << updated << Logs();
  EXPECT_EQ(last.phase(), gv1::UPDATE_PHASE_COMPLETED) << last.message();
  const std::vector<std::string> rolled = WaitConverged(3, sha2);
  ASSERT_EQ(rolled.size(), 3);
  for (const std::string& id : healed) EXPECT_EQ(std::count(rolled.begin(), rolled.end(), id), 0);
  LOG(INFO) << "rolling update done (3 new containers running) in " << absl::Now() - start;

  // Destroying the group leaves no container and no instance directory.
  start = absl::Now();
  gv1::DestroyGroupRequest destroy;
  destroy.set_id("busybox");
  ASSERT_TRUE(groups_->DestroyGroup(destroy).ok()) << Logs();
  watched_ = false;
  EXPECT_TRUE(WaitFor(
      [&] {
        return engine_->Containers().empty() &&
               infrakit::testing::SortedNames(dir_.Join("instances")).empty();
      },
      kWait, kPause))
      << absl::StrJoin(engine_->Containers(), " ") << " / "
      << absl::StrJoin(infrakit::testing::SortedNames(dir_.Join("instances")), " ") << Logs();
  LOG(INFO) << "group destroyed, nothing left, in " << absl::Now() - start;
}

}  // namespace
}  // namespace infrakit::plugins::instance::vagrant
