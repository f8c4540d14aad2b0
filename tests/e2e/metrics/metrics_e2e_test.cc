// The metrics of real binaries (infrakit-group, infrakit-instance-file, infrakit-flavor-vanilla,
// each with --metrics-listen 127.0.0.1:0), scraped over HTTP while a group is scaled, healed and
// updated: every page must follow the text format's rules (tests/testing/exposition_checker.h)
// and say what happened.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.pb.h"
#include "tests/testing/exposition_checker.h"
#include "tests/testing/http_get.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::client::GroupClient;
using ::infrakit::testing::Exposition;
using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

// Generous: the machine is shared; a condition that holds is seen within milliseconds.
constexpr absl::Duration kWait = absl::Seconds(60);

std::string Config(const std::string& note, int size) {
  return absl::StrCat(R"({"ID": "cattle", "Properties": {
      "Instance": {"Plugin": "instance-file", "Properties": {"Note": ")",
                      note, R"("}},
      "Flavor": {"Plugin": "flavor-vanilla", "Properties": {"Size": )",
                      size, R"(, "Labels": {"tier": "web"}}}}})");
}

// The port in "Serving metrics on http://127.0.0.1:PORT/metrics" of a plugin's log; 0 if absent.
int MetricsPort(const std::string& log) {
  const std::string marker = "Serving metrics on http://127.0.0.1:";
  const size_t at = log.find(marker);
  if (at == std::string::npos) return 0;
  const size_t start = at + marker.size();
  int port = 0;
  return absl::SimpleAtoi(log.substr(start, log.find('/', start) - start), &port) ? port : 0;
}

class MetricsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(dir_.Join("plugins").c_str(), 0700), 0);
    ASSERT_EQ(mkdir(dir_.Join("instances").c_str(), 0700), 0);
    file_ = Start("plugins/instance/file/infrakit-instance-file", {"--dir", dir_.Join("instances")},
                  "instance-file", &file_port_);
    vanilla_ = Start("plugins/flavor/vanilla/infrakit-flavor-vanilla", {}, "flavor-vanilla",
                     &vanilla_port_);
    group_ =
        Start("services/group/server/infrakit-group",
              {"--state-dir", dir_.Join("state"), "--resync-period", "2s"}, "group", &group_port_);
    ASSERT_TRUE(file_ && vanilla_ && group_);
    client_ = std::make_unique<GroupClient>(
        client::discovery::MakePluginChannel(dir_.Join("plugins/group.sock")), absl::Seconds(30));
  }

  // Starts a binary with metrics on a free port, waits until it answers and reads the port from
  // its log.
  std::unique_ptr<PluginProcess> Start(const std::string& binary, std::vector<std::string> args,
                                       const std::string& name, int* port) {
    args.insert(args.end(),
                {"--plugins-dir", dir_.Join("plugins"), "--metrics-listen", "127.0.0.1:0"});
    auto process = std::make_unique<PluginProcess>(binary, std::move(args), dir_.path());
    absl::Status status = process->Start();
    if (status.ok()) {
      status = process->WaitReady(dir_.Join("plugins/" + name + ".sock"), absl::Seconds(30));
    }
    EXPECT_TRUE(status.ok()) << status;
    *port = MetricsPort(process->Stderr());
    EXPECT_GT(*port, 0) << process->Stderr();
    return status.ok() && *port > 0 ? std::move(process) : nullptr;
  }

  // One scrape, checked against the text format's rules (a test failure if it breaks one).
  Exposition Scrape(int port) {
    absl::StatusOr<testing::HttpResponse> r = testing::HttpGet(port, "/metrics");
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, 200);
    absl::StatusOr<Exposition> e = testing::ParseExposition(r->body);
    EXPECT_TRUE(e.ok()) << e.status() << "\n" << r->body;
    return e.ok() ? *e : Exposition();
  }

  // Scrapes the group service until `done` holds for a page (each page checked); false (with the
  // last page's group series in the failure) at the deadline.
  bool WaitForGroupMetrics(const std::function<bool(const Exposition&)>& done) {
    Exposition last;
    const bool ok = WaitFor(
        [&] {
          last = Scrape(group_port_);
          return done(last);
        },
        kWait, absl::Milliseconds(20));
    if (!ok) {
      std::string series;
      for (const auto& s : last.samples) {
        if (s.name.rfind("infrakit_group", 0) == 0)
          absl::StrAppend(&series, s.name, " ", s.value, "\n");
      }
      ADD_FAILURE() << "group metrics did not reach the condition:\n" << series;
    }
    return ok;
  }

  // The sum of one group series of `cattle`.
  static double Cattle(const Exposition& e, const std::string& name,
                       std::map<std::string, std::string> labels = {}) {
    labels["group"] = "cattle";
    return e.Sum(name, labels);
  }

  TempDir dir_;
  int file_port_ = 0;
  int vanilla_port_ = 0;
  int group_port_ = 0;
  std::unique_ptr<PluginProcess> file_;
  std::unique_ptr<PluginProcess> vanilla_;
  std::unique_ptr<PluginProcess> group_;
  std::unique_ptr<GroupClient> client_;
};

TEST_F(MetricsE2eTest, ScrapesFollowAScaleAHealAndAnUpdate) {
  // Scale from nothing to 3, then to 5.
  gv1::WatchGroupRequest watch;
  auto spec = client::config::ParseGroupConfig(Config("v1", 3));
  ASSERT_TRUE(spec.ok()) << spec.status();
  *watch.mutable_spec() = *spec;
  ASSERT_TRUE(client_->WatchGroup(watch).ok());
  ASSERT_TRUE(WaitForGroupMetrics([](const Exposition& e) {
    return Cattle(e, "infrakit_group_desired") == 3 && Cattle(e, "infrakit_group_actual") == 3 &&
           Cattle(e, "infrakit_group_converged") == 1 &&
           Cattle(e, "infrakit_group_provisions_total") == 3;
  }));
  gv1::SetSizeRequest resize;
  resize.set_id("cattle");
  resize.set_size(5);
  ASSERT_TRUE(client_->SetSize(resize).ok());
  ASSERT_TRUE(WaitForGroupMetrics([](const Exposition& e) {
    return Cattle(e, "infrakit_group_desired") == 5 && Cattle(e, "infrakit_group_actual") == 5 &&
           Cattle(e, "infrakit_group_healthy") == 5 && Cattle(e, "infrakit_group_converged") == 1 &&
           Cattle(e, "infrakit_group_provisions_total") == 5 && e.Sum("infrakit_groups") == 1;
  }));

  // Heal: an instance file removed by hand is replaced.
  std::string victim;
  DIR* d = opendir(dir_.Join("instances").c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* entry = readdir(d)) {
    if (entry->d_name[0] != '.') victim = entry->d_name;
  }
  closedir(d);
  ASSERT_FALSE(victim.empty());
  ASSERT_EQ(unlink(dir_.Join("instances/" + victim).c_str()), 0);
  ASSERT_TRUE(WaitForGroupMetrics([](const Exposition& e) {
    return Cattle(e, "infrakit_group_heals_total", {{"cause", "vanished"}}) == 1 &&
           Cattle(e, "infrakit_group_watch_events_total", {{"type", "removed"}}) >= 1 &&
           Cattle(e, "infrakit_group_provisions_total") == 6 &&
           Cattle(e, "infrakit_group_converged") == 1;
  }));

  // A rolling update, scraped at every progress message.
  gv1::UpdateGroupRequest update;
  auto v2 = client::config::ParseGroupConfig(Config("v2", 5));
  ASSERT_TRUE(v2.ok()) << v2.status();
  *update.mutable_spec() = *v2;
  int scrapes_while_updating = 0;
  absl::Status updated = client_->UpdateGroup(update, [&](const gv1::UpdateGroupResponse& r) {
    const Exposition e = Scrape(group_port_);
    if (r.phase() == gv1::UPDATE_PHASE_PROGRESS && Cattle(e, "infrakit_group_updating") == 1) {
      ++scrapes_while_updating;
      EXPECT_EQ(Cattle(e, "infrakit_group_update_total"), 5);
      EXPECT_LE(Cattle(e, "infrakit_group_update_updated"), 5);
    }
  });
  ASSERT_TRUE(updated.ok()) << updated << "\n" << group_->Stderr();
  EXPECT_GT(scrapes_while_updating, 0);
  ASSERT_TRUE(WaitForGroupMetrics([](const Exposition& e) {
    return Cattle(e, "infrakit_group_updating") == 0 && Cattle(e, "infrakit_group_outdated") == 0 &&
           Cattle(e, "infrakit_group_update_updated") == 5 &&
           Cattle(e, "infrakit_group_update_total") == 5 &&
           Cattle(e, "infrakit_group_destroys_total", {{"reason", "rolling_update"}}) == 5 &&
           Cattle(e, "infrakit_group_provisions_total") == 11 &&
           Cattle(e, "infrakit_group_converged") == 1;
  }));

  // The gRPC side of each binary: calls by method and code, and the Watch stream's events.
  const Exposition group = Scrape(group_port_);
  EXPECT_EQ(
      group.Sum("grpc_server_handled_total", {{"grpc_method", "UpdateGroup"}, {"grpc_code", "OK"}}),
      1);
  EXPECT_EQ(group.Sum("grpc_server_handling_seconds_count", {{"grpc_method", "SetSize"}}), 1);
  const Exposition file = Scrape(file_port_);
  EXPECT_GE(
      file.Sum("grpc_server_handled_total",
               {{"grpc_service", "infrakit.instance.v1.InstanceService"}, {"grpc_code", "OK"}}),
      1);
  EXPECT_GE(file.Sum("grpc_server_msg_sent_total", {{"grpc_method", "Watch"}}), 11)
      << "the Watch stream sends an event per instance created, and more";
  EXPECT_EQ(file.Sum("infrakit_plugin_info", {{"name", "instance-file"}}), 1);
  const Exposition vanilla = Scrape(vanilla_port_);
  EXPECT_GE(vanilla.Sum("grpc_server_started_total",
                        {{"grpc_service", "infrakit.flavor.v1.FlavorService"}}),
            1);
}

}  // namespace
}  // namespace infrakit
