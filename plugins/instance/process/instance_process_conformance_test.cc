// instance-process against the Instance contract (tests/conformance/instance_conformance.h).
// Behind its back: an instance's process is killed (kill -9), which must be a REMOVED at once.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "tests/conformance/instance_conformance.h"

namespace infrakit::tests::conformance {
namespace {

namespace v1 = ::infrakit::instance::v1;

InstancePluginUnderTest InstanceProcess() {
  InstancePluginUnderTest p;
  p.name = "InstanceProcess";
  p.binary = "plugins/instance/process/infrakit-instance-process";
  p.plugin_name = "instance-process";
  p.args = [](const std::string& scratch) {
    return std::vector<std::string>{"--dir", absl::StrCat(scratch, "/instances")};
  };
  // Instances run until their plugin is gone ($PPID is the plugin while it lives), so that a
  // test leaves no process behind once the suite has stopped the plugin.
  p.valid_properties = R"({"Command": "exec tail -f /dev/null --pid=$PPID",
                           "StopGraceSeconds": 5})";
  p.invalid_properties = {
      {R"({"Comand": "x"})", "Comand"},
      {R"({"Command": 1})", "Command"},
      {R"({"Env": {"PORT": 8080}})", "Env.PORT"},
      {R"({"StopSignal": "NOPE"})", "StopSignal"},
      {R"({"StopGraceSeconds": "5"})", "StopGraceSeconds"},
  };
  p.out_of_band.remove = [](const std::string& scratch, const std::string& id) {
    // The pid from the instance's state file, as a user would find it.
    std::ifstream in(absl::StrCat(scratch, "/instances/", id, "/instance.json"));
    std::stringstream json;
    json << in.rdbuf();
    v1::Description description;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.str(), &description).ok())
        << json.str();
    const auto& fields = description.properties().fields();
    ASSERT_TRUE(fields.contains("Pid")) << json.str();
    const pid_t pid = static_cast<pid_t>(fields.at("Pid").number_value());
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(InstanceProcess, InstanceConformanceTest,
                         ::testing::Values(InstanceProcess()), InstancePluginUnderTest::TestName);

}  // namespace
}  // namespace infrakit::tests::conformance
