// The original InfraKit's Quick Tutorial and beyond, end to end: the real infrakit-group,
// infrakit-instance-file and infrakit-flavor-vanilla binaries on real unix sockets in a scratch
// plugins directory, driven over gRPC through client::GroupClient. Instances are the files in
// the instance-file directory: the test reads them, and removes them by hand.
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "infrakit/group/v1/group.pb.h"
#include "spec/group_spec.h"
#include "spec/tags.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::client::GroupClient;
using ::infrakit::client::StreamCancelToken;
using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;

constexpr char kGroupBinary[] = "services/group/server/infrakit-group";
constexpr char kFileBinary[] = "plugins/instance/file/infrakit-instance-file";
constexpr char kVanillaBinary[] = "plugins/flavor/vanilla/infrakit-flavor-vanilla";
// Generous: the machine is shared; a condition that holds is seen within milliseconds.
constexpr absl::Duration kWait = absl::Seconds(60);
constexpr absl::Duration kStart = absl::Seconds(30);

// The original InfraKit's tutorial config (nested form, Size in the flavor's properties), with the
// instance note and size as parameters, and optionally a flavor health check.
std::string TutorialConfig(const std::string& note, int size, const std::string& health_check) {
  std::string flavor_health =
      health_check.empty() ? "" : absl::StrCat(",\n\"HealthCheck\": ", health_check);
  return absl::StrCat(R"({
    "ID": "cattle",
    "Properties": {
        "Instance" : {
            "Plugin": "instance-file",
            "Properties": {
                "Note": ")",
                      note, R"("
            }
        },
        "Flavor": {
            "Plugin" : "flavor-vanilla",
            "Properties": {
                "Size" : )",
                      size, R"(,
                "UserData" : [
                    "sudo apt-get update -y",
                    "sudo apt-get install -y nginx",
                    "sudo service nginx start"
                ],
                "Labels" : {
                    "tier" : "web",
                    "project" : "infrakit"
                })",
                      flavor_health, R"(
            }
        }
    }
})");
}

gv1::GroupSpec Parse(const std::string& config) {
  auto spec = client::config::ParseGroupConfig(config);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : gv1::GroupSpec();
}

// One instance file as the test sees it.
struct InstanceFile {
  std::string id;
  std::map<std::string, std::string> tags;
  std::string note;
};

class GroupE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(plugins_dir().c_str(), 0700), 0);
    ASSERT_EQ(mkdir(instances_dir().c_str(), 0700), 0);
    file_ = StartPlugin(kFileBinary, {"--dir", instances_dir()}, "instance-file");
    ASSERT_NE(file_, nullptr);
    vanilla_ = StartPlugin(kVanillaBinary, {}, "flavor-vanilla");
    ASSERT_NE(vanilla_, nullptr);
    ASSERT_NO_FATAL_FAILURE(StartGroup());
  }

  std::string plugins_dir() const { return dir_.Join("plugins"); }
  std::string instances_dir() const { return dir_.Join("tutorial"); }
  std::string state_dir() const { return dir_.Join("state"); }
  std::string socket(const std::string& name) const { return plugins_dir() + "/" + name + ".sock"; }

  // Starts a plugin binary in the plugins dir and waits until it answers; nullptr (with a test
  // failure) if it does not.
  std::unique_ptr<PluginProcess> StartPlugin(const std::string& binary,
                                             std::vector<std::string> args,
                                             const std::string& name) {
    args.insert(args.begin(), {"--plugins-dir", plugins_dir()});
    auto process = std::make_unique<PluginProcess>(binary, std::move(args), dir_.path());
    absl::Status started = process->Start();
    EXPECT_TRUE(started.ok()) << started;
    if (!started.ok()) return nullptr;
    absl::Status ready = process->WaitReady(socket(name), kStart);
    EXPECT_TRUE(ready.ok()) << ready << "\n" << process->Stderr();
    if (!ready.ok()) return nullptr;
    return process;
  }

  void StartGroup() {
    group_ = StartPlugin(
        kGroupBinary, {"--state-dir", state_dir(), "--resync-period", "2s", "--log", "1"}, "group");
    ASSERT_NE(group_, nullptr);
    client_ = std::make_unique<GroupClient>(client::discovery::MakePluginChannel(socket("group")),
                                            absl::Seconds(30));
  }

  // The instance files (dot files are instance-file's temporaries), by ID.
  std::map<std::string, InstanceFile> Instances() {
    std::map<std::string, InstanceFile> out;
    DIR* d = opendir(instances_dir().c_str());
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.empty() || name[0] == '.') continue;
      std::ifstream in(instances_dir() + "/" + name);
      std::stringstream text;
      text << in.rdbuf();
      google::protobuf::Struct json;
      // A file being replaced may be read half-way: skip it, the next look sees it whole.
      if (!google::protobuf::util::JsonStringToMessage(text.str(), &json).ok()) continue;
      InstanceFile f;
      f.id = name;
      auto tags = json.fields().find("Tags");
      if (tags != json.fields().end()) {
        for (const auto& [k, v] : tags->second.struct_value().fields()) {
          f.tags[k] = v.string_value();
        }
      }
      auto spec = json.fields().find("Spec");
      if (spec != json.fields().end()) {
        const auto& sf = spec->second.struct_value().fields();
        auto props = sf.find("Properties");
        if (props != sf.end()) {
          auto note = props->second.struct_value().fields().find("Note");
          if (note != props->second.struct_value().fields().end()) {
            f.note = note->second.string_value();
          }
        }
      }
      out.emplace(name, std::move(f));
    }
    closedir(d);
    return out;
  }

  // Instance files carrying config_sha `sha`.
  int CountSha(const std::map<std::string, InstanceFile>& files, const std::string& sha) {
    int n = 0;
    for (const auto& [id, f] : files) {
      auto it = f.tags.find(spec::kShaTag);
      n += it != f.tags.end() && it->second == sha;
    }
    return n;
  }

  absl::StatusOr<gv1::InspectGroupResponse> Inspect() {
    gv1::InspectGroupRequest r;
    r.set_id("cattle");
    return client_->InspectGroup(r);
  }

  // Waits until the group has converged on `size` members, all on `sha`, as the group says
  // and as the directory shows.
  bool WaitConverged(int size, const std::string& sha) {
    std::string last;
    bool ok = WaitFor(
        [&] {
          auto r = Inspect();
          if (!r.ok()) {
            last = r.status().ToString();
            return false;
          }
          auto files = Instances();
          last = absl::StrCat(r->DebugString(), "\nfiles: ", files.size(), " on sha ",
                              CountSha(files, sha));
          return r->status().converged() && !r->status().updating() && r->members_size() == size &&
                 static_cast<int>(files.size()) == size && CountSha(files, sha) == size;
        },
        kWait, absl::Milliseconds(20));
    EXPECT_TRUE(ok) << last << "\n--- group stderr ---\n" << group_->Stderr();
    return ok;
  }

  void Watch(const gv1::GroupSpec& spec) {
    gv1::WatchGroupRequest request;
    *request.mutable_spec() = spec;
    auto watched = client_->WatchGroup(request);
    ASSERT_TRUE(watched.ok()) << watched.status() << "\n" << group_->Stderr();
    EXPECT_EQ(watched->message(), "watching cattle");
    EXPECT_EQ(watched->config_sha(), spec::ConfigSha(spec));
  }

  TempDir dir_;
  std::unique_ptr<PluginProcess> file_;
  std::unique_ptr<PluginProcess> vanilla_;
  std::unique_ptr<PluginProcess> group_;
  std::unique_ptr<GroupClient> client_;
};

// The tutorial: watch 5, see 5 files; remove one by hand, see it replaced; update (Note 2.0,
// size 3), see 3 files on the new config_sha.
TEST_F(GroupE2eTest, TutorialWatchHealAndUpdate) {
  const gv1::GroupSpec v1 = Parse(TutorialConfig("Instance properties version 1.0", 5, ""));
  const std::string sha1 = spec::ConfigSha(v1);
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_TRUE(WaitConverged(5, sha1));
  for (const auto& [id, f] : Instances()) {
    EXPECT_EQ(f.tags.at(spec::kGroupTag), "cattle");
    EXPECT_EQ(f.tags.at("tier"), "web");
    EXPECT_EQ(f.tags.at("project"), "infrakit");
    EXPECT_EQ(f.note, "Instance properties version 1.0");
  }

  // Self-healing: rm one instance file.
  const std::map<std::string, InstanceFile> before = Instances();
  const std::string victim = before.begin()->first;
  ASSERT_EQ(unlink((instances_dir() + "/" + victim).c_str()), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto files = Instances();
        if (files.size() != 5 || files.count(victim)) return false;
        for (const auto& [id, f] : before) {
          if (id != victim && !files.count(id)) return false;  // Only the victim was replaced.
        }
        return true;
      },
      kWait, absl::Milliseconds(20)))
      << group_->Stderr();
  ASSERT_TRUE(WaitConverged(5, sha1));

  // The plan first: nothing changes.
  const gv1::GroupSpec v2 =
      Parse(TutorialConfig("Instance properties version 2.0 -- CHANGED", 3, ""));
  const std::string sha2 = spec::ConfigSha(v2);
  ASSERT_NE(sha1, sha2);
  gv1::DescribeUpdateRequest describe;
  *describe.mutable_spec() = v2;
  auto plan = client_->DescribeUpdate(describe);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->plan().summary(), HasSubstr("Performs a rolling update of 3 instances"));
  EXPECT_THAT(plan->plan().summary(), HasSubstr("terminates 2 instances"));
  EXPECT_EQ(CountSha(Instances(), sha1), 5);

  // The update blocks until complete.
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = v2;
  std::vector<gv1::UpdateGroupResponse> progress;
  absl::Status updated = client_->UpdateGroup(
      update, [&](const gv1::UpdateGroupResponse& r) { progress.push_back(r); });
  ASSERT_TRUE(updated.ok()) << updated << "\n" << group_->Stderr();
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front().phase(), gv1::UPDATE_PHASE_STARTED);
  EXPECT_EQ(progress.back().phase(), gv1::UPDATE_PHASE_COMPLETED) << progress.back().message();
  ASSERT_TRUE(WaitConverged(3, sha2));
  for (const auto& [id, f] : Instances()) {
    EXPECT_EQ(f.note, "Instance properties version 2.0 -- CHANGED");
  }
}

// kill -9 of the group service in the middle of a rolling update: the restarted service, on the
// same state directory, carries the update on to the end.
TEST_F(GroupE2eTest, KilledMidUpdateTheRestartedServiceFinishesTheUpdate) {
  // One probe for both configs: an instance on version 1 is healthy; one on version 2 only once
  // the marker exists. So the update (surge 1, unavailable 0) stops after creating its first
  // new member, with every old one still there and healthy.
  const std::string marker = dir_.Join("healthy");
  const std::string probe =
      absl::StrCat(R"({"Command": "test -e )", marker, R"( || grep -q 'version 1' )",
                   instances_dir(), R"(/$INFRAKIT_INSTANCE_ID", "TimeoutSeconds": 5})");
  const gv1::GroupSpec v1 = Parse(TutorialConfig("version 1", 3, probe));
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_TRUE(WaitConverged(3, spec::ConfigSha(v1)));
  const std::set<std::string> old_ids = [&] {
    std::set<std::string> ids;
    for (const auto& [id, f] : Instances()) ids.insert(id);
    return ids;
  }();

  const gv1::GroupSpec v2 = Parse(TutorialConfig("version 2", 3, probe));
  const std::string sha2 = spec::ConfigSha(v2);
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = v2;
  StreamCancelToken token;
  absl::Status update_ended;
  std::thread listener([&] {
    update_ended = client_->UpdateGroup(
        update, [](const gv1::UpdateGroupResponse&) {}, &token);
  });
  std::string last;
  const bool mid_update = WaitFor(
      [&] {
        auto r = Inspect();
        auto files = Instances();
        last = r.ok() ? r->status().DebugString() : r.status().ToString();
        return r.ok() && r->status().updating() && CountSha(files, sha2) == 1 && files.size() == 4;
      },
      kWait, absl::Milliseconds(20));
  ASSERT_TRUE(mid_update) << last << "\n" << group_->Stderr();

  group_->Kill();  // SIGKILL, reaped.
  listener.join();
  EXPECT_FALSE(update_ended.ok());  // The stream broke with the service.
  ASSERT_NO_FATAL_FAILURE(StartGroup());

  // The restarted service resumes the update where it was: still updating, the old members
  // checked and kept, the new one waiting to become healthy, nothing else created.
  last.clear();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = Inspect();
        last = r.ok() ? r->DebugString() : r.status().ToString();
        if (!r.ok() || !r->status().updating() || r->status().config_sha() != sha2 ||
            r->members_size() != 4 || r->status().healthy() != 3) {
          return false;
        }
        for (const gv1::Member& m : r->members()) {
          if (m.outdated() != (old_ids.count(m.id()) == 1)) return false;
        }
        return true;
      },
      kWait, absl::Milliseconds(20)))
      << last << "\n"
      << group_->Stderr();
  EXPECT_EQ(CountSha(Instances(), sha2), 1);

  // Healthy now: the update finishes; never more than size + surge instances on the way.
  { std::ofstream(marker) << "ok"; }
  int most = 0;
  last.clear();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto files = Instances();
        most = std::max(most, static_cast<int>(files.size()));
        auto r = Inspect();
        last = r.ok() ? r->status().DebugString() : r.status().ToString();
        return r.ok() && r->status().converged() && !r->status().updating() &&
               CountSha(files, sha2) == 3 && files.size() == 3;
      },
      kWait, absl::Milliseconds(20)))
      << last << "\n"
      << group_->Stderr();
  EXPECT_LE(most, 4);
  for (const auto& [id, f] : Instances()) EXPECT_EQ(old_ids.count(id), 0u) << id;
}

// instance-file restarts while the group runs: the group waits for it (and says so), destroys
// nothing, and carries on with the same members once it is back.
TEST_F(GroupE2eTest, InstancePluginRestartMakesTheGroupWaitWithoutLosingInstances) {
  const gv1::GroupSpec v1 = Parse(TutorialConfig("version 1", 3, ""));
  const std::string sha1 = spec::ConfigSha(v1);
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_TRUE(WaitConverged(3, sha1));
  const std::map<std::string, InstanceFile> before = Instances();

  ASSERT_TRUE(file_->Signal(SIGTERM).ok());
  auto exited = file_->Wait(kWait);
  ASSERT_TRUE(exited.ok()) << exited.status();
  std::string last;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = Inspect();
        last = r.ok() ? r->status().DebugString() : r.status().ToString();
        return r.ok() && r->status().waiting_for_plugin() == "instance-file";
      },
      kWait, absl::Milliseconds(20)))
      << last << "\n"
      << group_->Stderr();
  EXPECT_EQ(Instances().size(), before.size());

  file_ = StartPlugin(kFileBinary, {"--dir", instances_dir()}, "instance-file");
  ASSERT_NE(file_, nullptr);
  last.clear();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = Inspect();
        last = r.ok() ? r->DebugString() : r.status().ToString();
        return r.ok() && r->status().waiting_for_plugin().empty() && r->status().converged() &&
               r->members_size() == 3;
      },
      kWait, absl::Milliseconds(20)))
      << last << "\n"
      << group_->Stderr();
  const std::map<std::string, InstanceFile> after = Instances();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [id, f] : before) EXPECT_EQ(after.count(id), 1u) << id << " was replaced";

  // And it heals again through the restarted plugin.
  ASSERT_EQ(unlink((instances_dir() + "/" + before.begin()->first).c_str()), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto files = Instances();
        return files.size() == 3 && !files.count(before.begin()->first);
      },
      kWait, absl::Milliseconds(20)))
      << group_->Stderr();
}

// SIGTERM with an event stream open: the service ends the stream, removes its socket and
// exits 0; the instances stay.
TEST_F(GroupE2eTest, SigtermStopsCleanly) {
  const gv1::GroupSpec v1 = Parse(TutorialConfig("version 1", 2, ""));
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_TRUE(WaitConverged(2, spec::ConfigSha(v1)));

  // An event stream, open (subscribed) when the signal comes.
  auto stub = gv1::GroupService::NewStub(client::discovery::MakePluginChannel(socket("group")));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  gv1::StreamGroupEventsRequest events;
  events.set_id("cattle");
  std::unique_ptr<grpc::ClientReader<gv1::GroupEvent>> reader =
      stub->StreamGroupEvents(&context, events);
  reader->WaitForInitialMetadata();
  ASSERT_EQ(context.GetServerInitialMetadata().count("infrakit-stream"), 1u);

  ASSERT_TRUE(group_->Signal(SIGTERM).ok());
  auto status = group_->Wait(kWait);
  ASSERT_TRUE(status.ok()) << status.status() << "\n" << group_->Stderr();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << testing::DescribeExit(*status) << "\n"
      << group_->Stderr();
  struct stat st;
  EXPECT_NE(stat(socket("group").c_str(), &st), 0) << "socket left behind";
  gv1::GroupEvent event;
  while (reader->Read(&event)) {
  }
  grpc::Status ended = reader->Finish();
  EXPECT_FALSE(ended.ok());
  EXPECT_EQ(Instances().size(), 2u);

  // The state survives: a new service resumes the group.
  ASSERT_NO_FATAL_FAILURE(StartGroup());
  ASSERT_TRUE(WaitConverged(2, spec::ConfigSha(v1)));
}

// A corrupt state record: the service refuses to start, names the file, and leaves it alone.
TEST_F(GroupE2eTest, RefusesToStartOnACorruptStateRecord) {
  ASSERT_TRUE(group_->Signal(SIGTERM).ok());
  ASSERT_TRUE(group_->Wait(kWait).ok());
  const std::string record = state_dir() + "/cattle.json";
  { std::ofstream(record) << "{ not json"; }

  PluginProcess group(kGroupBinary, {"--plugins-dir", plugins_dir(), "--state-dir", state_dir()},
                      dir_.path());
  ASSERT_TRUE(group.Start().ok());
  auto status = group.Wait(kWait);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << testing::DescribeExit(*status);
  EXPECT_THAT(group.Stderr(), HasSubstr("cattle.json"));
  struct stat st;
  EXPECT_NE(stat(socket("group").c_str(), &st), 0) << "a refused service must not serve";
  EXPECT_EQ(stat(record.c_str(), &st), 0);
}

// Resizing and destroying named members through the real plugins: the answers come once the
// files are gone, and the group keeps the new size.
TEST_F(GroupE2eTest, SetSizeAndDestroyInstances) {
  const gv1::GroupSpec v1 = Parse(TutorialConfig("version 1", 2, ""));
  const std::string sha1 = spec::ConfigSha(v1);
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_TRUE(WaitConverged(2, sha1));

  gv1::SetSizeRequest set_size;
  set_size.set_id("cattle");
  set_size.set_size(4);
  auto resized = client_->SetSize(set_size);
  ASSERT_TRUE(resized.ok()) << resized.status();
  EXPECT_EQ(resized->previous_size(), 2);
  ASSERT_TRUE(WaitConverged(4, sha1));

  const std::map<std::string, InstanceFile> before = Instances();
  gv1::DestroyInstancesRequest destroy;
  destroy.set_id("cattle");
  destroy.add_instance_ids(before.begin()->first);
  destroy.add_instance_ids(before.rbegin()->first);
  auto destroyed = client_->DestroyInstances(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status() << "\n" << group_->Stderr();
  EXPECT_EQ(destroyed->destroyed_size(), 2);
  EXPECT_EQ(destroyed->size(), 2);
  const std::map<std::string, InstanceFile> after = Instances();
  EXPECT_EQ(after.count(before.begin()->first), 0u);
  EXPECT_EQ(after.count(before.rbegin()->first), 0u);
  ASSERT_TRUE(WaitConverged(2, sha1));
}
}  // namespace
}  // namespace infrakit
