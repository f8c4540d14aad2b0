// instance-vagrant against the Instance contract (tests/conformance/instance_conformance.h),
// with real vagrant and its docker provider against one private dockerd for the whole binary
// (skipped, saying why, where it cannot run). Behind its back: an instance's container is
// removed (docker rm -f), which must be a REMOVED.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/instance/vagrant/test_engine.h"
#include "tests/conformance/instance_conformance.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::tests::conformance {
namespace {

using ::infrakit::plugins::instance::vagrant::TestEngine;

// The engine every test's plugin uses; started once by the environment below.
TestEngine* engine = nullptr;

class EngineEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const std::string missing = plugins::instance::vagrant::TestEngineMissing();
    if (!missing.empty()) GTEST_SKIP() << missing;
    dir_ = std::make_unique<infrakit::testing::TempDir>();
    engine_ = std::make_unique<TestEngine>(dir_->path());
    absl::Status started = engine_->Start();
    ASSERT_TRUE(started.ok()) << started;
    engine = engine_.get();
  }
  void TearDown() override {
    engine = nullptr;
    engine_.reset();  // Removes every container, stops the engine.
    dir_.reset();
  }

 private:
  std::unique_ptr<infrakit::testing::TempDir> dir_;
  std::unique_ptr<TestEngine> engine_;
};

::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new EngineEnvironment);

InstancePluginUnderTest InstanceVagrant() {
  InstancePluginUnderTest p;
  p.name = "InstanceVagrant";
  p.binary = "plugins/instance/vagrant/infrakit-instance-vagrant";
  p.plugin_name = "instance-vagrant";
  p.args = [](const std::string& scratch) {
    return std::vector<std::string>{"--dir", absl::StrCat(scratch, "/instances"), "--docker-host",
                                    engine == nullptr ? "" : engine->docker_host()};
  };
  p.valid_properties = R"({"Image": "local/busybox", "Command": "exec tail -f /dev/null"})";
  p.invalid_properties = {
      {R"({"Image": "local/busybox", "Imag": "x"})", "Imag"},
      {R"({"Image": 1})", "Image"},
      {R"({"Command": "x"})", "Image"},
      {R"({"Image": "x", "Env": {"PORT": 8080}})", "Env.PORT"},
      {R"({"Image": "x", "Provider": "no such"})", "Provider"},
      {R"({"Template": "{{.Nope}}"})", "Template"},
  };
  p.out_of_band.remove = [](const std::string& scratch, const std::string& id) {
    ASSERT_NE(engine, nullptr);
    // Its container exists once its vagrant up has got that far.
    ASSERT_TRUE(infrakit::testing::WaitFor(
        [&] {
          std::vector<std::string> running = engine->RunningContainers();
          return std::find(running.begin(), running.end(), id) != running.end();
        },
        absl::Seconds(60), absl::Milliseconds(50)));
    absl::StatusOr<std::string> removed = engine->Docker({"rm", "-f", id});
    ASSERT_TRUE(removed.ok()) << removed.status();
  };
  p.deadline = absl::Seconds(60);
  return p;
}

INSTANTIATE_TEST_SUITE_P(InstanceVagrant, InstanceConformanceTest,
                         ::testing::Values(InstanceVagrant()), InstancePluginUnderTest::TestName);

}  // namespace
}  // namespace infrakit::tests::conformance
