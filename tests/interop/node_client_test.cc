// A Node client on @grpc/grpc-js and @grpc/proto-loader (tests/interop/node: the packages pinned
// by its package-lock.json, installed by this test with `npm ci` into a cache directory; the
// protos loaded from proto/ at run time) against the real plugins. The script checks every
// answer itself and exits non-zero on the first surprise; this test checks its exit, the steps
// it reports, and what it left behind. Without the npm registry (and no earlier install of the
// same lockfile) the test fails, saying so.
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/interop/interop_env.h"
#include "tests/interop/node_modules.h"
#include "tests/testing/runfiles.h"

namespace infrakit::interop {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Where Debian's nodejs and npm packages install them (and so do other Node packages for Debian).
constexpr char kNode[] = "/usr/bin/node";
constexpr char kNpm[] = "/usr/bin/npm";
// Where the installs are kept between runs, one directory per lockfile.
constexpr char kCacheRoot[] = "/tmp/infrakit-interop-node";
// A first install downloads a few hundred kilobytes.
constexpr absl::Duration kInstall = absl::Seconds(300);
// The scenario takes a second or two; the rest is room for a loaded machine.
constexpr absl::Duration kScenario = absl::Seconds(150);

class NodeClientTest : public ::testing::Test {
 protected:
  // Installs (or finds) the packages once for all the tests.
  static void SetUpTestSuite() {
    modules_ = new absl::StatusOr<std::string>(InstalledNodeModules(
        testing::RunfilePath("tests/interop/node"), kCacheRoot, kNpm, kInstall));
  }
  static void TearDownTestSuite() {
    delete modules_;
    modules_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(modules_->ok()) << "the Node client's packages could not be installed: "
                                << modules_->status();
    node_modules_ = **modules_;
    absl::Status started = plugins_.Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  absl::StatusOr<ClientRun> Run(const std::string& plugins_dir, const std::string& scenario) {
    return plugins_.RunClient(kNode,
                              {testing::RunfilePath("tests/interop/node/interop_client.js"),
                               "--plugins-dir", plugins_dir, "--proto-dir", ProtoDir(), scenario},
                              {{"NODE_PATH", node_modules_}}, kScenario);
  }

  static absl::StatusOr<std::string>* modules_;
  std::string node_modules_;
  InteropPlugins plugins_;
};

absl::StatusOr<std::string>* NodeClientTest::modules_ = nullptr;

TEST_F(NodeClientTest, WatchesInspectsUpdatesToCompletedAndDestroysAGroup) {
  absl::StatusOr<ClientRun> run = Run(plugins_.plugins_dir(), "group");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->ok()) << run->Describe();
  const std::string& out = run->stdout_text;
  EXPECT_THAT(out, HasSubstr("loaded 4 protos"));
  EXPECT_THAT(out, HasSubstr("WatchGroup: watching interop"));
  EXPECT_THAT(out, HasSubstr("WatchGroup again: ALREADY_EXISTS"));
  EXPECT_THAT(out, HasSubstr("InspectGroup: 2 members, desired 2, converged"));
  EXPECT_THAT(out, HasSubstr("DescribeUpdate: Performs a rolling update of 2 instances"));
  EXPECT_THAT(out, HasSubstr("COMPLETED (2/2 updated)"));
  EXPECT_THAT(out, HasSubstr("DestroyGroup: 2 destroyed"));
  EXPECT_THAT(out, HasSubstr("InspectGroup after DestroyGroup: NOT_FOUND"));
  EXPECT_THAT(out, HasSubstr("scenario group: ok"));
  EXPECT_THAT(plugins_.Instances(), IsEmpty());
}

TEST_F(NodeClientTest, ProvisionsIdempotentlyWatchesAndDestroysAnInstance) {
  absl::StatusOr<ClientRun> run = Run(plugins_.plugins_dir(), "instance");
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

// The script fails (non-zero, saying why) when an answer is not what it expects, so a passing
// run above means the checks ran: here no group plugin serves the socket it calls.
TEST_F(NodeClientTest, FailsLoudlyWhenAPluginIsMissing) {
  absl::StatusOr<ClientRun> run = Run(plugins_.scratch_dir(), "group");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(run->ok()) << run->Describe();
  EXPECT_THAT(run->stderr_text, HasSubstr("UNAVAILABLE")) << run->Describe();
}

}  // namespace
}  // namespace infrakit::interop
