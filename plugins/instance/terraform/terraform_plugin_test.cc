// instance-terraform's core against the stand-in terraform (testdata/fake_terraform.py, which
// follows Terraform's CLI and state contract): real files, real subprocesses, the real clock.
// Every wait is on a condition with a deadline.
#include "plugins/instance/terraform/terraform_plugin.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/atomic_file.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "plugins/instance/terraform/command_runner.h"
#include "plugins/instance/terraform/tf_file.h"
#include "tests/conformance/watch_recorder.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::terraform {
namespace {

using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);

class TerraformPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("FAKE_TERRAFORM_LOG", dir_.Join("terraform.log").c_str(), 1);
    unsetenv("FAKE_TERRAFORM_FAIL");
    Start();
  }
  void TearDown() override {
    plugin_.reset();
    unsetenv("FAKE_TERRAFORM_LOG");
    unsetenv("FAKE_TERRAFORM_FAIL");
  }

  std::string work_dir() const { return dir_.Join("work"); }

  void Start(const std::string& binary = "") {
    TerraformPluginOptions options;
    options.dir = work_dir();
    options.runner = std::make_shared<SubprocessRunner>(
        binary.empty() ? infrakit::testing::RunfilePath(
                             "plugins/instance/terraform/testdata/fake_terraform.py")
                       : binary,
        work_dir());
    options.loop.debounce = absl::Milliseconds(200);
    options.loop.min_backoff = absl::Milliseconds(200);
    options.loop.max_backoff = absl::Seconds(1);
    auto plugin = TerraformPlugin::Create(std::move(options));
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    plugin_ = *std::move(plugin);
  }

  v1::ProvisionRequest Request(const std::string& value, const std::string& key = "") {
    v1::ProvisionRequest request;
    v1::Spec* spec = request.mutable_spec();
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                    absl::StrCat(R"({"type": "aws_instance", "value": )", value, "}"),
                    spec->mutable_properties())
                    .ok());
    (*spec->mutable_tags())["infrakit.group"] = "workers";
    spec->set_init("echo hello");
    spec->set_idempotency_key(key);
    return request;
  }

  std::string Provision(const std::string& value = R"({"ami": "ami-1"})") {
    auto response = plugin_->Provision(Request(value));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->id() : "";
  }

  // The instances by ID, with properties.
  std::map<std::string, v1::Description> Instances() {
    v1::DescribeRequest request;
    request.set_include_properties(true);
    auto response = plugin_->Describe(request);
    EXPECT_TRUE(response.ok()) << response.status();
    std::map<std::string, v1::Description> out;
    for (const auto& d : response->instances()) out[d.id()] = d;
    return out;
  }

  bool WaitState(const std::string& id, v1::LifecycleState state) {
    std::string last;
    const bool ok = WaitFor(
        [&] {
          auto all = Instances();
          auto it = all.find(id);
          last = it == all.end() ? "gone" : it->second.DebugString();
          return it != all.end() && it->second.state() == state;
        },
        kWait);
    if (!ok) ADD_FAILURE() << id << " never " << v1::LifecycleState_Name(state) << ": " << last;
    return ok;
  }

  std::string Error(const std::string& id) {
    auto all = Instances();
    auto it = all.find(id);
    if (it == all.end() || !it->second.properties().fields().contains("Error")) return "";
    return it->second.properties().fields().at("Error").string_value();
  }

  // The terraform commands run so far ("init", "apply", "show").
  std::vector<std::string> Commands() {
    auto text = common::ReadFile(dir_.Join("terraform.log"));
    if (!text.ok()) return {};
    return absl::StrSplit(*text, '\n', absl::SkipEmpty());
  }
  int Applies() {
    int n = 0;
    for (const std::string& c : Commands()) n += c == "apply";
    return n;
  }

  infrakit::testing::TempDir dir_;
  std::unique_ptr<TerraformPlugin> plugin_;
};

TEST_F(TerraformPluginTest, ThreeProvisionsArePendingThenRunningAfterOneCoalescedApply) {
  std::vector<std::string> ids = {Provision(), Provision(), Provision()};
  for (const std::string& id : ids) {
    // Provision returned at once: nothing applied yet.
    EXPECT_EQ(Instances()[id].state(), v1::LIFECYCLE_STATE_PENDING);
    EXPECT_TRUE(access(absl::StrCat(work_dir(), "/", id, ".tf.json").c_str(), F_OK) == 0);
  }
  for (const std::string& id : ids) ASSERT_TRUE(WaitState(id, v1::LIFECYCLE_STATE_RUNNING));
  // One apply for the burst (two when a slow machine split it across the debounce window).
  EXPECT_GE(Applies(), 1);
  EXPECT_LE(Applies(), 2) << absl::StrJoin(Commands(), ",");
  EXPECT_EQ(Commands().front(), "init");

  const v1::Description d = Instances()[ids[0]];
  const auto& props = d.properties().fields();
  EXPECT_EQ(props.at("Address").string_value(), absl::StrCat("aws_instance.", ids[0]));
  const auto& values = props.at("Values").struct_value().fields();
  EXPECT_THAT(values.at("id").string_value(), HasSubstr("fake-"));
  // Tags and init merged into the resource, as the original plugin did for aws_instance.
  EXPECT_EQ(values.at("user_data").string_value(), "echo hello");
  EXPECT_EQ(values.at("tags").struct_value().fields().at("infrakit.group").string_value(),
            "workers");
  EXPECT_EQ(values.at("tags").struct_value().fields().at("Name").string_value(), ids[0]);
}

TEST_F(TerraformPluginTest, AFailingResourceIsReportedWithItsErrorAndTheOthersApplied) {
  const std::string good = Provision();
  const std::string bad = Provision(R"({"ami": "ami-1", "fake_fail": "InsufficientCapacity"})");
  const std::string good2 = Provision();
  tests::conformance::WatchRecorder recorder;
  auto watch = plugin_->Watch(v1::WatchRequest(), &recorder);
  ASSERT_TRUE(watch.ok());

  ASSERT_TRUE(WaitState(bad, v1::LIFECYCLE_STATE_FAILED));
  ASSERT_TRUE(WaitState(good, v1::LIFECYCLE_STATE_RUNNING));
  ASSERT_TRUE(WaitState(good2, v1::LIFECYCLE_STATE_RUNNING));
  EXPECT_THAT(Error(bad), HasSubstr("Error: InsufficientCapacity"));
  EXPECT_THAT(Error(bad), HasSubstr(absl::StrCat("with aws_instance.", bad, ",")));
  EXPECT_EQ(Error(good), "");
  // Watch saw it fail (without asking for properties: the state says it).
  EXPECT_TRUE(recorder.WaitUntil(
      [&](const tests::conformance::WatchRecorder::Events& events) {
        for (const auto& e : events) {
          if (e.type() == v1::EVENT_TYPE_CHANGED && e.instance().id() == bad &&
              e.instance().state() == v1::LIFECYCLE_STATE_FAILED) {
            return true;
          }
        }
        return false;
      },
      kWait));

  // Retried with backoff while nothing changes: still failing, still reported.
  const int applies = Applies();
  ASSERT_TRUE(WaitFor([&] { return Applies() >= applies + 2; }, kWait));
  EXPECT_EQ(Instances()[bad].state(), v1::LIFECYCLE_STATE_FAILED);

  // Never created, so destroying it is immediate.
  v1::DestroyRequest destroy;
  destroy.set_id(bad);
  ASSERT_TRUE(plugin_->Destroy(destroy).ok());
  EXPECT_EQ(Instances().count(bad), 0u);
  EXPECT_GE(recorder.WaitForEvent(v1::EVENT_TYPE_REMOVED, bad, 0, kWait), 0);
}

TEST_F(TerraformPluginTest, AFailureClearsWhenTheCauseGoesAway) {
  const std::string marker = dir_.Join("quota-exhausted");
  std::ofstream(marker) << "x";
  const std::string id =
      Provision(absl::StrCat(R"({"ami": "ami-1", "fake_fail_while_exists": ")", marker, R"("})"));
  ASSERT_TRUE(WaitState(id, v1::LIFECYCLE_STATE_FAILED));
  EXPECT_THAT(Error(id), HasSubstr("quota-exhausted exists"));
  ASSERT_EQ(unlink(marker.c_str()), 0);
  // No change reaches the plugin: the backoff's retry succeeds.
  ASSERT_TRUE(WaitState(id, v1::LIFECYCLE_STATE_RUNNING));
  EXPECT_EQ(Error(id), "");
}

TEST_F(TerraformPluginTest, AnApplyFailingAsAWholeFailsThePendingInstances) {
  setenv("FAKE_TERRAFORM_FAIL", "No valid credential sources found", 1);
  const std::string id = Provision();
  ASSERT_TRUE(WaitState(id, v1::LIFECYCLE_STATE_FAILED));
  EXPECT_THAT(Error(id), HasSubstr("No valid credential sources found"));
  unsetenv("FAKE_TERRAFORM_FAIL");
  ASSERT_TRUE(WaitState(id, v1::LIFECYCLE_STATE_RUNNING));
}

TEST_F(TerraformPluginTest, DestroyRemovesTheFileAndTheResource) {
  const std::string id = Provision();
  ASSERT_TRUE(WaitState(id, v1::LIFECYCLE_STATE_RUNNING));
  v1::DestroyRequest destroy;
  destroy.set_id(id);
  ASSERT_TRUE(plugin_->Destroy(destroy).ok());
  EXPECT_NE(access(absl::StrCat(work_dir(), "/", id, ".tf.json").c_str(), F_OK), 0);
  // TERMINATING until an apply took it out of the state; destroying it again meanwhile is OK.
  auto now = Instances();
  if (now.count(id) != 0) {
    EXPECT_EQ(now[id].state(), v1::LIFECYCLE_STATE_TERMINATING);
    EXPECT_TRUE(plugin_->Destroy(destroy).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return Instances().count(id) == 0; }, kWait));
  auto state = common::ReadFile(absl::StrCat(work_dir(), "/terraform.tfstate"));
  ASSERT_TRUE(state.ok());
  EXPECT_THAT(*state, ::testing::Not(HasSubstr(id)));
  EXPECT_EQ(plugin_->Destroy(destroy).code(), absl::StatusCode::kNotFound);
}

TEST_F(TerraformPluginTest, LabelRewritesTheResourcesTags) {
  const std::string id = Provision();
  ASSERT_TRUE(WaitState(id, v1::LIFECYCLE_STATE_RUNNING));
  v1::LabelRequest label;
  label.set_id(id);
  (*label.mutable_labels())["owner"] = "ops";
  ASSERT_TRUE(plugin_->Label(label).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        const v1::Description d = Instances()[id];
        const auto& values = d.properties().fields().at("Values").struct_value();
        const auto& tags = values.fields().at("tags").struct_value().fields();
        return tags.contains("owner") && tags.at("owner").string_value() == "ops";
      },
      kWait));
}

TEST_F(TerraformPluginTest, ARestartedPluginReadoptsItsInstancesAndKeys) {
  auto first = plugin_->Provision(Request(R"({"ami": "ami-1"})", "key-1"));
  ASSERT_TRUE(first.ok());
  const std::string other = Provision();
  ASSERT_TRUE(WaitState(first->id(), v1::LIFECYCLE_STATE_RUNNING));
  ASSERT_TRUE(WaitState(other, v1::LIFECYCLE_STATE_RUNNING));
  plugin_.reset();

  ASSERT_NO_FATAL_FAILURE(Start());
  auto all = Instances();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[other].tags().at("infrakit.group"), "workers");
  EXPECT_EQ(all[other].spec().init(), "echo hello");
  ASSERT_TRUE(WaitState(first->id(), v1::LIFECYCLE_STATE_RUNNING));
  ASSERT_TRUE(WaitState(other, v1::LIFECYCLE_STATE_RUNNING));
  auto again = plugin_->Provision(Request(R"({"ami": "ami-1"})", "key-1"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id(), first->id());
  EXPECT_FALSE(again->created());
  EXPECT_GT(Provision(), std::max(first->id(), other));
}

TEST_F(TerraformPluginTest, NoTerraformBinaryIsAFailureOnTheInstances) {
  plugin_.reset();
  ASSERT_NO_FATAL_FAILURE(Start(dir_.Join("no-such-terraform")));
  const std::string id = Provision();
  ASSERT_TRUE(WaitState(id, v1::LIFECYCLE_STATE_FAILED));
  EXPECT_THAT(Error(id), HasSubstr("no-such-terraform"));
}

}  // namespace
}  // namespace infrakit::plugins::instance::terraform
