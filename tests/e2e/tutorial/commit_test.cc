// The original InfraKit's later verbs end to end, with the tutorial's YAML twins: infrakitctl
// (a separate process) against the real infrakit-group, infrakit-instance-file and
// infrakit-flavor-vanilla. `group commit` watches the new group, then updates it; `--pretend`
// says what either would do and changes nothing; `group free` unwatches. The instances carry
// the config_sha of the JSON twins: YAML and JSON are one config.
#include <map>
#include <string>

#include "client/config/group_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/group_spec.h"
#include "spec/tags.h"
#include "tests/e2e/tutorial/tutorial_env.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/wait_for.h"

namespace infrakit::tests::e2e::tutorial {
namespace {

using ::infrakit::testing::RunfilePath;
using ::infrakit::testing::WaitFor;
using ::testing::SizeIs;
using ::testing::StartsWith;

// The config_sha of an example config file.
std::string ShaOfExample(const std::string& name) {
  auto config = client::config::ParseConfigFile(RunfilePath("examples/tutorial/" + name));
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? spec::ConfigSha(config->spec) : "";
}

// Whether every instance file carries `sha`, and there are `n` of them.
bool AllOn(const std::map<std::string, InstanceFile>& files, size_t n, const std::string& sha) {
  if (files.size() != n) return false;
  for (const auto& [id, f] : files) {
    auto it = f.tags.find(spec::kShaTag);
    if (it == f.tags.end() || it->second != sha) return false;
  }
  return true;
}

class CommitTest : public TutorialEnv {};

TEST_F(CommitTest, CommitWatchesThenUpdatesAndFreeUnwatches) {
  const std::string v1 = RunfilePath("examples/tutorial/cattle.yaml");
  const std::string v2 = RunfilePath("examples/tutorial/cattle-v2.yaml");
  const std::string sha1 = ShaOfExample("cattle.json");
  const std::string sha2 = ShaOfExample("cattle-v2.json");
  ASSERT_NE(sha1, sha2);

  // Pretend, not watched yet: the plan of watching; nothing happens.
  CommandResult r = Ctl({"group", "commit", "--pretend", v1});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "cattle is not watched yet: committing watches it\nAdds 5 instances\n");
  r = Ctl({"group", "inspect", "cattle"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;

  // Commit: watched, five instances on the JSON twin's config.
  r = Ctl({"group", "commit", v1});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "watching cattle\n");
  ASSERT_TRUE(WaitFor([&] { return AllOn(Instances(), 5, sha1); }, kWait)) << Instances().size();
  ASSERT_TRUE(WaitFor(
      [&] {
        CommandResult inspect = Ctl({"group", "inspect", "cattle"});
        return inspect.exit_code == 0 && Lines(inspect.out) == 6;
      },
      kWait));

  // Pretend, watched: what describe says, and nothing changes.
  r = Ctl({"group", "commit", "--pretend", v2});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Ctl({"group", "describe", RunfilePath("examples/tutorial/cattle-v2.json")}).out);
  EXPECT_THAT(r.out, StartsWith("Performs a rolling update of 3 instances"));
  EXPECT_TRUE(AllOn(Instances(), 5, sha1));

  // Commit again: an update, followed until done.
  r = Ctl({"group", "commit", v2});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("cattle: "));
  EXPECT_TRUE(AllOn(Instances(), 3, sha2)) << Instances().size();
  for (const auto& [id, f] : Instances()) {
    EXPECT_EQ(f.note, "Instance properties version 2.0 -- CHANGED") << id;
  }
  EXPECT_EQ(Ctl({"group", "commit", "--pretend", v2}).out, "Noop\n");

  // Free: unwatched, the instances stay.
  r = Ctl({"group", "free", "cattle"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "unwatched cattle (its instances keep running)\n");
  EXPECT_EQ(Ctl({"group", "inspect", "cattle"}).exit_code, 3);
  EXPECT_TRUE(AllOn(Instances(), 3, sha2));

  // Committed again, the group is watched anew and takes its instances back.
  r = Ctl({"group", "commit", v2});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "watching cattle\n");
  ASSERT_TRUE(WaitFor(
      [&] {
        CommandResult inspect = Ctl({"group", "inspect", "cattle"});
        return inspect.exit_code == 0 && Lines(inspect.out) == 4;
      },
      kWait));
  EXPECT_TRUE(AllOn(Instances(), 3, sha2));

  r = Ctl({"group", "destroy", "cattle"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Instances(), SizeIs(0));
}

}  // namespace
}  // namespace infrakit::tests::e2e::tutorial
