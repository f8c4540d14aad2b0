// A group of 3 on instance-terraform, end to end: the real infrakit-group, infrakit-flavor-vanilla
// and infrakit-instance-terraform binaries on real unix sockets, with the stand-in terraform
// (testdata/fake_terraform.py, Terraform's CLI and state contract) as --terraform. The config
// names the instance plugin "terraform", as the original InfraKit's did.
#include <sys/stat.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "client/instance_client.h"
#include "common/atomic_file.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.pb.h"
#include "plugins/instance/terraform/tf_file.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::terraform {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;
using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kWait = absl::Seconds(60);

constexpr char kConfig[] = R"({
  "id": "workers",
  "properties": {
    "instance": {
      "plugin": "terraform",
      "properties": {"type": "aws_instance", "value": {"ami": "ami-1", "instance_type": "t3.micro"}}
    },
    "flavor": {
      "plugin": "flavor-vanilla",
      "properties": {"Size": 3, "UserData": ["echo hello"], "Labels": {"tier": "batch"}}
    }
  }
})";

class TerraformGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(plugins_dir().c_str(), 0700), 0);
    terraform_ = Start(
        "plugins/instance/terraform/infrakit-instance-terraform",
        {"--dir", work_dir(), "--terraform",
         infrakit::testing::RunfilePath("plugins/instance/terraform/testdata/fake_terraform.py")},
        "instance-terraform");
    vanilla_ = Start("plugins/flavor/vanilla/infrakit-flavor-vanilla", {}, "flavor-vanilla");
    group_ = Start("services/group/server/infrakit-group",
                   {"--state-dir", dir_.Join("state"), "--resync-period", "2s"}, "group");
    ASSERT_TRUE(terraform_ && vanilla_ && group_);
    groups_ = std::make_unique<client::GroupClient>(
        client::discovery::MakePluginChannel(plugins_dir() + "/group.sock"), absl::Seconds(30));
    instances_ = std::make_unique<client::InstanceClient>(
        client::discovery::MakePluginChannel(plugins_dir() + "/instance-terraform.sock"),
        absl::Seconds(30));
  }

  std::string plugins_dir() const { return dir_.Join("plugins"); }
  std::string work_dir() const { return dir_.Join("work"); }

  std::unique_ptr<PluginProcess> Start(const std::string& binary, std::vector<std::string> args,
                                       const std::string& name) {
    args.insert(args.begin(), {"--plugins-dir", plugins_dir()});
    auto process = std::make_unique<PluginProcess>(binary, std::move(args), dir_.path());
    absl::Status started = process->Start();
    EXPECT_TRUE(started.ok()) << started;
    if (!started.ok()) return nullptr;
    absl::Status ready =
        process->WaitReady(absl::StrCat(plugins_dir(), "/", name, ".sock"), absl::Seconds(30));
    EXPECT_TRUE(ready.ok()) << ready << "\n" << process->Stderr();
    return ready.ok() ? std::move(process) : nullptr;
  }

  // How many aws_instance resources Terraform's state file holds (the stand-in writes state
  // format 4, as Terraform does: one "type" per resource).
  int Resources() {
    auto state = common::ReadFile(work_dir() + "/terraform.tfstate");
    if (!state.ok()) return 0;
    int n = 0;
    for (size_t at = 0; (at = state->find("\"type\": \"aws_instance\"", at)) != std::string::npos;
         ++at) {
      ++n;
    }
    return n;
  }

  // The instances instance-terraform lists: ID -> state.
  std::map<std::string, iv1::LifecycleState> Listed() {
    std::map<std::string, iv1::LifecycleState> out;
    auto described = instances_->Describe(iv1::DescribeRequest());
    if (!described.ok()) return out;
    for (const auto& d : described->instances()) out[d.id()] = d.state();
    return out;
  }
  std::vector<std::string> Ids() {
    std::vector<std::string> ids;
    for (const auto& [id, state] : Listed()) ids.push_back(id);
    return ids;
  }

  infrakit::testing::TempDir dir_;
  std::unique_ptr<PluginProcess> terraform_;
  std::unique_ptr<PluginProcess> vanilla_;
  std::unique_ptr<PluginProcess> group_;
  std::unique_ptr<client::GroupClient> groups_;
  std::unique_ptr<client::InstanceClient> instances_;
};

TEST_F(TerraformGroupTest, AGroupOfThreeConvergesAndIsDestroyed) {
  auto spec = client::config::ParseGroupConfig(kConfig);
  ASSERT_TRUE(spec.ok()) << spec.status();
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = *spec;
  auto watched = groups_->WatchGroup(watch);
  ASSERT_TRUE(watched.ok()) << watched.status() << "\n" << group_->Stderr();

  std::string last;
  ASSERT_TRUE(WaitFor(
      [&] {
        gv1::InspectGroupRequest inspect;
        inspect.set_id("workers");
        auto r = groups_->InspectGroup(inspect);
        auto listed = Listed();
        last = absl::StrCat(r.ok() ? r->DebugString() : r.status().ToString(), "\nlisted ",
                            listed.size());
        if (!r.ok() || !r->status().converged() || r->members_size() != 3) return false;
        if (listed.size() != 3) return false;
        for (const auto& [id, state] : listed) {
          if (state != iv1::LIFECYCLE_STATE_RUNNING) return false;
        }
        return true;
      },
      kWait))
      << last << "\n--- group ---\n"
      << group_->Stderr() << "\n--- instance-terraform ---\n"
      << terraform_->Stderr();
  // No over-provisioning while the applies ran: exactly 3 files, 3 resources.
  EXPECT_EQ(Resources(), 3);
  for (const std::string& id : Ids()) {
    auto file = common::ReadFile(absl::StrCat(work_dir(), "/", TfFileName(id)));
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_NE(file->find("echo hello"), std::string::npos) << *file;  // The flavor's init.
    EXPECT_NE(file->find("\"tier\": \"batch\""), std::string::npos) << *file;
  }

  gv1::DestroyGroupRequest destroy;
  destroy.set_id("workers");
  auto destroyed = groups_->DestroyGroup(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status() << "\n" << group_->Stderr();
  ASSERT_TRUE(WaitFor([&] { return Listed().empty(); }, kWait)) << terraform_->Stderr();
  EXPECT_EQ(Resources(), 0);
}

}  // namespace
}  // namespace infrakit::plugins::instance::terraform
