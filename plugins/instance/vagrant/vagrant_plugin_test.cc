// VagrantPlugin in-process, with real vagrant and its docker provider against a private dockerd
// (skipped, saying why, where that cannot run): Provision returns at once and Watch sees the
// instance go from PENDING to RUNNING; a failed `vagrant up` is reported with vagrant's error
// and the instance removed; a restarted plugin re-adopts running and interrupted instances and
// notices a container removed while it was down. Every test leaves no container or directory.
#include "plugins/instance/vagrant/vagrant_plugin.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "plugins/instance/vagrant/test_engine.h"
#include "tests/conformance/watch_recorder.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

using ::infrakit::testing::SortedNames;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::infrakit::tests::conformance::Summaries;
using ::infrakit::tests::conformance::WatchRecorder;

constexpr absl::Duration kWait = absl::Seconds(60);
constexpr absl::Duration kPause = absl::Milliseconds(50);

class VagrantPluginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    missing_ = new std::string(TestEngineMissing());
    if (!missing_->empty()) return;
    dir_ = new TempDir();
    engine_ = new TestEngine(dir_->path());
    absl::Status started = engine_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  static void TearDownTestSuite() {
    delete engine_;  // Removes what is left, stops the engine.
    engine_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!missing_->empty()) GTEST_SKIP() << *missing_;
    ASSERT_NE(engine_, nullptr);
    instances_ = dir_->Join(absl::StrCat(
        "instances-", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
  }

  void TearDown() override {
    if (IsSkipped()) return;
    plugin_.reset();
    // Nothing of the test is left.
    EXPECT_TRUE(engine_->Containers().empty()) << absl::StrJoin(engine_->Containers(), " ");
    EXPECT_TRUE(SortedNames(instances_).empty()) << absl::StrJoin(SortedNames(instances_), " ");
    std::vector<std::string> left = engine_->Containers();
    if (!left.empty()) {
      left.insert(left.begin(), {"rm", "-f"});
      engine_->Docker(left).IgnoreError();
    }
  }

  void StartPlugin(int max_parallel = 4) {
    VagrantPlugin::Options options;
    options.max_parallel = max_parallel;
    options.dir = instances_;
    options.docker_host = engine_->docker_host();
    auto plugin = VagrantPlugin::Create(options);
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    plugin_ = *std::move(plugin);
  }

  v1::ProvisionRequest Request(const std::string& image = kTestImage) {
    v1::ProvisionRequest request;
    auto* fields = request.mutable_spec()->mutable_properties()->mutable_fields();
    (*fields)["Image"].set_string_value(image);
    (*fields)["Command"].set_string_value("exec tail -f /dev/null");
    request.mutable_spec()->set_init("echo init of $INFRAKIT_INSTANCE_ID");
    (*request.mutable_spec()->mutable_tags())["test"] = "yes";
    return request;
  }

  std::string Provision(const std::string& image = kTestImage) {
    auto provisioned = plugin_->Provision(Request(image));
    EXPECT_TRUE(provisioned.ok()) << provisioned.status();
    return provisioned.ok() ? provisioned->id() : "";
  }

  // The instance as Describe shows it (with properties); id "" when not listed.
  v1::Description Describe(const std::string& id) {
    v1::DescribeRequest request;
    request.set_include_properties(true);
    auto described = plugin_->Describe(request);
    EXPECT_TRUE(described.ok()) << described.status();
    for (const v1::Description& d : described->instances()) {
      if (d.id() == id) return d;
    }
    return v1::Description();
  }

  bool WaitRunning(const std::string& id) {
    return WaitFor([&] { return Describe(id).state() == v1::LIFECYCLE_STATE_RUNNING; }, kWait,
                   kPause);
  }

  void Destroy(const std::string& id) {
    v1::DestroyRequest request;
    request.set_id(id);
    const absl::Time start = absl::Now();
    absl::Status destroyed = plugin_->Destroy(request);
    EXPECT_TRUE(destroyed.ok()) << destroyed;
    LOG(INFO) << "Destroy of " << id << " took " << absl::Now() - start;
  }

  static std::string* missing_;
  static TempDir* dir_;
  static TestEngine* engine_;
  std::string instances_;
  std::unique_ptr<VagrantPlugin> plugin_;
};

std::string* VagrantPluginTest::missing_ = nullptr;
TempDir* VagrantPluginTest::dir_ = nullptr;
TestEngine* VagrantPluginTest::engine_ = nullptr;

TEST_F(VagrantPluginTest, ProvisionReturnsAtOnceAndWatchSeesPendingThenRunning) {
  StartPlugin();
  v1::WatchRequest watch;
  watch.set_include_properties(true);
  WatchRecorder recorder;
  auto handle = plugin_->Watch(watch, &recorder);
  ASSERT_TRUE(handle.ok()) << handle.status();
  const absl::Time start = absl::Now();
  const std::string id = Provision();
  const absl::Duration provision_time = absl::Now() - start;
  EXPECT_LT(provision_time, absl::Seconds(2)) << "Provision waited for vagrant up";
  const int added = recorder.WaitForEvent(v1::EVENT_TYPE_ADDED, id, 0, kWait);
  ASSERT_GE(added, 0) << absl::StrJoin(Summaries(recorder.events()), ", ");
  const WatchRecorder::Events events = recorder.events();
  EXPECT_EQ(events[added].instance().state(), v1::LIFECYCLE_STATE_PENDING);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& e : recorder.events()) {
          if (e.type() == v1::EVENT_TYPE_CHANGED &&
              e.instance().state() == v1::LIFECYCLE_STATE_RUNNING) {
            return true;
          }
        }
        return false;
      },
      kWait, kPause))
      << absl::StrJoin(Summaries(recorder.events()), ", ");
  LOG(INFO) << "Provision returned in " << provision_time << "; RUNNING after "
            << absl::Now() - start;
  const v1::Description running = Describe(id);
  const auto& properties = running.properties().fields();
  ASSERT_TRUE(properties.contains("ContainerID"));
  EXPECT_EQ(properties.at("VagrantState").string_value(), "running");
  EXPECT_EQ(engine_->RunningContainers(), std::vector<std::string>{id});
  // The init ran inside the container, with the instance's environment.
  auto logs = engine_->Docker({"logs", id});
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_TRUE(absl::StrContains(*logs, absl::StrCat("init of ", id))) << *logs;

  Destroy(id);
  EXPECT_GE(recorder.WaitForEvent(v1::EVENT_TYPE_REMOVED, id, added + 1, kWait), 0);
  EXPECT_TRUE(engine_->Containers().empty());
  EXPECT_TRUE(SortedNames(instances_).empty());
}

TEST_F(VagrantPluginTest, AFailedUpIsReportedWithVagrantsErrorAndTheInstanceRemoved) {
  StartPlugin();
  v1::WatchRequest request;
  request.set_include_properties(true);
  WatchRecorder recorder;
  auto handle = plugin_->Watch(request, &recorder);
  ASSERT_TRUE(handle.ok()) << handle.status();
  const std::string id = Provision("local/no-such-image");
  const int removed = recorder.WaitForEvent(v1::EVENT_TYPE_REMOVED, id, 0, kWait);
  ASSERT_GE(removed, 0) << absl::StrJoin(Summaries(recorder.events()), ", ");
  // Before it went: TERMINATING, failed, with what vagrant said (a CHANGED event).
  v1::Description last;
  const WatchRecorder::Events events = recorder.events();
  for (int i = 0; i < removed; ++i) {
    const v1::WatchResponse& e = events[i];
    if (e.type() == v1::EVENT_TYPE_CHANGED && e.instance().id() == id) last = e.instance();
  }
  EXPECT_EQ(last.state(), v1::LIFECYCLE_STATE_TERMINATING);
  const auto& fields = last.properties().fields();
  ASSERT_TRUE(fields.contains("Error"));
  EXPECT_TRUE(absl::StrContains(fields.at("Error").string_value(), "vagrant up failed"))
      << fields.at("Error").string_value();
  EXPECT_EQ(fields.at("VagrantState").string_value(), "failed");
  LOG(INFO) << "vagrant's error: " << fields.at("Error").string_value();
  EXPECT_TRUE(SortedNames(instances_).empty());
}

TEST_F(VagrantPluginTest, ARestartedPluginReadoptsItsInstances) {
  StartPlugin(/*max_parallel=*/1);
  const std::string kept = Provision();
  const std::string doomed = Provision();
  ASSERT_TRUE(WaitRunning(kept));
  ASSERT_TRUE(WaitRunning(doomed));
  // One vagrant command at a time: the second up waits behind the first and is dropped when
  // the plugin stops (the first is waited for).
  const std::string started = Provision();
  const std::string queued = Provision();
  plugin_.reset();
  EXPECT_EQ(engine_->RunningContainers().size(), 3);

  // A container removed while no plugin runs.
  ASSERT_TRUE(engine_->Docker({"rm", "-f", doomed}).ok());
  const absl::Time start = absl::Now();
  StartPlugin();
  EXPECT_EQ(Describe(kept).state(), v1::LIFECYCLE_STATE_RUNNING);
  EXPECT_EQ(Describe(started).state(), v1::LIFECYCLE_STATE_RUNNING);
  EXPECT_EQ(Describe(queued).state(), v1::LIFECYCLE_STATE_PENDING);
  EXPECT_TRUE(WaitRunning(queued));
  EXPECT_TRUE(WaitFor([&] { return Describe(doomed).id().empty(); }, kWait, kPause));
  LOG(INFO) << "re-adopted (the dropped vagrant up resumed) in " << absl::Now() - start;
  std::vector<std::string> left = {kept, started, queued};
  std::sort(left.begin(), left.end());
  EXPECT_TRUE(WaitFor([&] { return engine_->RunningContainers() == left; }, kWait, kPause))
      << absl::StrJoin(engine_->RunningContainers(), " ");
  for (const std::string& id : left) Destroy(id);
  EXPECT_TRUE(WaitFor([&] { return SortedNames(instances_).empty(); }, kWait, kPause))
      << absl::StrJoin(SortedNames(instances_), " ");
}

}  // namespace
}  // namespace infrakit::plugins::instance::vagrant
