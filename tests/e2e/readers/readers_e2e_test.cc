// Reads under load, end to end: 100 concurrent clients, each on connections of its own, call
// ListGroups and InspectGroup (infrakit-group) and Describe (infrakit-instance-file) while a
// group of a few thousand converges from empty. No call may fail, none may pass its (generous)
// deadline, and the convergence completes. Timings are the benchmark's (tools/bench
// --only=readers), not this test's.
#include <sys/stat.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "client/instance_client.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "spec/tags.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"
#include "tools/bench/reader_load.h"

namespace infrakit {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;
using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::infrakit::tools::bench::ReaderLoad;
using ::infrakit::tools::bench::ReaderLoadOptions;
using ::infrakit::tools::bench::ReaderLoadResult;
using ::infrakit::tools::bench::ReadRpc;

constexpr char kGroupBinary[] = "services/group/server/infrakit-group";
constexpr char kFileBinary[] = "plugins/instance/file/infrakit-instance-file";
constexpr char kVanillaBinary[] = "plugins/flavor/vanilla/infrakit-flavor-vanilla";
constexpr absl::Duration kStart = absl::Seconds(30);
constexpr absl::Duration kConverge = absl::Seconds(120);
constexpr int kSize = 2000;
constexpr int kReaders = 100;

class ReadersE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(plugins_dir().c_str(), 0700), 0);
    ASSERT_EQ(mkdir(dir_.Join("instances").c_str(), 0700), 0);
    file_ = Start(kFileBinary, {"--dir", dir_.Join("instances")}, "instance-file");
    vanilla_ = Start(kVanillaBinary, {}, "flavor-vanilla");
    group_ = Start(kGroupBinary, {"--state-dir", dir_.Join("state")}, "group");
  }

  std::string plugins_dir() const { return dir_.Join("plugins"); }
  std::string socket(const std::string& name) const { return plugins_dir() + "/" + name + ".sock"; }

  std::unique_ptr<PluginProcess> Start(const std::string& binary, std::vector<std::string> args,
                                       const std::string& name) {
    args.insert(args.begin(), {"--plugins-dir", plugins_dir()});
    auto process = std::make_unique<PluginProcess>(binary, std::move(args), dir_.path());
    absl::Status started = process->Start();
    EXPECT_TRUE(started.ok()) << started;
    if (started.ok()) {
      absl::Status ready = process->WaitReady(socket(name), kStart);
      EXPECT_TRUE(ready.ok()) << ready << "\n" << process->Stderr();
    }
    return process;
  }

  TempDir dir_;
  std::unique_ptr<PluginProcess> file_;
  std::unique_ptr<PluginProcess> vanilla_;
  std::unique_ptr<PluginProcess> group_;
};

gv1::GroupSpec Spec() {
  auto spec = client::config::ParseGroupConfig(absl::StrCat(R"({
    "ID": "readers",
    "Properties": {
        "Instance": {"Plugin": "instance-file", "Properties": {"Note": "read under load"}},
        "Flavor": {"Plugin": "flavor-vanilla", "Properties": {"Size": )",
                                                            kSize, R"(}}
    }
})"));
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.value_or(gv1::GroupSpec());
}

TEST_F(ReadersE2eTest, HundredReadersDuringAConvergenceGetNoErrorAndItCompletes) {
  ReaderLoadOptions options;
  options.readers = kReaders;
  options.group_socket = socket("group");
  options.instance_socket = socket("instance-file");
  options.group_id = "readers";
  // Generous on a shared machine: any call this slow is a reader left waiting, not a slow one.
  options.deadline = absl::Seconds(30);
  options.pause = absl::Milliseconds(20);
  absl::StatusOr<std::unique_ptr<ReaderLoad>> load = ReaderLoad::Start(options);
  ASSERT_TRUE(load.ok()) << load.status();

  client::GroupClient group(client::discovery::MakePluginChannel(socket("group")),
                            absl::Seconds(30));
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = Spec();
  ASSERT_TRUE(group.WatchGroup(watch).ok());
  (*load)->Go();

  gv1::GroupStatus last;
  const bool converged = WaitFor(
      [&] {
        auto listed = group.ListGroupsPage(gv1::ListGroupsRequest());
        if (!listed.ok() || listed->groups_size() != 1) return false;
        last = listed->groups(0).status();
        return last.converged() && last.actual() == kSize;
      },
      kConverge);
  // Reads went on during the whole convergence; a few more after it do no harm.
  EXPECT_TRUE(WaitFor([&] { return (*load)->calls() >= kReaders; }, kConverge));
  const ReaderLoadResult reads = (*load)->Stop();
  ASSERT_TRUE(converged) << "last status: " << last.ShortDebugString() << "\n" << group_->Stderr();

  EXPECT_EQ(reads.error_count(), 0) << reads.ErrorSummary();
  for (ReadRpc rpc : {ReadRpc::kListGroups, ReadRpc::kInspectGroup, ReadRpc::kDescribe}) {
    EXPECT_GT(reads.of(rpc).calls, 0) << tools::bench::ReadRpcName(rpc);
    EXPECT_EQ(reads.of(rpc).deadline_exceeded(), 0) << tools::bench::ReadRpcName(rpc);
  }

  // What readers see at the end is the whole group: every member once, in every page walk.
  std::set<std::string> members;
  gv1::InspectGroupRequest inspect;
  inspect.set_id("readers");
  auto all = group.InspectGroup(inspect);
  ASSERT_TRUE(all.ok()) << all.status();
  for (const gv1::Member& m : all->members()) EXPECT_TRUE(members.insert(m.id()).second) << m.id();
  EXPECT_EQ(members.size(), static_cast<size_t>(kSize));
  client::InstanceClient instances(client::discovery::MakePluginChannel(socket("instance-file")));
  iv1::DescribeRequest describe;
  (*describe.mutable_tags())[spec::kGroupTag] = "readers";
  auto described = instances.Describe(describe);
  ASSERT_TRUE(described.ok()) << described.status();
  std::set<std::string> ids;
  for (const iv1::Description& d : described->instances()) ids.insert(d.id());
  EXPECT_EQ(ids, members);
}

}  // namespace
}  // namespace infrakit
