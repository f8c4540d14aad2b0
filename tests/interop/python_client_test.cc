// A Python client generated from proto/ at test time (tests/interop/python/interop_client.py:
// Debian's protoc and grpc_python_plugin, run with Debian's python3-grpcio) against the real
// plugins. The script checks every answer itself and exits non-zero on the first surprise; this
// test checks its exit, the steps it reports, and what it left behind.
#include <iostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/interop/interop_env.h"
#include "tests/testing/runfiles.h"

namespace infrakit::interop {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Debian's interpreter: python3-grpcio and python3-protobuf are installed for it (another
// python3 earlier on PATH, e.g. a pyenv one, would not find them).
constexpr char kPython[] = "/usr/bin/python3";
// The scenario takes a second or two; the rest is room for a loaded machine.
constexpr absl::Duration kScenario = absl::Seconds(150);

class PythonClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status started = plugins_.Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  absl::StatusOr<ClientRun> Run(const std::string& scenario) {
    return plugins_.RunClient(
        kPython,
        {"-B", testing::RunfilePath("tests/interop/python/interop_client.py"), "--plugins-dir",
         plugins_.plugins_dir(), "--proto-dir", ProtoDir(), scenario},
        // The generated code goes to a scratch directory of the script's own (tempfile).
        {{"TMPDIR", plugins_.scratch_dir()}, {"PYTHONDONTWRITEBYTECODE", "1"}}, kScenario);
  }

  InteropPlugins plugins_;
};

TEST_F(PythonClientTest, WatchesInspectsUpdatesToCompletedAndDestroysAGroup) {
  absl::StatusOr<ClientRun> run = Run("group");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->ok()) << run->Describe();
  const std::string& out = run->stdout_text;
  EXPECT_THAT(out, HasSubstr("generated Python code for 4 protos"));
  EXPECT_THAT(out, HasSubstr("WatchGroup: watching interop"));
  EXPECT_THAT(out, HasSubstr("WatchGroup again: ALREADY_EXISTS"));
  EXPECT_THAT(out, HasSubstr("InspectGroup: 2 members, desired 2, converged"));
  EXPECT_THAT(out, HasSubstr("DescribeUpdate: Performs a rolling update of 2 instances"));
  EXPECT_THAT(out, HasSubstr("COMPLETED (2/2 updated)"));
  EXPECT_THAT(out, HasSubstr("DestroyGroup: 2 destroyed"));
  EXPECT_THAT(out, HasSubstr("InspectGroup after DestroyGroup: NOT_FOUND"));
  EXPECT_THAT(out, HasSubstr("scenario group: ok"));
  // DestroyGroup answers once the members are gone: no instance file is left.
  EXPECT_THAT(plugins_.Instances(), IsEmpty());
}

TEST_F(PythonClientTest, ProvisionsIdempotentlyWatchesAndDestroysAnInstance) {
  absl::StatusOr<ClientRun> run = Run("instance");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->ok()) << run->Describe();
  const std::string& out = run->stdout_text;
  EXPECT_THAT(out, HasSubstr("Watch: SYNCED"));
  EXPECT_THAT(out, HasSubstr("the retry with the same key returned it (created=false)"));
  EXPECT_THAT(out, HasSubstr("Watch: ADDED instance-"));
  EXPECT_THAT(out, HasSubstr("Watch: REMOVED instance-"));
  EXPECT_THAT(out, HasSubstr("Destroy again: NOT_FOUND"));
  EXPECT_THAT(out, HasSubstr("scenario instance: ok"));
  EXPECT_THAT(plugins_.Instances(), IsEmpty());
}

// 10,000 instances with properties, listed by a client with default channel options (a 4 MiB
// receive limit) through Describe's pages; the script checks that one answer with all of them
// would exceed 4 MiB, so the pages are what makes the listing work.
TEST_F(PythonClientTest, ListsTenThousandInstancesWithPropertiesThroughPages) {
  absl::StatusOr<ClientRun> run = Run("pages");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->ok()) << run->Describe();
  const std::string& out = run->stdout_text;
  EXPECT_THAT(out, HasSubstr("BatchProvision: 10000 instances"));
  EXPECT_THAT(out, HasSubstr("Describe: 10000 instances with properties in"));
  EXPECT_THAT(out, HasSubstr("over 4 MiB"));
  EXPECT_THAT(out, HasSubstr("INVALID_ARGUMENT for a negative page_size"));
  EXPECT_THAT(out, HasSubstr("scenario pages: ok"));
  std::cout << out;  // The sizes measured, for the test log.
  EXPECT_THAT(plugins_.Instances(), IsEmpty());
}

// The script fails (non-zero, saying why) when an answer is not what it expects, so a passing
// run above means the checks ran: here no group plugin serves the socket it calls.
TEST_F(PythonClientTest, FailsLoudlyWhenAPluginIsMissing) {
  absl::StatusOr<ClientRun> run = plugins_.RunClient(
      kPython,
      {"-B", testing::RunfilePath("tests/interop/python/interop_client.py"), "--plugins-dir",
       plugins_.scratch_dir(), "--proto-dir", ProtoDir(), "group"},
      {{"TMPDIR", plugins_.scratch_dir()}}, kScenario);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(run->ok()) << run->Describe();
  EXPECT_THAT(run->stderr_text, HasSubstr("UNAVAILABLE")) << run->Describe();
}

}  // namespace
}  // namespace infrakit::interop
