// The live demo (examples/webservers), end to end: the real infrakit-group,
// infrakit-instance-process and infrakit-flavor-vanilla binaries on real unix sockets in a
// scratch plugins directory, the example config files as users run them, driven over gRPC
// through client::GroupClient. The instances are real processes: python3 web servers on the
// fixed demo addresses 127.0.0.11-13:8080 (hence `tags = ["exclusive"]`) and `sleep` workers.
// The test sees them as users do: over HTTP, and in /proc (every instance process carries
// INFRAKIT_INSTANCE_DIR=<the instances dir>/<id> in its environment).
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "client/instance_client.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "spec/group_spec.h"
#include "spec/tags.h"
#include "tests/e2e/process/process_e2e.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;
using ::infrakit::testing::HttpGet;
using ::infrakit::testing::InstanceProcess;
using ::infrakit::testing::InstanceProcesses;
using ::infrakit::testing::InstancesWithProcesses;
using ::infrakit::testing::Listening;
using ::infrakit::testing::ProcessE2eTest;
using ::infrakit::testing::WaitFor;

constexpr char kExamples[] = "examples/webservers/";
// The demo's pets: the logical IDs of webservers.json, each serving on port 8080.
constexpr const char* kAddresses[] = {"127.0.0.11", "127.0.0.12", "127.0.0.13"};
constexpr int kPort = 8080;
// Generous: the machine is shared; a condition that holds is seen within milliseconds.
constexpr absl::Duration kWait = ::infrakit::testing::kE2eWait;
constexpr absl::Duration kPause = ::infrakit::testing::kE2ePause;

std::string Url(const std::string& address) {
  return absl::StrCat("http://", address, ":", kPort, "/");
}

// Samples the three web servers over and over on its own thread, from construction until
// Stop() (or destruction): how many did not answer at once, at most, and which pages each one
// served. A server counts as down when it does not answer 200 (refused, reset, or no answer
// within the timeout).
class Sampler {
 public:
  Sampler() : thread_([this] { Run(); }) {}
  ~Sampler() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Rounds of three GETs completed so far.
  int rounds() const { return rounds_; }

  // After Stop():
  int max_down() const { return max_down_; }
  // Per address, the versions ("v1", "v2") served in the order first seen.
  const std::map<std::string, std::vector<std::string>>& versions() const { return versions_; }
  // "address: page" for every page that was neither version (none, normally).
  const std::vector<std::string>& odd_pages() const { return odd_pages_; }

 private:
  void Run() {
    while (!stop_) {
      int down = 0;
      for (const char* address : kAddresses) {
        absl::StatusOr<std::string> page = HttpGet(Url(address), absl::Seconds(5));
        if (!page.ok()) {
          ++down;
          continue;
        }
        std::string version;
        if (absl::StrContains(*page, "<h1>webservers v1</h1>")) version = "v1";
        if (absl::StrContains(*page, "<h1>webservers v2</h1>")) version = "v2";
        if (version.empty()) {
          odd_pages_.push_back(absl::StrCat(address, ": ", *page));
          continue;
        }
        std::vector<std::string>& seen = versions_[address];
        if (seen.empty() || seen.back() != version) seen.push_back(version);
      }
      max_down_ = std::max(max_down_, down);
      ++rounds_;
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
  // Written by the sampling thread only, read after Stop() joined it.
  int max_down_ = 0;
  std::map<std::string, std::vector<std::string>> versions_;
  std::vector<std::string> odd_pages_;
  std::thread thread_;
};

class WebserversE2eTest : public ProcessE2eTest {
 protected:
  void SetUp() override {
    std::vector<std::pair<std::string, int>> addresses;
    for (const char* address : kAddresses) addresses.emplace_back(address, kPort);
    // A short resync: the demo's pages are checked often.
    ASSERT_TRUE(StartPlugins({"--resync-period", "1s"}, addresses));
  }

  // An example config, parsed as infrakitctl parses it.
  gv1::GroupSpec LoadExample(const std::string& name) {
    return LoadConfig(absl::StrCat(kExamples, name));
  }

  // OK when the group has a member for each demo address and each address serves the page of
  // `version` naming that member and config `sha`; else what is not so.
  absl::Status CheckPages(const std::string& version, const std::string& sha) {
    auto group = Inspect("webservers");
    if (!group.ok()) return group.status();
    std::map<std::string, std::string> by_address;
    for (const gv1::Member& m : group->members()) by_address[m.logical_id()] = m.id();
    for (const char* address : kAddresses) {
      auto member = by_address.find(address);
      if (member == by_address.end()) {
        return absl::NotFoundError(absl::StrCat("no member for ", address));
      }
      auto page = HttpGet(Url(address), absl::Seconds(5));
      if (!page.ok()) return page.status();
      for (const std::string& line :
           {absl::StrCat("<h1>webservers ", version, "</h1>"),
            absl::StrCat("<p>instance ", member->second, " at ", address, ":", kPort, "</p>"),
            absl::StrCat("<p>config ", sha, "</p>")}) {
        if (!absl::StrContains(*page, line)) {
          return absl::FailedPreconditionError(
              absl::StrCat(address, " serves\n", *page, "without ", line));
        }
      }
    }
    return absl::OkStatus();
  }

  // Waits until CheckPages(version, sha) is OK.
  bool WaitPages(const std::string& version, const std::string& sha) {
    absl::Status last;
    const bool ok = WaitFor(
        [&] {
          last = CheckPages(version, sha);
          return last.ok();
        },
        kWait, kPause);
    EXPECT_TRUE(ok) << last << Logs();
    return ok;
  }

  // Waits until the group has exactly `size` members and exactly those instances have processes.
  bool WaitWorkers(int size) {
    std::string last;
    const bool ok = WaitFor(
        [&] {
          auto group = Inspect("workers");
          if (!group.ok()) {
            last = group.status().ToString();
            return false;
          }
          std::set<std::string> members;
          for (const gv1::Member& m : group->members()) members.insert(m.id());
          const std::set<std::string> running = InstancesWithProcesses(instances_dir(), "workers");
          last = absl::StrCat("members: ", absl::StrJoin(members, " "),
                              "\nprocesses: ", absl::StrJoin(running, " "));
          return static_cast<int>(members.size()) == size && running == members &&
                 group->status().converged();
        },
        kWait, kPause);
    EXPECT_TRUE(ok) << last << Logs();
    return ok;
  }
};

// The demo: three web servers come up and answer; a kill -9 is healed; an update rolls them one
// at a time, never two down at once; destroy leaves no process behind.
TEST_F(WebserversE2eTest, ServersHealRollOneAtATimeAndLeaveNothingBehind) {
  const gv1::GroupSpec v1 = LoadExample("webservers.json");
  const std::string sha1 = Watch(v1);
  ASSERT_FALSE(sha1.empty());
  EXPECT_EQ(sha1, spec::ConfigSha(v1));

  // They come up: each address serves a page naming its instance and config.
  ASSERT_TRUE(WaitPages("v1", sha1));
  ASSERT_TRUE(WaitHealthy("webservers", 3));
  for (const InstanceProcess& p : InstanceProcesses(instances_dir())) {
    EXPECT_EQ(p.group, "webservers");
    EXPECT_TRUE(std::find(std::begin(kAddresses), std::end(kAddresses), p.logical_id) !=
                std::end(kAddresses))
        << p.logical_id;
  }

  // kill -9 the server on 127.0.0.12 (its pid from instance-process's Describe): a new instance
  // takes its place and answers, the two others are untouched.
  iv1::DescribeRequest describe;
  (*describe.mutable_tags())[spec::kGroupTag] = "webservers";
  describe.set_include_properties(true);
  auto before = instances_->Describe(describe);
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(before->instances_size(), 3);
  std::map<std::string, std::string> old_ids;  // by logical ID
  pid_t victim_pid = 0;
  for (const iv1::Description& d : before->instances()) {
    old_ids[d.logical_id()] = d.id();
    if (d.logical_id() == "127.0.0.12") {
      victim_pid = static_cast<pid_t>(d.properties().fields().at("Pid").number_value());
    }
  }
  ASSERT_GT(victim_pid, 0);
  ASSERT_EQ(kill(victim_pid, SIGKILL), 0);
  std::string last;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto group = Inspect("webservers");
        if (!group.ok()) return false;
        last = group->DebugString();
        for (const gv1::Member& m : group->members()) {
          if (m.logical_id() == "127.0.0.12" && m.id() != old_ids["127.0.0.12"]) return true;
        }
        return false;
      },
      kWait, kPause))
      << last << Logs();
  ASSERT_TRUE(WaitPages("v1", sha1));
  {
    auto group = Inspect("webservers");
    ASSERT_TRUE(group.ok()) << group.status();
    for (const gv1::Member& m : group->members()) {
      if (m.logical_id() != "127.0.0.12") {
        EXPECT_EQ(m.id(), old_ids[m.logical_id()]);
      }
    }
  }
  EXPECT_EQ(InstancesWithProcesses(instances_dir(), "webservers").count(old_ids["127.0.0.12"]), 0u);
  // Before the update, all healthy: the update may replace an UNHEALTHY member (say, the
  // replacement before its first successful probe) without waiting, which is not what is
  // measured here.
  ASSERT_TRUE(WaitHealthy("webservers", 3));

  // The update to the changed page, with the three servers sampled throughout.
  const gv1::GroupSpec v2 = LoadExample("webservers-v2.json");
  const std::string sha2 = spec::ConfigSha(v2);
  ASSERT_NE(sha1, sha2);
  Sampler sampler;
  ASSERT_TRUE(WaitFor([&] { return sampler.rounds() >= 1; }, kWait, kPause));
  gv1::UpdateGroupRequest update;
  *update.mutable_spec() = v2;
  std::vector<gv1::UpdateGroupResponse> progress;
  const absl::Status updated = groups_->UpdateGroup(
      update, [&](const gv1::UpdateGroupResponse& r) { progress.push_back(r); });
  ASSERT_TRUE(updated.ok()) << updated << Logs();
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().phase(), gv1::UPDATE_PHASE_COMPLETED) << progress.back().message();
  EXPECT_EQ(progress.back().updated(), 3);
  ASSERT_TRUE(WaitPages("v2", sha2));
  // Two more rounds, so that one whole round has seen the end state.
  const int rounds_done = sampler.rounds();
  ASSERT_TRUE(WaitFor([&] { return sampler.rounds() >= rounds_done + 2; }, kWait, kPause));
  sampler.Stop();
  EXPECT_LE(sampler.max_down(), 1)
      << "more than one server was down at once during the rolling update";
  for (const char* address : kAddresses) {
    // Every server went from v1 to v2, and never back.
    EXPECT_EQ(
        sampler.versions().count(address) ? absl::StrJoin(sampler.versions().at(address), " ") : "",
        "v1 v2")
        << address;
  }
  EXPECT_TRUE(sampler.odd_pages().empty()) << absl::StrJoin(sampler.odd_pages(), "\n");
  {
    // Every member was replaced (pets: in place), each one on the new config.
    auto group = Inspect("webservers");
    ASSERT_TRUE(group.ok()) << group.status();
    ASSERT_EQ(group->members_size(), 3);
    for (const gv1::Member& m : group->members()) {
      EXPECT_EQ(m.tags().at(spec::kShaTag), sha2);
    }
  }

  ASSERT_NO_FATAL_FAILURE(Destroy("webservers"));
  for (const char* address : kAddresses) EXPECT_FALSE(Listening(address, kPort)) << address;
  // No instance directory is left either.
  DIR* d = opendir(instances_dir().c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* e = readdir(d)) {
    EXPECT_FALSE(absl::StartsWith(e->d_name, "instance-")) << e->d_name << " left behind";
  }
  closedir(d);
}

// The cattle group of workers: scaled up and down, the processes follow; destroy ends them.
TEST_F(WebserversE2eTest, WorkersScaleUpAndDown) {
  const gv1::GroupSpec workers = LoadExample("workers.json");
  ASSERT_EQ(workers.allocation().size(), 2);
  ASSERT_FALSE(Watch(workers).empty());
  ASSERT_TRUE(WaitWorkers(2));

  for (int size : {5, 1, 3}) {
    gv1::SetSizeRequest request;
    request.set_id("workers");
    request.set_size(size);
    auto resized = groups_->SetSize(request);
    ASSERT_TRUE(resized.ok()) << resized.status() << Logs();
    ASSERT_TRUE(WaitWorkers(size)) << "scaling to " << size;
  }
  // Each worker's init line goes to its log, naming it and its group (a worker just started
  // may not have written it yet).
  for (const std::string& id : InstancesWithProcesses(instances_dir(), "workers")) {
    std::string text;
    const bool logged = WaitFor(
        [&] {
          std::ifstream log(absl::StrCat(instances_dir(), "/", id, "/output.log"));
          std::stringstream read;
          read << log.rdbuf();
          text = read.str();
          return absl::StrContains(text, absl::StrCat("worker ", id, " of group workers starting"));
        },
        kWait, kPause);
    EXPECT_TRUE(logged) << text;
  }

  ASSERT_NO_FATAL_FAILURE(Destroy("workers"));
}

}  // namespace
}  // namespace infrakit
