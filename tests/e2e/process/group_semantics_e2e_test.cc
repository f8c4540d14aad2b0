// What a user can trust the group to do with real servers: the real infrakit-group,
// infrakit-instance-process and infrakit-flavor-vanilla binaries, instances that are python web
// servers, and health probes over HTTP.
//  - Remediation replaces a frozen server (SIGSTOP) once, and keeps its replacement although
//    the replacement's server takes a moment to listen (its first probe fails); members that are
//    starting never open the circuit breaker.
//  - Stopping an update keeps every healthy member: the surge member that was not healthy goes,
//    and the old members stay healthy, checked with their own config's probe.
// The group service runs with its default resync (10 s): nothing here relies on a resync to
// probe again.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "client/config/group_config.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.pb.h"
#include "tests/e2e/process/process_e2e.h"
#include "tests/testing/wait_for.h"

namespace infrakit {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace fv1 = ::infrakit::flavor::v1;
using ::infrakit::testing::HttpGet;
using ::infrakit::testing::InstanceProcess;
using ::infrakit::testing::InstanceProcesses;
using ::infrakit::testing::kE2ePause;
using ::infrakit::testing::kE2eWait;
using ::infrakit::testing::ProcessE2eTest;
using ::infrakit::testing::WaitFor;

// Pets on their own addresses (not the web server demo's), serving after a 0.6 s start.
constexpr const char* kPetAddresses[] = {"127.0.0.41", "127.0.0.42", "127.0.0.43"};
constexpr int kPetPort = 8081;

constexpr char kPetsConfig[] = R"({
  "ID": "slow",
  "Properties": {
    "LogicalIDs": ["127.0.0.41", "127.0.0.42", "127.0.0.43"],
    "Remediation": {"Enabled": true, "UnhealthySeconds": 2, "InitialDelaySeconds": 3},
    "Instance": {
      "Plugin": "instance-process",
      "Properties": {
        "Command": "sleep 0.6; exec python3 -m http.server --bind \"$INFRAKIT_LOGICAL_ID\" --directory www 8081",
        "StopGraceSeconds": 1
      }
    },
    "Flavor": {
      "Plugin": "flavor-vanilla",
      "Properties": {
        "Init": ["mkdir -p www", "echo up > www/index.html"],
        "HealthCheck": {"HTTP": "http://{{.LogicalID}}:8081/", "TimeoutSeconds": 1}
      }
    }
  }
})";

// Cattle: each server listens on a port of its own choosing and writes it to `port` in its
// instance directory; the probe (a command: it knows the instance's ID) GETs PAGE there.
// VERSION's command replaces the server (v2: one that never serves).
constexpr char kCattleConfig[] = R"({
  "ID": "web",
  "Properties": {
    "Size": 2,
    "Update": {"MaxSurge": 1, "MaxUnavailable": 0, "HealthDeadlineSeconds": 600},
    "Instance": {
      "Plugin": "instance-process",
      "Properties": {"Command": "COMMAND", "StopGraceSeconds": 1}
    },
    "Flavor": {
      "Plugin": "flavor-vanilla",
      "Properties": {
        "Init": ["echo VERSION > VERSION.html"],
        "HealthCheck": {
          "Command": "exec python3 -c \"import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + open(sys.argv[1]).read() + '/PAGE', timeout=1)\" INSTANCES/$INFRAKIT_INSTANCE_ID/port",
          "TimeoutSeconds": 2
        }
      }
    }
  }
})";

constexpr char kServeCommand[] =
    "exec python3 -c 'import http.server, os; "
    "s = http.server.HTTPServer((\\\"127.0.0.1\\\", 0), http.server.SimpleHTTPRequestHandler); "
    "open(\\\"port.tmp\\\", \\\"w\\\").write(str(s.server_port)); "
    "os.rename(\\\"port.tmp\\\", \\\"port\\\"); s.serve_forever()'";

class GroupSemanticsE2eTest : public ProcessE2eTest {
 protected:
  gv1::GroupSpec Parse(const std::string& text) {
    auto spec = client::config::ParseGroupConfig(text);
    EXPECT_TRUE(spec.ok()) << spec.status() << "\n" << text;
    return spec.ok() ? *spec : gv1::GroupSpec();
  }

  gv1::GroupSpec Cattle(const std::string& version, const std::string& command) {
    return Parse(absl::StrReplaceAll(kCattleConfig, {{"COMMAND", command},
                                                     {"VERSION", version},
                                                     {"PAGE", version + ".html"},
                                                     {"INSTANCES", instances_dir()}}));
  }

  // v1.html from the server of instance `id`, at the port it wrote.
  absl::StatusOr<std::string> OldPage(const std::string& id) {
    std::ifstream in(absl::StrCat(instances_dir(), "/", id, "/port"));
    std::string port;
    if (!(in >> port)) return absl::NotFoundError(absl::StrCat("no port file for ", id));
    return HttpGet(absl::StrCat("http://127.0.0.1:", port, "/v1.html"), absl::Seconds(5));
  }

  // The members of `id` by instance ID, with their health ("" on an error).
  std::map<std::string, gv1::Member> Members(const std::string& id) {
    std::map<std::string, gv1::Member> out;
    auto group = Inspect(id);
    if (!group.ok()) return out;
    for (const gv1::Member& m : group->members()) out[m.id()] = m;
    return out;
  }
};

TEST_F(GroupSemanticsE2eTest, RemediationReplacesAFrozenServerOnceAndKeepsItsReplacement) {
  std::vector<std::pair<std::string, int>> addresses;
  for (const char* a : kPetAddresses) addresses.emplace_back(a, kPetPort);
  ASSERT_TRUE(StartPlugins({}, addresses));
  const gv1::GroupSpec spec = Parse(kPetsConfig);
  ASSERT_FALSE(Watch(spec).empty());
  ASSERT_TRUE(WaitHealthy("slow", 3));
  // Every member's first probe came before its server listened: starting, not unhealthy.
  EXPECT_FALSE(absl::StrContains(group_->Stderr(), "circuit breaker")) << Logs();

  std::string frozen;
  pid_t frozen_pid = 0;
  for (const InstanceProcess& p : InstanceProcesses(instances_dir())) {
    if (p.logical_id == "127.0.0.42" && getpgid(p.pid) == p.pid) {
      frozen = p.instance_id;
      frozen_pid = p.pid;
    }
  }
  ASSERT_NE(frozen_pid, 0);
  ASSERT_EQ(kill(-frozen_pid, SIGSTOP), 0);

  // Every instance seen for 127.0.0.42 until it is served by a healthy replacement.
  std::set<std::string> seen = {frozen};
  std::string last;
  const bool replaced = WaitFor(
      [&] {
        std::map<std::string, gv1::Member> members = Members("slow");
        int healthy = 0;
        bool old_gone = !members.count(frozen);
        for (const auto& [id, m] : members) {
          if (m.logical_id() == "127.0.0.42") seen.insert(id);
          healthy += m.health() == fv1::HEALTH_HEALTHY;
        }
        last = absl::StrCat(members.size(), " members, ", healthy, " healthy");
        return old_gone && members.size() == 3 && healthy == 3;
      },
      kE2eWait, kE2ePause);
  ASSERT_TRUE(replaced) << last << Logs();
  // One replacement, not a chain of them killed on their first probe.
  EXPECT_EQ(seen.size(), 2u) << Logs();
  EXPECT_TRUE(HttpGet(absl::StrCat("http://127.0.0.42:", kPetPort, "/"), absl::Seconds(5)).ok());
  EXPECT_FALSE(absl::StrContains(group_->Stderr(), "circuit breaker")) << Logs();
  // The frozen server is gone for good, not left stopped.
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const InstanceProcess& p : InstanceProcesses(instances_dir())) {
          if (p.instance_id == frozen) return false;
        }
        return true;
      },
      kE2eWait, kE2ePause));
}

TEST_F(GroupSemanticsE2eTest, StopDuringAnUpdateKeepsEveryHealthyMember) {
  ASSERT_TRUE(StartPlugins({}, {}));
  const gv1::GroupSpec v1 = Cattle("v1", kServeCommand);
  const std::string sha1 = Watch(v1);
  ASSERT_FALSE(sha1.empty());
  ASSERT_TRUE(WaitHealthy("web", 2));
  std::set<std::string> old;
  for (const auto& [id, m] : Members("web")) old.insert(id);

  // v2's servers never serve, and its probe asks for v2.html, which v1's servers do not have.
  const gv1::GroupSpec v2 = Cattle("v2", "exec sleep 600");
  std::atomic<bool> update_ended{false};
  std::thread update([&] {
    gv1::UpdateGroupRequest request;
    *request.mutable_spec() = v2;
    absl::Status st = groups_->UpdateGroup(request, [](const gv1::UpdateGroupResponse&) {});
    EXPECT_TRUE(st.ok()) << st;
    update_ended = true;
  });
  // The surge member is there, not healthy.
  ASSERT_TRUE(WaitFor([&] { return Members("web").size() == 3; }, kE2eWait, kE2ePause)) << Logs();

  gv1::StopUpdateRequest stop;
  stop.set_id("web");
  auto stopped = groups_->StopUpdate(stop);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  ASSERT_TRUE(WaitFor([&] { return update_ended.load(); }, kE2eWait, kE2ePause));
  update.join();

  // Until the group is back at its size: both old servers answer throughout.
  std::string last;
  const bool settled = WaitFor(
      [&] {
        // Both old servers answer (the ground truth), and the group sees them healthy.
        for (const std::string& id : old) {
          auto page = OldPage(id);
          EXPECT_TRUE(page.ok()) << page.status();
        }
        auto group = Inspect("web");
        if (!group.ok()) return false;
        int old_healthy = 0;
        for (const gv1::Member& m : group->members()) {
          if (old.count(m.id()) && m.health() == fv1::HEALTH_HEALTHY) ++old_healthy;
        }
        EXPECT_EQ(old_healthy, 2) << group->DebugString();
        last = group->DebugString();
        return group->members_size() == 2 && group->status().stopped() &&
               group->status().converged();
      },
      kE2eWait, kE2ePause);
  ASSERT_TRUE(settled) << last << Logs();
  std::set<std::string> now;
  for (const auto& [id, m] : Members("web")) now.insert(id);
  EXPECT_EQ(now, old);
  auto group = Inspect("web");
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->status().healthy(), 2);
  EXPECT_EQ(group->status().outdated(), 2);
  EXPECT_FALSE(group->status().updating());
}

}  // namespace
}  // namespace infrakit
