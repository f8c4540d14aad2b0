// infrakitctl in-process against fake plugins: the original InfraKit's later verbs (group
// commit [--pretend], group free) and YAML input for the verbs that read a config or a spec.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/testing/test_server.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tools/infrakitctl/cli.h"
#include "tools/infrakitctl/exit_codes.h"
#include "tools/infrakitctl/fake_plugins.h"

namespace infrakit::tools::infrakitctl {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::client::testing::TestServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The tutorial's cattle (examples/tutorial/cattle.json) in YAML, at `size` with `note`.
std::string CattleYaml(int size, const std::string& note) {
  return absl::StrCat(R"(ID: cattle
Properties:
  Instance:
    Plugin: instance-file
    Properties:
      Note: )",
                      note, R"(
  Flavor:
    Plugin: flavor-vanilla
    Properties:
      Size: )",
                      size, R"(
      Labels: {tier: web, project: infrakit}
)");
}

// The same in JSON, with the allocation in the original's Allocation object.
std::string CattleJson(int size, const std::string& note) {
  return absl::StrCat(R"({"ID": "cattle", "Properties": {"Allocation": {"Size": )", size, R"(},
      "Instance": {"Plugin": "instance-file", "Properties": {"Note": ")",
                      note, R"("}},
      "Flavor": {"Plugin": "flavor-vanilla",
                 "Properties": {"Labels": {"tier": "web", "project": "infrakit"}}}}})");
}

gv1::UpdateGroupResponse Report(gv1::UpdatePhase phase, const std::string& message, int done) {
  gv1::UpdateGroupResponse r;
  r.set_phase(phase);
  r.set_message(message);
  r.set_updated(done);
  r.set_total(3);
  return r;
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class CliCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto [name, service] : std::vector<std::pair<std::string, grpc::Service*>>{
             {"group", &group_}, {"instance-file", &instance_}, {"flavor-vanilla", &flavor_}}) {
      auto server = TestServer::Start(dir_.Join(name + ".sock"), {service});
      ASSERT_TRUE(server.ok()) << server.status();
      servers_.push_back(*std::move(server));
    }
  }

  Result Run(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"--plugins-dir", dir_.path()});
    std::istringstream in(stdin_text);
    std::ostringstream out;
    std::ostringstream err;
    CliIo io;
    io.in = &in;
    io.out = &out;
    io.err = &err;
    CliEnvironment env;
    env.home = dir_.Join("home");
    Cli cli(io, env);
    Result result;
    result.code = cli.Run(args);
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = dir_.Join(name);
    std::ofstream(path) << text;
    return path;
  }

  infrakit::testing::TempDir dir_;
  testing::FakeGroupService group_;
  testing::FakeInstanceService instance_;
  testing::FakeFlavorService flavor_;
  std::vector<std::unique_ptr<TestServer>> servers_;
};

TEST_F(CliCommitTest, CommitWatchesANewGroupThenUpdatesIt) {
  Result r = Run({"group", "commit", WriteFile("cattle.yaml", CattleYaml(5, "v1"))});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "watching cattle\n");
  EXPECT_THAT(group_.calls(), ElementsAre("WatchGroup"));
  ASSERT_EQ(group_.watched().count("cattle"), 1u);
  EXPECT_EQ(group_.watched().at("cattle").allocation().size(), 5);

  group_.SetUpdateReports({Report(gv1::UPDATE_PHASE_STARTED, "Performs a rolling update", 0),
                           Report(gv1::UPDATE_PHASE_COMPLETED, "updated 3 instances", 3)});
  r = Run({"group", "commit", WriteFile("cattle-v2.json", CattleJson(3, "v2"))});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "cattle: Performs a rolling update (0/3 updated)\n"
            "cattle: updated 3 instances (3/3 updated)\n");
  EXPECT_THAT(group_.calls(), ElementsAre("WatchGroup", "WatchGroup", "UpdateGroup"));
  ASSERT_EQ(group_.updates().size(), 1u);
  EXPECT_EQ(group_.updates()[0].allocation().size(), 3);
  EXPECT_EQ(group_.updates()[0].instance().properties().fields().at("Note").string_value(), "v2");

  // An update that does not complete fails the commit as it fails update.
  group_.SetUpdateReports({Report(gv1::UPDATE_PHASE_STARTED, "started", 0),
                           Report(gv1::UPDATE_PHASE_PAUSED, "instance-9 not healthy", 1)});
  r = Run({"group", "commit"}, CattleYaml(3, "v3"));
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: the update of cattle paused: instance-9"));
}

TEST_F(CliCommitTest, CommitPretendOfAWatchedGroupIsDescribe) {
  ASSERT_EQ(Run({"group", "watch"}, CattleYaml(5, "v1")).code, kExitOk);
  gv1::Plan plan;
  plan.set_summary("Performs a rolling update of 3 instances");
  gv1::PlanStep* step = plan.add_steps();
  step->set_description("replace instance-1 with one on config abc");
  group_.SetPlan(plan);
  const std::string v2 = WriteFile("v2.yml", CattleYaml(3, "v2"));
  Result r = Run({"group", "commit", "--pretend", v2});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Performs a rolling update of 3 instances\n");
  EXPECT_EQ(r.out, Run({"group", "describe", v2}).out);
  r = Run({"group", "commit", "--pretend", "-l", v2});
  EXPECT_EQ(r.out,
            "Performs a rolling update of 3 instances\n"
            "  replace instance-1 with one on config abc\n");
  EXPECT_EQ(r.out, Run({"group", "describe", "-l", v2}).out);
  // Nothing changed.
  EXPECT_TRUE(group_.updates().empty());
  EXPECT_EQ(
      group_.watched().at("cattle").instance().properties().fields().at("Note").string_value(),
      "v1");
}

TEST_F(CliCommitTest, CommitPretendOfANewGroupShowsTheWatch) {
  Result r = Run({"group", "commit", "--pretend", "-l"}, CattleYaml(2, "v1"));
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith("cattle is not watched yet: committing watches it\n"
                                "Adds 2 instances\n"
                                "  add an instance on config "));
  EXPECT_TRUE(group_.watched().empty());

  r = Run({"group", "commit", "--pretend", "-o", "json"},
          R"({"ID": "zk", "Properties": {"Allocation": {"LogicalIDs": ["10.0.0.1"]},
              "Instance": {"Plugin": "instance-file"}, "Flavor": {"Plugin": "flavor-vanilla"}}})");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  gv1::DescribeUpdateResponse json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
  EXPECT_EQ(json.plan().summary(), "Adds 1 instance");
  EXPECT_EQ(json.plan().creates(), 1);
  ASSERT_EQ(json.plan().steps_size(), 1);
  EXPECT_EQ(json.plan().steps(0).action(), gv1::STEP_ACTION_CREATE);
  EXPECT_EQ(json.plan().steps(0).logical_id(), "10.0.0.1");
  EXPECT_EQ(json.plan().config_sha().size(), 28u);  // base64 of a SHA-1
  EXPECT_TRUE(group_.watched().empty());
}

TEST_F(CliCommitTest, FreeIsUnwatch) {
  ASSERT_EQ(Run({"group", "watch"}, CattleYaml(5, "v1")).code, kExitOk);
  Result r = Run({"group", "free", "cattle"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "unwatched cattle (its instances keep running)\n");
  EXPECT_TRUE(group_.watched().empty());
  r = Run({"group", "free", "cattle"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_THAT(r.err, HasSubstr("no group named cattle"));
  EXPECT_EQ(Run({"group", "free"}).code, kExitUsage);
}

TEST_F(CliCommitTest, YamlAndJsonConfigsSendTheSameSpec) {
  ASSERT_EQ(Run({"group", "watch", WriteFile("a.yaml", CattleYaml(5, "v1"))}).code, kExitOk);
  const gv1::GroupSpec from_yaml = group_.watched().at("cattle");
  ASSERT_EQ(Run({"group", "unwatch", "cattle"}).code, kExitOk);
  ASSERT_EQ(Run({"group", "watch"}, CattleJson(5, "v1")).code, kExitOk);
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(from_yaml, group_.watched().at("cattle")));
}

TEST_F(CliCommitTest, YamlErrorsNameTheLineAndColumn) {
  Result r = Run({"group", "commit"}, "ID: cattle\nProperties:\n  Size: [1\n");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: <stdin>: config: not valid YAML: "));
  EXPECT_THAT(r.err, HasSubstr(" at line 4, column 1"));
  EXPECT_TRUE(group_.calls().empty());

  // A .json file is JSON, even when its text is YAML.
  const std::string path = WriteFile("cattle.json", CattleYaml(5, "v1"));
  r = Run({"group", "watch", path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, StartsWith(absl::StrCat("infrakitctl: ", path, ": config: not valid JSON")));

  r = Run({"instance", "provision"}, "Tags:\n  a: 1\n  a: 2\n");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("<stdin>: not valid YAML: duplicate key \"a\" (first at line 2, "
                               "column 3) at line 3, column 3"));
}

TEST_F(CliCommitTest, InstanceAndFlavorVerbsReadYaml) {
  Result r = Run({"instance", "provision", WriteFile("spec.yaml", R"(Properties:
  Note: hand made
Tags: {tier: web}
Init: echo hi
LogicalID: null
)")});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(instance_.provisioned().size(), 1u);
  EXPECT_EQ(instance_.provisioned()[0].tags().at("tier"), "web");
  EXPECT_EQ(instance_.provisioned()[0].init(), "echo hi");
  EXPECT_EQ(instance_.provisioned()[0].properties().fields().at("Note").string_value(),
            "hand made");

  EXPECT_EQ(Run({"instance", "validate"}, "Note: x\n").out, "valid\n");
  r = Run({"instance", "validate"}, "Bad: 1\n");
  EXPECT_EQ(r.err, "infrakitctl: Bad: not a known property\n");

  EXPECT_EQ(Run({"flavor", "validate"}, "Properties: {}\nAllocation: {Size: 3}\n").out, "valid\n");
  r = Run({"flavor", "validate"}, "Allocation:\n  Size: -3\n");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("allocation.size: must be >= 0"));
  r = Run({"flavor", "healthy", WriteFile("h.yml", "Instance: {ID: good}\n")});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "healthy\n");
}

}  // namespace
}  // namespace infrakit::tools::infrakitctl
