// The original InfraKit's Quick Tutorial and its zk.conf section, step by step, with infrakitctl
// run as a separate process against the real infrakit-group, infrakit-instance-file and
// infrakit-flavor-vanilla binaries in a scratch plugins directory. The instances are the files
// in the instance-file directory, read (and removed) as the tutorial does with ls, cat and rm.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/config/group_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/group_spec.h"
#include "spec/tags.h"
#include "tests/e2e/tutorial/tutorial_env.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/wait_for.h"

namespace infrakit::tests::e2e::tutorial {
namespace {

using ::infrakit::testing::RunfilePath;
using ::infrakit::testing::WaitFor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// The init script flavor-vanilla makes of the tutorial's UserData, as in the original's files.
constexpr char kTutorialInit[] =
    "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start";

std::string ShaOf(const std::string& config) {
  auto spec = client::config::ParseGroupConfig(config);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? spec::ConfigSha(*spec) : "";
}

class TutorialTest : public TutorialEnv {
 protected:
  // Runs the Quick Tutorial with the config forms in `v1` and `v2` (the update).
  void QuickTutorial(const std::string& v1, const std::string& v2);
};

// The original InfraKit's table row of a cattle instance carrying `sha`.
std::string TutorialRow(const std::string& sha) {
  return absl::StrCat("instance-[^\t ]+ *\t  -             infrakit.config_sha=", sha,
                      ",infrakit.group=cattle,project=infrakit,tier=web");
}

// The rows of an instance table, checked against the header and a row pattern.
void ExpectTutorialTable(const std::string& table, size_t rows, const std::string& row_pattern) {
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), rows + 1) << table;
  EXPECT_EQ(lines[0], "ID                            \tLOGICAL         TAGS");
  const std::regex row(row_pattern);
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_TRUE(std::regex_match(lines[i], row)) << lines[i] << "\n  vs " << row_pattern;
    // The ID column is 30 wide, as in the original InfraKit.
    EXPECT_EQ(lines[i].find('\t'), 30u) << lines[i];
  }
}

void TutorialTest::QuickTutorial(const std::string& v1, const std::string& v2) {
  const std::string sha1 = ShaOf(v1);
  const std::string sha2 = ShaOf(v2);
  ASSERT_NE(sha1, sha2);

  // Show the plugins.
  CommandResult r = Ctl({"plugin", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string d = plugins_dir();
  EXPECT_EQ(r.out, absl::StrCat("Plugins:\n"
                                "NAME                \tLISTEN\n"
                                "flavor-vanilla      \tunix://",
                                d, "/flavor-vanilla.sock\n", "group               \tunix://", d,
                                "/group.sock\n", "instance-file       \tunix://", d,
                                "/instance-file.sock\n"));

  // Nothing yet.
  r = Ctl({"instance", "--name", "instance-file", "describe"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ID                            \tLOGICAL         TAGS\n");

  // Watch the group, the config on stdin as in the heredoc.
  r = Ctl({"group", "--name", "group", "watch"}, v1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "watching cattle\n");

  // Five instances appear, with the tutorial's tags, note and init script.
  ASSERT_TRUE(WaitFor([&] { return Instances().size() == 5; }, kWait)) << Instances().size();
  for (const auto& [id, f] : Instances()) {
    EXPECT_THAT(f.tags,
                ElementsAre(std::pair<const std::string, std::string>(spec::kShaTag, sha1),
                            std::pair<const std::string, std::string>(spec::kGroupTag, "cattle"),
                            std::pair<const std::string, std::string>("project", "infrakit"),
                            std::pair<const std::string, std::string>("tier", "web")))
        << id;
    EXPECT_EQ(f.note, "Instance properties version 1.0") << id;
    EXPECT_EQ(f.init, kTutorialInit) << id;
  }

  // The group shows them in the original InfraKit's table, and so does the instance plugin.
  ASSERT_TRUE(WaitFor(
      [&] {
        CommandResult inspect = Ctl({"group", "--name", "group", "inspect", "cattle"});
        return inspect.exit_code == 0 && Lines(inspect.out) == 6;
      },
      kWait));
  r = Ctl({"group", "--name", "group", "inspect", "cattle"});
  ExpectTutorialTable(r.out, 5, TutorialRow(sha1));
  r = Ctl({"instance", "--name", "instance-file", "describe"});
  ExpectTutorialTable(r.out, 5, TutorialRow(sha1));

  // Describing the same config: nothing to do.
  const std::string v1_file = dir_.Join("v1.json");
  std::ofstream(v1_file) << v1;
  r = Ctl({"group", "--name", "group", "describe", v1_file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Noop\n");

  // The update: shows a plan, then blocks until done.
  r = Ctl({"group", "--name", "group", "describe"}, v2);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out, "Noop\n");
  r = Ctl({"group", "--name", "group", "update"}, v2);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  // Done means done: three instances, all on the new config.
  std::map<std::string, InstanceFile> files = Instances();
  ASSERT_THAT(files, SizeIs(3));
  for (const auto& [id, f] : files) {
    EXPECT_EQ(f.tags.at(spec::kShaTag), sha2) << id;
    EXPECT_EQ(f.note, "Instance properties version 2.0 -- CHANGED") << id;
    EXPECT_EQ(f.init, kTutorialInit) << id;
  }
  r = Ctl({"group", "--name", "group", "inspect", "cattle"});
  ExpectTutorialTable(r.out, 3, TutorialRow(sha2));

  // Kill an instance by hand: the group replaces it.
  const std::string removed = files.begin()->first;
  ASSERT_EQ(unlink((instances_dir() + "/" + removed).c_str()), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::map<std::string, InstanceFile> now = Instances();
        return now.size() == 3 && now.count(removed) == 0;
      },
      kWait))
      << Instances().size();
  for (const auto& [id, f] : Instances()) EXPECT_EQ(f.tags.at(spec::kShaTag), sha2) << id;

  // Destroy: no instances left, and no group.
  r = Ctl({"group", "--name", "group", "destroy", "cattle"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Instances(), SizeIs(0));
  r = Ctl({"group", "--name", "group", "inspect", "cattle"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
}

TEST_F(TutorialTest, QuickTutorialNestedForm) {
  QuickTutorial(Example("cattle.json"), Example("cattle-v2.json"));
}

TEST_F(TutorialTest, QuickTutorialFlatForm) {
  QuickTutorial(Example("cattle-flat.json"), Example("cattle-flat-v2.json"));
}

// The original InfraKit's "Create, update, and destroy a Group" with zk.conf: pets at fixed IPs,
// the group plugin named by the config's "plugin" (no --name), instance-file standing in for
// vagrant and flavor-vanilla for zookeeper.
TEST_F(TutorialTest, ZkConfLowerCaseForm) {
  const std::string zk = RunfilePath("examples/tutorial/zk.conf");
  const std::string zk_cpu = RunfilePath("examples/tutorial/zk-cpu.conf");
  CommandResult r = Ctl({"group", "watch", zk});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "watching zk\n");

  const std::set<std::string> ips = {"192.168.0.4", "192.168.0.5", "192.168.0.6"};
  ASSERT_TRUE(WaitFor([&] { return Instances().size() == 3; }, kWait));
  std::set<std::string> seen;
  for (const auto& [id, f] : Instances()) {
    EXPECT_EQ(f.tags.at(spec::kGroupTag), "zk");
    seen.insert(f.tags.at(spec::kLogicalIdTag));
  }
  EXPECT_EQ(seen, ips);

  ASSERT_TRUE(WaitFor(
      [&] {
        CommandResult inspect = Ctl({"group", "inspect", "zk"});
        return inspect.exit_code == 0 && Lines(inspect.out) == 4;
      },
      kWait));
  r = Ctl({"group", "--name", "group", "inspect", "zk"});
  ExpectTutorialTable(r.out, 3,
                      "instance-[^\t ]+ *\t192\\.168\\.0\\.[456]     infrakit\\.config_sha=[^,]+,"
                      "infrakit\\.group=zk,infrakit\\.logical_id=192\\.168\\.0\\.[456]");

  r = Ctl({"group", "--name", "group", "describe", zk});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Noop\n");

  r = Ctl({"group", "--name", "group", "describe", zk_cpu});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Performs a rolling update of 3 instances\n");

  r = Ctl({"group", "--name", "group", "update", zk_cpu});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::map<std::string, InstanceFile> files = Instances();
  ASSERT_THAT(files, SizeIs(3));
  seen.clear();
  for (const auto& [id, f] : files) {
    EXPECT_EQ(f.cpu, 2) << id;
    EXPECT_EQ(f.tags.at(spec::kShaTag), ShaOf(Example("zk-cpu.conf"))) << id;
    seen.insert(f.tags.at(spec::kLogicalIdTag));
  }
  EXPECT_EQ(seen, ips);
  EXPECT_EQ(Ctl({"group", "describe", zk_cpu}).out, "Noop\n");

  r = Ctl({"group", "--name", "group", "destroy", "zk"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Instances(), SizeIs(0));
}

// `group events` follows the group until Ctrl-C, which ends it cleanly (exit 0): the CLI's
// signal thread hands SIGINT to the running stream.
TEST_F(TutorialTest, EventsFollowTheGroupUntilCtrlC) {
  CommandResult r = Ctl({"group", "watch"}, Example("cattle.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  infrakit::testing::PluginProcess events(kCtl, {"group", "events", "cattle"}, dir_.path());
  events.SetEnv("INFRAKIT_PLUGINS_DIR", plugins_dir());
  ASSERT_TRUE(events.Start().ok());
  // The stream's start is not observable from here: grow the group until an instance created
  // after it shows up in the stream.
  int size = 5;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (events.Stdout().find("CREATED") != std::string::npos || events.Exited()) return true;
        Ctl({"group", "scale", "cattle", std::to_string(++size)});
        return false;
      },
      kWait, absl::Milliseconds(200)))
      << events.Stderr();
  ASSERT_FALSE(events.Exited()) << events.Stderr();
  EXPECT_THAT(events.Stdout(), ::testing::ContainsRegex("  CREATED +instance-"));
  ASSERT_TRUE(events.Signal(SIGINT).ok());
  absl::StatusOr<int> status = events.Wait(kWait);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << infrakit::testing::DescribeExit(*status) << events.Stderr();
  EXPECT_EQ(events.Stderr(), "");
}

}  // namespace
}  // namespace infrakit::tests::e2e::tutorial
