// infrakitctl in-process: the Cli against fake plugins on real unix sockets.
#include "tools/infrakitctl/cli.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/testing/test_server.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/runtime/plugin_info_service.h"
#include "spec/tags.h"
#include "tests/testing/temp_dir.h"
#include "tools/infrakitctl/exit_codes.h"
#include "tools/infrakitctl/fake_plugins.h"

namespace infrakit::tools::infrakitctl {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;
using ::infrakit::client::testing::TestServer;
using ::infrakit::services::runtime::PluginInfoService;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// The original InfraKit tutorial's cattle, in its flat form (the heredoc of `group watch`).
constexpr char kFlatCattle[] = R"({
    "ID": "cattle",
    "Properties": {
        "InstancePlugin": "instance-file",
        "InstancePluginProperties": {
            "Note": "Instance properties version 1.0"
        },
        "FlavorPlugin": "flavor-vanilla",
        "FlavorPluginProperties": {
            "Size" : 5,

            "UserData" : [
                "sudo apt-get update -y",
                "sudo apt-get install -y nginx",
                "sudo service nginx start"
            ],

            "Labels" : {
                "tier" : "web",
                "project" : "infrakit"
            }
        }
    }
})";

// The original tutorial's zk.conf, naming its group plugin in "plugin".
std::string ZkConf(const std::string& plugin) {
  return absl::StrCat(R"({
  "id": "zk",
  "plugin": ")",
                      plugin, R"(",
  "properties": {
    "ips": ["192.168.0.4", "192.168.0.5", "192.168.0.6"],
    "instance": {"plugin": "instance-file"},
    "flavor": {"plugin": "flavor-vanilla"}
  }
})");
}

infrakit::plugin::v1::InfoResponse Info(const std::string& name,
                                        infrakit::plugin::v1::PluginKind kind) {
  infrakit::plugin::v1::InfoResponse info;
  info.set_name(name);
  info.set_kind(kind);
  info.set_version("abc1234");
  return info;
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    group_info_ =
        std::make_unique<PluginInfoService>(Info("group", infrakit::plugin::v1::PLUGIN_KIND_GROUP));
    other_info_ = std::make_unique<PluginInfoService>(
        Info("other-group", infrakit::plugin::v1::PLUGIN_KIND_GROUP));
    instance_info_ = std::make_unique<PluginInfoService>(
        Info("instance-file", infrakit::plugin::v1::PLUGIN_KIND_INSTANCE));
    flavor_info_ = std::make_unique<PluginInfoService>(
        Info("flavor-vanilla", infrakit::plugin::v1::PLUGIN_KIND_FLAVOR));
    group_server_ = Serve("group", {&group_, group_info_.get()});
    other_server_ = Serve("other-group", {&other_group_, other_info_.get()});
    instance_server_ = Serve("instance-file", {&instance_, instance_info_.get()});
    flavor_server_ = Serve("flavor-vanilla", {&flavor_, flavor_info_.get()});
  }

  std::unique_ptr<TestServer> Serve(const std::string& name, std::vector<grpc::Service*> services) {
    auto server = TestServer::Start(dir_.Join(name + ".sock"), std::move(services));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  CliEnvironment Env() {
    CliEnvironment env;
    env.home = dir_.Join("home");
    return env;
  }

  // Runs infrakitctl with `args` (the plugins dir prepended) and `stdin_text` on stdin.
  Result Run(std::vector<std::string> args, const std::string& stdin_text = "",
             bool terminal = false) {
    args.insert(args.begin(), {"--plugins-dir", dir_.path()});
    std::istringstream in(stdin_text);
    std::ostringstream out;
    std::ostringstream err;
    CliIo io;
    io.in = &in;
    io.out = &out;
    io.err = &err;
    io.out_is_terminal = terminal;
    Cli cli(io, Env());
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

  void Watch(const std::string& config = kFlatCattle) {
    Result r = Run({"group", "watch"}, config);
    ASSERT_EQ(r.code, kExitOk) << r.err;
  }

  infrakit::testing::TempDir dir_;
  testing::FakeGroupService group_;
  testing::FakeGroupService other_group_;
  testing::FakeInstanceService instance_;
  testing::FakeFlavorService flavor_;
  std::unique_ptr<PluginInfoService> group_info_, other_info_, instance_info_, flavor_info_;
  std::unique_ptr<TestServer> group_server_, other_server_, instance_server_, flavor_server_;
};

std::vector<iv1::Description> TutorialInstances() {
  std::vector<iv1::Description> instances;
  for (const char* id : {"instance-1475045378", "instance-1475045388"}) {
    iv1::Description d;
    d.set_id(id);
    (*d.mutable_tags())[spec::kShaTag] = "Y23cKqyRpkQ_M60vIq7CufFmQWk=";
    (*d.mutable_tags())[spec::kGroupTag] = "cattle";
    (*d.mutable_tags())["project"] = "infrakit";
    (*d.mutable_tags())["tier"] = "web";
    (*d.mutable_spec()->mutable_properties()->mutable_fields())["Note"].set_string_value("v1");
    instances.push_back(d);
  }
  return instances;
}

std::vector<gv1::Member> TutorialMembers() {
  std::vector<gv1::Member> members;
  for (const iv1::Description& d : TutorialInstances()) {
    gv1::Member m;
    m.set_id(d.id());
    *m.mutable_tags() = d.tags();
    members.push_back(m);
  }
  return members;
}

TEST_F(CliTest, TheCommandTableIsConsistent) {
  EXPECT_TRUE(BuildCommandTable().Validate().ok()) << BuildCommandTable().Validate();
}

TEST_F(CliTest, PluginLsPrintsTheOriginalTable) {
  Result r = Run({"plugin", "ls"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const std::string d = dir_.path();
  EXPECT_EQ(r.out, absl::StrCat("Plugins:\n"
                                "NAME                \tLISTEN\n"
                                "flavor-vanilla      \tunix://",
                                d, "/flavor-vanilla.sock\n", "group               \tunix://", d,
                                "/group.sock\n", "instance-file       \tunix://", d,
                                "/instance-file.sock\n", "other-group         \tunix://", d,
                                "/other-group.sock\n"));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(CliTest, PluginLsLongQuietAndJson) {
  Result r = Run({"plugin", "ls", "-l"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("instance \trunning \tabc1234"));
  EXPECT_THAT(r.out, HasSubstr("group    \trunning"));

  r = Run({"plugin", "ls", "-q"});
  EXPECT_EQ(r.out, "flavor-vanilla\ngroup\ninstance-file\nother-group\n");

  r = Run({"plugin", "ls", "--output", "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  google::protobuf::ListValue json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
  EXPECT_EQ(json.values_size(), 4);
}

TEST_F(CliTest, WatchFromStdinPrintsWatching) {
  Result r = Run({"group", "--name", "group", "watch"}, kFlatCattle);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "watching cattle\n");
  auto watched = group_.watched();
  ASSERT_EQ(watched.count("cattle"), 1u);
  EXPECT_EQ(watched["cattle"].instance().plugin(), "instance-file");
  EXPECT_EQ(watched["cattle"].flavor().plugin(), "flavor-vanilla");
  EXPECT_EQ(watched["cattle"].allocation().size(), 5);
}

TEST_F(CliTest, WatchReadsAFileOrDash) {
  const std::string path = WriteFile("cattle.json", kFlatCattle);
  EXPECT_EQ(Run({"group", "watch", path}).out, "watching cattle\n");
  EXPECT_EQ(Run({"group", "unwatch", "cattle"}).code, kExitOk);
  EXPECT_EQ(Run({"group", "watch", "-"}, kFlatCattle).out, "watching cattle\n");
}

TEST_F(CliTest, TheConfigsPluginPicksTheGroupPluginUnlessNameIsGiven) {
  Result r = Run({"group", "watch"}, ZkConf("other-group"));
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(other_group_.watched().count("zk"), 1u);
  EXPECT_EQ(group_.watched().count("zk"), 0u);

  r = Run({"group", "watch", "--name", "group"}, ZkConf("other-group"));
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(group_.watched().count("zk"), 1u);
  const gv1::GroupSpec spec = group_.watched()["zk"];
  ASSERT_EQ(spec.allocation().logical_ids().ids_size(), 3);
  EXPECT_EQ(spec.allocation().logical_ids().ids(0), "192.168.0.4");
}

TEST_F(CliTest, InspectPrintsTheOriginalTableAndJson) {
  Watch();
  group_.SetMembers(TutorialMembers());
  Result r = Run({"group", "--name", "group", "inspect", "cattle"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "ID                            \tLOGICAL         TAGS\n"
            "instance-1475045378           \t  -             "
            "infrakit.config_sha=Y23cKqyRpkQ_M60vIq7CufFmQWk=,infrakit.group=cattle,"
            "project=infrakit,tier=web\n"
            "instance-1475045388           \t  -             "
            "infrakit.config_sha=Y23cKqyRpkQ_M60vIq7CufFmQWk=,infrakit.group=cattle,"
            "project=infrakit,tier=web\n");

  r = Run({"group", "inspect", "cattle", "--long"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("HEALTH"));
  EXPECT_THAT(r.out, EndsWith("cattle: 2 desired, 2 actual, 0 healthy, 0 outdated; converged\n"));

  r = Run({"group", "inspect", "cattle", "-o", "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  gv1::InspectGroupResponse json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
  EXPECT_EQ(json.members_size(), 2);
  EXPECT_EQ(json.spec().id(), "cattle");
}

TEST_F(CliTest, DescribePrintsThePlan) {
  Watch();
  Result r = Run({"group", "describe"}, kFlatCattle);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Noop\n");

  gv1::Plan plan;
  plan.set_summary("Performs a rolling update of 3 instances");
  plan.add_steps()->set_description("replace instance-1");
  group_.SetPlan(plan);
  EXPECT_EQ(Run({"group", "describe"}, kFlatCattle).out,
            "Performs a rolling update of 3 instances\n");
  EXPECT_EQ(Run({"group", "describe", "-v"}, kFlatCattle).out,
            "Performs a rolling update of 3 instances\n  replace instance-1\n");
  EXPECT_THAT(Run({"group", "describe", "-o", "json"}, kFlatCattle).out,
              HasSubstr("\"summary\": \"Performs a rolling update of 3 instances\""));
}

gv1::UpdateGroupResponse Report(gv1::UpdatePhase phase, const std::string& message, int updated,
                                int total) {
  gv1::UpdateGroupResponse r;
  r.set_phase(phase);
  r.set_message(message);
  r.set_updated(updated);
  r.set_total(total);
  return r;
}

TEST_F(CliTest, UpdateShowsProgressAndSucceedsWhenCompleted) {
  Watch();
  group_.SetUpdateReports(
      {Report(gv1::UPDATE_PHASE_STARTED, "Performs a rolling update of 3 instances", 0, 3),
       Report(gv1::UPDATE_PHASE_PROGRESS, "replaced instance-1", 1, 3),
       Report(gv1::UPDATE_PHASE_COMPLETED, "updated 3 instances", 3, 3)});
  Result r = Run({"group", "update"}, kFlatCattle);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "cattle: Performs a rolling update of 3 instances (0/3 updated)\n"
            "cattle: replaced instance-1 (1/3 updated)\n"
            "cattle: updated 3 instances (3/3 updated)\n");
  ASSERT_EQ(group_.updates().size(), 1u);

  // On a terminal: one line, rewritten.
  r = Run({"group", "update"}, kFlatCattle, /*terminal=*/true);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "\r\033[Kcattle: Performs a rolling update of 3 instances (0/3 updated)"
            "\r\033[Kcattle: replaced instance-1 (1/3 updated)"
            "\r\033[Kcattle: updated 3 instances (3/3 updated)\n");

  // JSON: one report per line.
  r = Run({"group", "update", "-o", "json"}, kFlatCattle);
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r.out;
  gv1::UpdateGroupResponse last;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[2], &last).ok());
  EXPECT_EQ(last.phase(), gv1::UPDATE_PHASE_COMPLETED);
}

TEST_F(CliTest, UpdateFailsWhenItDoesNotComplete) {
  Watch();
  struct Case {
    gv1::UpdatePhase phase;
    std::string said;
  };
  for (const Case& c : std::vector<Case>{
           {gv1::UPDATE_PHASE_PAUSED, "the update of cattle paused: instance-9 not healthy"},
           {gv1::UPDATE_PHASE_ROLLED_BACK,
            "the update of cattle rolled back: instance-9 not healthy; the group is back"},
           {gv1::UPDATE_PHASE_STOPPED, "the update of cattle stopped"},
           {gv1::UPDATE_PHASE_SUPERSEDED, "the update of cattle superseded"}}) {
    group_.SetUpdateReports({Report(gv1::UPDATE_PHASE_STARTED, "started", 0, 3),
                             Report(c.phase, "instance-9 not healthy", 1, 3)});
    Result r = Run({"group", "update"}, kFlatCattle);
    EXPECT_EQ(r.code, kExitFailure) << c.said;
    EXPECT_THAT(r.err, StartsWith("infrakitctl: " + c.said));
  }
  // A stream that ends without a final phase.
  group_.SetUpdateReports({Report(gv1::UPDATE_PHASE_STARTED, "started", 0, 3)});
  Result r = Run({"group", "update"}, kFlatCattle);
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("ended before the update finished"));
}

TEST_F(CliTest, UpdateFollowsARollbackToItsEnd) {
  Watch();
  group_.SetUpdateReports(
      {Report(gv1::UPDATE_PHASE_STARTED, "Performs a rolling update of 3 instances", 0, 3),
       Report(gv1::UPDATE_PHASE_PROGRESS, "created instance-9", 0, 3),
       Report(gv1::UPDATE_PHASE_ROLLING_BACK,
              "instance-9 was not healthy within 300s; rolling back to the previous config", 0, 3),
       Report(gv1::UPDATE_PHASE_PROGRESS, "destroyed instance-9 (rollback)", 0, 3),
       Report(gv1::UPDATE_PHASE_ROLLED_BACK, "back on config T6cmOAwp", 0, 3)});
  Result r = Run({"group", "update"}, kFlatCattle);
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.out,
            "cattle: Performs a rolling update of 3 instances (0/3 updated)\n"
            "cattle: created instance-9 (0/3 updated)\n"
            "cattle: instance-9 was not healthy within 300s; rolling back to the previous config "
            "(0/3 updated)\n"
            "cattle: destroyed instance-9 (rollback) (0/3 updated)\n"
            "cattle: back on config T6cmOAwp (0/3 updated)\n");
  EXPECT_THAT(r.err, StartsWith("infrakitctl: the update of cattle rolled back: back on config "
                                "T6cmOAwp; the group is back on its previous config"));

  // Without a message the phase names itself; a rollback that fails too ends paused.
  group_.SetUpdateReports({Report(gv1::UPDATE_PHASE_STARTED, "started", 0, 3),
                           Report(gv1::UPDATE_PHASE_ROLLING_BACK, "", 1, 3),
                           Report(gv1::UPDATE_PHASE_PAUSED, "rollback failed", 1, 3)});
  r = Run({"group", "update"}, kFlatCattle);
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, HasSubstr("cattle: rolling back (1/3 updated)\n"));
  EXPECT_THAT(r.err, StartsWith("infrakitctl: the update of cattle paused: rollback failed"));

  // A stream that ends while rolling back has not finished.
  group_.SetUpdateReports({Report(gv1::UPDATE_PHASE_STARTED, "started", 0, 3),
                           Report(gv1::UPDATE_PHASE_ROLLING_BACK, "rolling back", 0, 3)});
  r = Run({"group", "update"}, kFlatCattle);
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("ended before the update finished"));
}

TEST_F(CliTest, UnknownGroupIsNotFound) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"group", "inspect", "nope"},
                                             {"group", "destroy", "nope"},
                                             {"group", "stop", "nope"},
                                             {"group", "unwatch", "nope"},
                                             {"group", "scale", "nope", "3"},
                                             {"group", "events", "nope"}}) {
    Result r = Run(args);
    EXPECT_EQ(r.code, kExitNotFound) << args[1];
    EXPECT_EQ(
        r.err,
        "infrakitctl: no group named nope ('infrakitctl group ls' lists the watched groups)\n")
        << args[1];
    EXPECT_THAT(r.out, IsEmpty());
  }
  Result r = Run({"group", "--name", "other-group", "inspect", "nope"});
  EXPECT_THAT(r.err, HasSubstr("'infrakitctl group ls --name other-group'"));
  // With a config, NOT_FOUND may name a plugin of the config: the plugin's message alone.
  r = Run({"group", "describe"}, kFlatCattle);
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_EQ(r.err, "infrakitctl: no group named cattle\n");
}

TEST_F(CliTest, NoSuchPluginIsNotFound) {
  Result r = Run({"group", "--name", "nosuch", "inspect", "cattle"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_THAT(r.err,
              StartsWith(absl::StrCat("infrakitctl: no plugin named nosuch in ", dir_.path())));
  EXPECT_THAT(r.err, HasSubstr("--plugins-dir"));
  // A bundled plugin's name gets the command that starts it.
  instance_server_.reset();
  unlink(dir_.Join("instance-file.sock").c_str());
  r = Run({"instance", "describe"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_THAT(r.err, HasSubstr("no plugin named instance-file"));
  EXPECT_THAT(r.err, HasSubstr("'infrakitctl plugin start instance-file'"));
}

TEST_F(CliTest, AStaleSocketIsUnavailable) {
  // A socket file nobody listens on: what a crashed plugin leaves behind.
  const std::string path = dir_.Join("crashed.sock");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);

  Result r = Run({"group", "--name", "crashed", "ls"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: plugin crashed at "));
  EXPECT_THAT(r.err, HasSubstr("does not answer"));
  EXPECT_THAT(r.err, HasSubstr("stopped or crashed"));
  r = Run({"plugin", "ls", "--long"});
  EXPECT_THAT(r.out, HasSubstr("stale"));
}

TEST_F(CliTest, APluginThatDoesNotAnswerInTimeIsUnavailable) {
  Watch();
  Result r = Run({"group", "inspect", "slow", "--timeout", "200ms"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: plugin group did not answer within 200ms"));
}

TEST_F(CliTest, APluginOfAnotherKindIsExplained) {
  Result r = Run({"group", "--name", "instance-file", "ls"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("plugin instance-file does not serve "
                               "infrakit.group.v1.GroupService"));
}

TEST_F(CliTest, BadJsonNamesThePosition) {
  Result r = Run({"group", "watch"}, "{\n  \"ID\": \"cattle\",\n  \"Properties\": {,}\n}");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: <stdin>: config: not valid JSON: "));
  EXPECT_THAT(r.err, HasSubstr("at line 3, column 18"));
  EXPECT_TRUE(group_.calls().empty());

  const std::string path = WriteFile("bad.json", R"({"ID": "cattle", "Properties": {"Size": -1,
      "Instance": {"Plugin": "instance-file"}, "Flavor": {"Plugin": "flavor-vanilla"}}})");
  r = Run({"group", "describe", path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, StartsWith(absl::StrCat("infrakitctl: ", path, ": Properties.Size")));

  r = Run({"instance", "provision"}, "{\"Tags\": [1]");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("<stdin>: not valid JSON"));
}

TEST_F(CliTest, AMissingFileIsAUsageError) {
  Result r = Run({"group", "watch", dir_.Join("nope.json")});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, absl::StrCat("infrakitctl: cannot read ", dir_.Join("nope.json"),
                                ": No such file or directory\n"));
}

TEST_F(CliTest, ListScaleDestroyInstancesAndDestroy) {
  Watch();
  group_.SetMembers(TutorialMembers());
  EXPECT_EQ(Run({"group", "ls", "-q"}).out, "cattle\n");
  EXPECT_THAT(Run({"group", "ls"}).out, HasSubstr("cattle                        \t2"));

  Result r = Run({"group", "scale", "cattle", "3"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "cattle: size 5 -> 3\n");
  r = Run({"group", "scale", "cattle", "three"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("the size must be a whole number >= 0, got \"three\""));

  r = Run({"group", "destroy-instances", "cattle", "instance-1475045378"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "destroyed instance-1475045378; cattle now has size 1\n");
  r = Run({"group", "destroy-instances", "cattle", "instance-nope"});
  EXPECT_EQ(r.code, kExitNotFound);

  r = Run({"group", "stop", "cattle"});
  EXPECT_EQ(r.out, "stopped the update of cattle\n");
  r = Run({"group", "--name", "group", "destroy", "cattle"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "destroyed cattle (2 instances)\n");
  EXPECT_EQ(Run({"group", "inspect", "cattle"}).code, kExitNotFound);
}

TEST_F(CliTest, StopWithNoUpdateRunningHasNothingToStop) {
  Watch();
  // What the group service answers when no update runs.
  group_.SetStopStatus(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                    "group \"cattle\" has no update in progress"));
  Result r = Run({"group", "stop", "cattle"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "cattle: no update in progress; nothing to stop\n");
  EXPECT_THAT(r.err, IsEmpty());
  r = Run({"group", "stop", "cattle", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "{}\n");

  // Another refusal of the same code is still a failure, in the plugin's words.
  group_.SetStopStatus(
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "group \"cattle\" is being destroyed"));
  r = Run({"group", "stop", "cattle"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err, "infrakitctl: group \"cattle\" is being destroyed\n");
  EXPECT_THAT(r.out, IsEmpty());
  // And an unknown group is still not found.
  group_.SetStopStatus(grpc::Status::OK);
  r = Run({"group", "stop", "nope"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_THAT(r.out, IsEmpty());
}

gv1::GroupEvent Event(gv1::GroupEventType type, const std::string& instance) {
  gv1::GroupEvent e;
  e.set_type(type);
  e.set_group("cattle");
  e.set_instance_id(instance);
  e.set_message(absl::StrCat("about ", instance));
  return e;
}

TEST_F(CliTest, EventsFollowsTheStreamUntilItEnds) {
  Watch();
  group_.SetEvents({Event(gv1::GROUP_EVENT_TYPE_CREATED, "instance-1"),
                    Event(gv1::GROUP_EVENT_TYPE_DESTROYED, "instance-2")},
                   /*hold=*/false);
  Result r = Run({"group", "events", "cattle"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[0], HasSubstr("CREATED       instance-1"));
  EXPECT_THAT(lines[1], HasSubstr("DESTROYED     instance-2"));
  EXPECT_EQ(lines[2], "the event stream of cattle ended (the group was destroyed)");

  r = Run({"group", "events", "cattle", "-o", "json"});
  lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.out;
  gv1::GroupEvent event;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &event).ok());
  EXPECT_EQ(event.instance_id(), "instance-1");
}

TEST_F(CliTest, CtrlCEndsEventsCleanly) {
  Watch();
  group_.SetEvents({Event(gv1::GROUP_EVENT_TYPE_CREATED, "instance-1")}, /*hold=*/true);
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  CliIo io;
  io.in = &in;
  io.out = &out;
  io.err = &err;
  Cli cli(io, Env());
  int code = -1;
  std::thread runner([&] {
    code = cli.Run({"--plugins-dir", dir_.path(), "group", "events", "cattle"});
  });
  ASSERT_TRUE(group_.events_sent().WaitForNotificationWithTimeout(absl::Seconds(30)));
  // The command registers for signals before it opens the stream, so this is never lost.
  EXPECT_TRUE(cli.Interrupt(SIGINT));
  runner.join();
  EXPECT_EQ(code, kExitOk) << err.str();
  EXPECT_THAT(err.str(), IsEmpty());
  // Nothing runs any more: a signal now is the caller's to handle.
  EXPECT_FALSE(cli.Interrupt(SIGINT));
}

TEST_F(CliTest, CtrlCStopsFollowingAnUpdateButNotTheUpdate) {
  Watch();
  group_.SetUpdateReports({Report(gv1::UPDATE_PHASE_STARTED, "started", 0, 3)}, /*hold=*/true);
  std::istringstream in(kFlatCattle);
  std::ostringstream out;
  std::ostringstream err;
  CliIo io;
  io.in = &in;
  io.out = &out;
  io.err = &err;
  Cli cli(io, Env());
  int code = -1;
  std::thread runner([&] { code = cli.Run({"--plugins-dir", dir_.path(), "group", "update"}); });
  ASSERT_TRUE(group_.reports_sent().WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(cli.Interrupt(SIGINT));
  runner.join();
  EXPECT_EQ(code, kExitInterrupted);
  EXPECT_THAT(err.str(), StartsWith("infrakitctl: stopped following the update of cattle; the "
                                    "update goes on"));
  EXPECT_THAT(err.str(), HasSubstr("'infrakitctl group stop cattle' stops it"));
  // Only listening stopped: no StopUpdate was sent.
  for (const std::string& call : group_.calls()) EXPECT_NE(call, "StopUpdate");
}

TEST_F(CliTest, InstanceDescribeLikeTheOriginal) {
  EXPECT_EQ(Run({"instance", "--name", "instance-file", "describe"}).out,
            "ID                            \tLOGICAL         TAGS\n");
  instance_.SetInstances(TutorialInstances());
  Result r = Run({"instance", "--name", "instance-file", "describe"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "ID                            \tLOGICAL         TAGS\n"
            "instance-1475045378           \t  -             "
            "infrakit.config_sha=Y23cKqyRpkQ_M60vIq7CufFmQWk=,infrakit.group=cattle,"
            "project=infrakit,tier=web\n"
            "instance-1475045388           \t  -             "
            "infrakit.config_sha=Y23cKqyRpkQ_M60vIq7CufFmQWk=,infrakit.group=cattle,"
            "project=infrakit,tier=web\n");
  EXPECT_FALSE(instance_.describes().back().include_properties());
}

// The fakes answer two items per page: the listings follow every page and print one table
// (one header), the JSON one document with every item.
TEST_F(CliTest, ListingsFollowThePagesIntoOneTable) {
  std::vector<iv1::Description> instances;
  for (int i = 5; i >= 1; --i) {
    iv1::Description d;
    d.set_id(absl::StrCat("instance-", i));
    instances.push_back(d);
  }
  instance_.SetInstances(instances);
  Result r = Run({"instance", "describe", "-q"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "instance-1\ninstance-2\ninstance-3\ninstance-4\ninstance-5\n");
  ASSERT_EQ(instance_.describes().size(), 3u);
  EXPECT_EQ(instance_.describes()[0].page_token(), "");
  EXPECT_NE(instance_.describes()[2].page_token(), "");
  r = Run({"instance", "describe"});
  EXPECT_THAT(r.out, StartsWith("ID "));
  EXPECT_EQ(r.out.find("ID ", 1), std::string::npos) << "a second header: " << r.out;
  EXPECT_THAT(r.out, EndsWith("instance-5                    \t  -             \n"));
  r = Run({"instance", "describe", "-o", "json"});
  iv1::DescribeResponse described;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &described).ok()) << r.out;
  EXPECT_EQ(described.instances_size(), 5);
  EXPECT_EQ(described.next_page_token(), "");

  for (const char* id : {"cattle", "beta", "alpha"}) {
    Watch(absl::StrReplaceAll(kFlatCattle, {{"\"cattle\"", absl::StrCat("\"", id, "\"")}}));
  }
  EXPECT_EQ(Run({"group", "ls", "-q"}).out, "alpha\nbeta\ncattle\n");
  r = Run({"group", "ls"});
  EXPECT_THAT(r.out, StartsWith("ID "));
  EXPECT_THAT(r.out, EndsWith("converged\n"));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << r.out;

  std::vector<gv1::Member> members = TutorialMembers();
  members.push_back(members[0]);
  members.back().set_id("instance-1475045398");
  group_.SetMembers(members);
  r = Run({"group", "inspect", "cattle", "--long"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5) << r.out;
  EXPECT_THAT(r.out, HasSubstr("instance-1475045398"));
  EXPECT_THAT(r.out, EndsWith("cattle: 3 desired, 3 actual, 0 healthy, 0 outdated; converged\n"));
}

TEST_F(CliTest, InstanceDescribeTagsPropertiesQuietJson) {
  instance_.SetInstances(TutorialInstances());
  Result r = Run({"instance", "describe", "--tags", "tier=web,infrakit.group=cattle", "-q"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "instance-1475045378\ninstance-1475045388\n");
  const iv1::DescribeRequest sent = instance_.describes().back();
  EXPECT_EQ(sent.tags().size(), 2u);
  EXPECT_EQ(sent.tags().at("tier"), "web");

  r = Run({"instance", "describe", "--properties"});
  EXPECT_THAT(r.out, HasSubstr("\t{\"Note\":\"v1\"}\n"));
  EXPECT_TRUE(instance_.describes().back().include_properties());

  r = Run({"instance", "describe", "--tags", "tier"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--tags takes key=value pairs"));

  r = Run({"instance", "describe", "--output=json"});
  iv1::DescribeResponse json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
  EXPECT_EQ(json.instances_size(), 2);
}

TEST_F(CliTest, InstanceProvisionDestroyValidate) {
  instance_.SetInstances(TutorialInstances());
  Result r = Run({"instance", "provision"},
                 R"({"Properties": {"Note": "hand made"}, "Tags": {"tier": "web"},
                     "Init": "echo hi", "LogicalID": null})");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "instance-1\n");
  ASSERT_EQ(instance_.provisioned().size(), 1u);
  EXPECT_EQ(instance_.provisioned()[0].tags().at("tier"), "web");
  EXPECT_EQ(instance_.provisioned()[0].init(), "echo hi");

  r = Run({"instance", "destroy", "instance-1475045378"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "destroyed instance-1475045378\n");
  r = Run({"instance", "destroy", "instance-1475045378"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_EQ(r.err, "infrakitctl: no instance instance-1475045378\n");

  EXPECT_EQ(Run({"instance", "validate"}, R"({"Note": "x"})").out, "valid\n");
  r = Run({"instance", "validate"}, R"({"Bad": 1})");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err, "infrakitctl: Bad: not a known property\n");
}

TEST_F(CliTest, FlavorValidatePrepareHealthy) {
  EXPECT_EQ(Run({"flavor", "validate"}, R"({"Properties": {}, "Allocation": {"Size": 3}})").out,
            "valid\n");
  Result r = Run({"flavor", "validate"}, R"({"Allocation": {"Size": -3}})");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("allocation.size: must be >= 0"));

  r = Run({"flavor", "--name", "flavor-vanilla", "prepare"},
          R"({"Properties": {"Init": "start"}, "Spec": {"Tags": {"a": "b"}, "Init": "first"},
              "Allocation": {"LogicalIDs": ["10.0.0.1"]}, "Index": {"Group": "g", "Sequence": 1}})");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  iv1::Spec prepared;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &prepared).ok()) << r.out;
  EXPECT_EQ(prepared.init(), "first\nstart");
  EXPECT_EQ(prepared.tags().at("flavor"), "fake");
  EXPECT_EQ(prepared.tags().at("a"), "b");

  r = Run({"flavor", "healthy"}, R"({"Instance": {"ID": "good"}})");
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "healthy\n");
  r = Run({"flavor", "healthy"}, R"({"Instance": {"ID": "bad"}})");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.out, "unhealthy: probe failed\n");
  r = Run({"flavor", "healthy"}, R"({"Instance": {"Id": "bad", "Colour": "red"}})");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr("Instance.Colour: unknown field"));
}

TEST_F(CliTest, EveryCommandHasHelp) {
  const CommandTable table = BuildCommandTable();
  for (const CommandSpec& command : table.commands()) {
    std::vector<std::string> args = command.path;
    args.push_back("--help");
    Result r = Run(args);
    EXPECT_EQ(r.code, kExitOk) << table.FullName(command);
    EXPECT_THAT(r.out, StartsWith(absl::StrCat("Usage: ", table.FullName(command))));
    EXPECT_THAT(r.err, IsEmpty());
    if (!command.path.empty()) {
      std::vector<std::string> help_args = {"help"};
      help_args.insert(help_args.end(), command.path.begin(), command.path.end());
      EXPECT_EQ(Run(help_args).out, r.out) << table.FullName(command);
    }
  }
  EXPECT_THAT(Run({"--help"}).out, HasSubstr("Exit codes:\n"));
}

TEST_F(CliTest, UsageErrors) {
  Result r = Run({});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("Usage: infrakitctl"));

  r = Run({"group"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("infrakitctl: 'infrakitctl group' needs a verb: watch, "));

  r = Run({"group", "ls", "-o", "yaml"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err, "infrakitctl: --output takes table or json, got \"yaml\"\n");

  r = Run({"group", "ls", "--timeout", "soon"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--timeout takes a positive duration"));

  r = Run({"help", "frobnicate"});
  EXPECT_EQ(r.code, kExitUsage);

  r = Run({"completion", "zsh"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("bash only"));
}

TEST_F(CliTest, VersionIsTheOriginalJson) {
  EXPECT_EQ(Run({"--version"}).out, Run({"version"}).out);
  Result r = Run({"version"});
  ASSERT_EQ(r.code, kExitOk);
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
  EXPECT_EQ(json.fields().at("name").string_value(), "infrakitctl");
  EXPECT_EQ(json.fields().at("type").string_value(), "infrakit.Cli/1.0");
  EXPECT_FALSE(json.fields().at("revision").string_value().empty());
  EXPECT_FALSE(json.fields().at("version").string_value().empty());
}

TEST_F(CliTest, PluginStartRejectsUnknownPluginsAndStrayArgs) {
  Result r = Run({"plugin", "start", "instance-nope"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_THAT(r.err,
              HasSubstr("no bundled plugin named \"instance-nope\"; the bundled plugins "
                        "are group, instance-file, flavor-vanilla, instance-process, "
                        "flavor-zookeeper, flavor-swarm, instance-terraform, instance-vagrant"));
  r = Run({"plugin", "start", "group", "--instance-file-args=--dir x"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("arguments are given for instance-file"));
  r = Run({"plugin", "start", "group", "--group-args=\"unterminated"});
  EXPECT_EQ(r.code, kExitUsage);
  r = Run({"plugin", "start", "group", "--ready-timeout", "-1s"});
  EXPECT_EQ(r.code, kExitUsage);
}

TEST_F(CliTest, PluginStartWithoutBinariesSaysHowToBuildThem) {
  // Env() has no executable path and no $PATH: nothing can be found.
  Result r = Run({"plugin", "start", "group"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_THAT(r.err, HasSubstr("no binary infrakit-group for plugin group"));
  EXPECT_THAT(r.err, HasSubstr("bazel build //services/group/server:infrakit-group"));
  // Without names: every bundled plugin that is built; here none is.
  r = Run({"plugin", "start"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_THAT(r.err, HasSubstr("infrakitctl: not starting group: no binary infrakit-group"));
  EXPECT_THAT(r.err, HasSubstr("infrakitctl: not starting instance-process: "));
  EXPECT_THAT(r.err, HasSubstr("infrakitctl: no plugin binary is built"));
}

}  // namespace
}  // namespace infrakit::tools::infrakitctl
