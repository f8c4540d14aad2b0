#include "tools/infrakitctl/output.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "spec/tags.h"

namespace infrakit::tools::infrakitctl {
namespace {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;
using ::infrakit::client::discovery::PluginEntry;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

PluginEntry Entry(const std::string& name, bool alive) {
  PluginEntry e;
  e.name = name;
  e.socket_path = "/run/infrakit/plugins/" + name + ".sock";
  e.address = "unix:///run/infrakit/plugins/" + name + ".sock";
  e.alive = alive;
  return e;
}

// The original InfraKit's `plugin ls`, byte for byte (tabs included).
TEST(PluginTableTest, MatchesTheOriginal) {
  std::vector<PluginEntry> plugins = {Entry("flavor-vanilla", true), Entry("group", true),
                                      Entry("instance-file", true)};
  EXPECT_EQ(PluginTable(plugins, false),
            "Plugins:\n"
            "NAME                \tLISTEN\n"
            "flavor-vanilla      \tunix:///run/infrakit/plugins/flavor-vanilla.sock\n"
            "group               \tunix:///run/infrakit/plugins/group.sock\n"
            "instance-file       \tunix:///run/infrakit/plugins/instance-file.sock\n");
}

TEST(PluginTableTest, EmptyDirectoryPrintsTheHeader) {
  EXPECT_EQ(PluginTable({}, false), "Plugins:\nNAME                \tLISTEN\n");
}

TEST(PluginTableTest, LongFormatAddsKindStateAndVersion) {
  PluginEntry live = Entry("group", true);
  live.info.emplace();
  live.info->set_kind(infrakit::plugin::v1::PLUGIN_KIND_GROUP);
  live.info->set_version("75d7f4d.m");
  PluginEntry stale = Entry("instance-file", false);
  PluginEntry foreign = Entry("other", true);
  foreign.info_status = absl::UnimplementedError("not an InfraKit plugin");
  const std::string table = PluginTable({live, stale, foreign}, true);
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << table;
  EXPECT_EQ(lines[1].substr(0, 27), "NAME                \tLISTEN");
  EXPECT_THAT(lines[1], HasSubstr("KIND"));
  EXPECT_THAT(lines[1], HasSubstr("STATE"));
  EXPECT_THAT(lines[2], HasSubstr("group    \trunning \t75d7f4d.m"));
  EXPECT_THAT(lines[3], HasSubstr("-        \tstale   \t-"));
  EXPECT_THAT(lines[4], HasSubstr("no-info"));
}

TEST(PluginsJsonTest, ListsEveryPluginWithItsInfo) {
  PluginEntry live = Entry("group", true);
  live.info.emplace();
  live.info->set_name("group");
  live.info->set_kind(infrakit::plugin::v1::PLUGIN_KIND_GROUP);
  const std::string json = PluginsJson({live, Entry("instance-file", false)});
  google::protobuf::ListValue parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  ASSERT_EQ(parsed.values_size(), 2);
  const auto& first = parsed.values(0).struct_value().fields();
  EXPECT_EQ(first.at("name").string_value(), "group");
  EXPECT_TRUE(first.at("alive").bool_value());
  EXPECT_EQ(first.at("info").struct_value().fields().at("kind").string_value(),
            "PLUGIN_KIND_GROUP");
  EXPECT_FALSE(parsed.values(1).struct_value().fields().at("alive").bool_value());
}

iv1::Description TutorialInstance(const std::string& id, const std::string& sha) {
  iv1::Description d;
  d.set_id(id);
  // Inserted out of order: the table sorts them.
  (*d.mutable_tags())["tier"] = "web";
  (*d.mutable_tags())[spec::kGroupTag] = "cattle";
  (*d.mutable_tags())["project"] = "infrakit";
  (*d.mutable_tags())[spec::kShaTag] = sha;
  return d;
}

// The original InfraKit's `instance --name instance-file describe` after `watch`.
TEST(InstanceTableTest, MatchesTheOriginal) {
  iv1::DescribeResponse response;
  *response.add_instances() =
      TutorialInstance("instance-1475045378", "Y23cKqyRpkQ_M60vIq7CufFmQWk=");
  *response.add_instances() =
      TutorialInstance("instance-1475045388", "Y23cKqyRpkQ_M60vIq7CufFmQWk=");
  EXPECT_EQ(InstanceTable(response, false),
            "ID                            \tLOGICAL         TAGS\n"
            "instance-1475045378           \t  -             "
            "infrakit.config_sha=Y23cKqyRpkQ_M60vIq7CufFmQWk=,infrakit.group=cattle,"
            "project=infrakit,tier=web\n"
            "instance-1475045388           \t  -             "
            "infrakit.config_sha=Y23cKqyRpkQ_M60vIq7CufFmQWk=,infrakit.group=cattle,"
            "project=infrakit,tier=web\n");
}

TEST(InstanceTableTest, EmptyPrintsTheHeaderOnly) {
  EXPECT_EQ(InstanceTable(iv1::DescribeResponse(), false),
            "ID                            \tLOGICAL         TAGS\n");
}

TEST(InstanceTableTest, ShowsLogicalIdsOfPets) {
  iv1::DescribeResponse response;
  iv1::Description* d = response.add_instances();
  d->set_id("instance-7");
  d->set_logical_id("192.168.0.4");
  (*d->mutable_tags())[spec::kLogicalIdTag] = "192.168.0.4";
  EXPECT_EQ(InstanceTable(response, false),
            "ID                            \tLOGICAL         TAGS\n"
            "instance-7                    \t192.168.0.4     infrakit.logical_id=192.168.0.4\n");
}

TEST(InstanceTableTest, PropertiesColumnShowsTheSpecProperties) {
  iv1::DescribeResponse response;
  iv1::Description* d = response.add_instances();
  d->set_id("instance-1");
  (*d->mutable_spec()->mutable_properties()->mutable_fields())["Note"].set_string_value("v1");
  const std::string table = InstanceTable(response, true);
  EXPECT_THAT(table, HasSubstr("TAGS\tPROPERTIES\n"));
  EXPECT_THAT(table, HasSubstr("\t{\"Note\":\"v1\"}\n"));
}

TEST(FormatTagsTest, SortedAndCommaJoined) {
  google::protobuf::Map<std::string, std::string> tags;
  tags["b"] = "2";
  tags["a"] = "1";
  tags["c"] = "x=y";
  EXPECT_EQ(FormatTags(tags), "a=1,b=2,c=x=y");
  EXPECT_EQ(FormatTags({}), "");
}

gv1::InspectGroupResponse TutorialGroup() {
  gv1::InspectGroupResponse response;
  response.mutable_spec()->set_id("cattle");
  for (const char* id : {"instance-1475045988", "instance-1475045998"}) {
    gv1::Member* m = response.add_members();
    m->set_id(id);
    (*m->mutable_tags())[spec::kShaTag] = "KSh4RpuYaDYQsYv77cimBZ8ZhHU=";
    (*m->mutable_tags())[spec::kGroupTag] = "cattle";
    (*m->mutable_tags())["project"] = "infrakit";
    (*m->mutable_tags())["tier"] = "web";
    m->set_health(infrakit::flavor::v1::HEALTH_HEALTHY);
    m->set_state(iv1::LIFECYCLE_STATE_RUNNING);
  }
  response.mutable_status()->set_desired(2);
  response.mutable_status()->set_actual(2);
  response.mutable_status()->set_healthy(2);
  response.mutable_status()->set_converged(true);
  return response;
}

// The original InfraKit's `group --name group inspect cattle` after the update.
TEST(MemberTableTest, MatchesTheOriginal) {
  EXPECT_EQ(MemberTable(TutorialGroup(), false),
            "ID                            \tLOGICAL         TAGS\n"
            "instance-1475045988           \t  -             "
            "infrakit.config_sha=KSh4RpuYaDYQsYv77cimBZ8ZhHU=,infrakit.group=cattle,"
            "project=infrakit,tier=web\n"
            "instance-1475045998           \t  -             "
            "infrakit.config_sha=KSh4RpuYaDYQsYv77cimBZ8ZhHU=,infrakit.group=cattle,"
            "project=infrakit,tier=web\n");
}

TEST(MemberTableTest, LongFormatAddsHealthStateAndStatus) {
  gv1::InspectGroupResponse response = TutorialGroup();
  response.mutable_members(1)->set_health(infrakit::flavor::v1::HEALTH_UNHEALTHY);
  response.mutable_members(1)->set_outdated(true);
  const std::string table = MemberTable(response, true);
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << table;
  EXPECT_THAT(lines[0], HasSubstr("HEALTH"));
  EXPECT_THAT(lines[1], HasSubstr("healthy    running"));
  EXPECT_THAT(lines[2], HasSubstr("unhealthy  running,outdated"));
  EXPECT_EQ(lines[3], "cattle: 2 desired, 2 actual, 2 healthy, 0 outdated; converged");
}

TEST(StatusLineTest, SaysWhatTheGroupWaitsFor) {
  gv1::GroupStatus status;
  status.set_desired(3);
  status.set_actual(1);
  status.set_provisioning(2);
  status.set_waiting_for_plugin("instance-file");
  status.set_last_error("plugin instance-file is not answering");
  EXPECT_EQ(StatusLine("cattle", status),
            "cattle: 3 desired, 1 actual, 0 healthy, 0 outdated, 2 provisioning; converging; "
            "waiting for plugin instance-file; last error: plugin instance-file is not "
            "answering");
  status.set_updating(true);
  EXPECT_THAT(StatusLine("cattle", status), HasSubstr("; updating;"));
  status.set_paused(true);
  EXPECT_THAT(StatusLine("cattle", status), HasSubstr("; update paused;"));
}

TEST(StatusLineTest, AStoppedUpdateIsNeitherConvergingNorConverged) {
  gv1::GroupStatus status;
  status.set_desired(3);
  status.set_actual(3);
  status.set_healthy(3);
  status.set_outdated(2);
  status.set_stopped(true);
  EXPECT_EQ(StatusLine("cattle", status),
            "cattle: 3 desired, 3 actual, 3 healthy, 2 outdated; update stopped");
  // Replacing a member that died is no reason to read "converging": the group stays stopped.
  status.set_actual(2);
  status.set_provisioning(1);
  EXPECT_EQ(StatusLine("cattle", status),
            "cattle: 3 desired, 2 actual, 3 healthy, 2 outdated, 1 provisioning; update stopped");
  status.set_converged(true);
  EXPECT_THAT(StatusLine("cattle", status), Not(HasSubstr("converged")));
  // The next update ends it.
  status.set_updating(true);
  EXPECT_THAT(StatusLine("cattle", status), HasSubstr("; updating"));
}

TEST(MemberTableTest, LongFormatOfAStoppedGroup) {
  gv1::InspectGroupResponse response = TutorialGroup();
  response.mutable_members(1)->set_outdated(true);
  response.mutable_status()->set_outdated(1);
  response.mutable_status()->set_stopped(true);
  const std::string table = MemberTable(response, true);
  EXPECT_THAT(table, HasSubstr("running,outdated"));
  EXPECT_THAT(table, EndsWith("cattle: 2 desired, 2 actual, 2 healthy, 1 outdated; update "
                              "stopped\n"));
}

TEST(GroupTableTest, OneRowPerGroup) {
  gv1::ListGroupsResponse response;
  gv1::GroupSummary* g = response.add_groups();
  g->mutable_spec()->set_id("cattle");
  g->mutable_status()->set_desired(5);
  g->mutable_status()->set_actual(4);
  g->mutable_status()->set_healthy(3);
  gv1::GroupSummary* zk = response.add_groups();
  zk->mutable_spec()->set_id("zk");
  zk->mutable_status()->set_desired(3);
  zk->mutable_status()->set_actual(3);
  zk->mutable_status()->set_converged(true);
  EXPECT_EQ(GroupTable(response),
            "ID                            \tDESIRED  ACTUAL   HEALTHY  STATUS\n"
            "cattle                        \t5        4        3        converging\n"
            "zk                            \t3        3        0        converged\n");
}

TEST(GroupTableTest, AGroupWhoseUpdateWasStoppedIsStopped) {
  gv1::ListGroupsResponse response;
  for (const char* id : {"stopped", "stopped-converging", "stopped-then-updating"}) {
    gv1::GroupSummary* g = response.add_groups();
    g->mutable_spec()->set_id(id);
    g->mutable_status()->set_desired(3);
    g->mutable_status()->set_actual(3);
    g->mutable_status()->set_healthy(3);
    g->mutable_status()->set_stopped(true);
    g->mutable_status()->set_converged(true);
  }
  response.mutable_groups(1)->mutable_status()->set_converged(false);
  response.mutable_groups(2)->mutable_status()->set_updating(true);
  EXPECT_EQ(GroupTable(response),
            "ID                            \tDESIRED  ACTUAL   HEALTHY  STATUS\n"
            "stopped                       \t3        3        3        stopped\n"
            "stopped-converging            \t3        3        3        stopped\n"
            "stopped-then-updating         \t3        3        3        updating\n");
}

// A follower (etcd store) lists from its copy of the store: no live counts to show.
TEST(GroupTableTest, AGroupListedFromTheStoreShowsNoLiveCounts) {
  gv1::ListGroupsResponse response;
  for (const char* id : {"cattle", "rolling"}) {
    gv1::GroupSummary* g = response.add_groups();
    g->mutable_spec()->set_id(id);
    g->mutable_status()->set_desired(4);
    g->mutable_status()->set_from_store(true);
  }
  response.mutable_groups(1)->mutable_status()->set_updating(true);
  EXPECT_EQ(GroupTable(response),
            "ID                            \tDESIRED  ACTUAL   HEALTHY  STATUS\n"
            "cattle                        \t4        -        -        stored\n"
            "rolling                       \t4        -        -        updating\n");
}

TEST(PlanTextTest, SummaryAloneOrWithSteps) {
  gv1::Plan plan;
  EXPECT_EQ(PlanText(plan, false), "Noop\n");
  plan.set_summary("Performs a rolling update of 3 instances");
  gv1::PlanStep* step = plan.add_steps();
  step->set_action(gv1::STEP_ACTION_REPLACE);
  step->set_instance_id("instance-1");
  step->set_description("replace instance-1 with one on config KSh4");
  gv1::PlanStep* bare = plan.add_steps();
  bare->set_action(gv1::STEP_ACTION_DESTROY);
  bare->set_instance_id("instance-2");
  EXPECT_EQ(PlanText(plan, false), "Performs a rolling update of 3 instances\n");
  EXPECT_EQ(PlanText(plan, true),
            "Performs a rolling update of 3 instances\n"
            "  replace instance-1 with one on config KSh4\n"
            "  destroy instance-2\n");
}

TEST(ProgressLineTest, MessageAndCount) {
  gv1::UpdateGroupResponse report;
  report.set_phase(gv1::UPDATE_PHASE_PROGRESS);
  report.set_message("replaced instance-1");
  report.set_updated(1);
  report.set_total(3);
  EXPECT_EQ(ProgressLine(report), "replaced instance-1 (1/3 updated)");
  gv1::UpdateGroupResponse bare;
  bare.set_phase(gv1::UPDATE_PHASE_ROLLED_BACK);
  EXPECT_EQ(ProgressLine(bare), "rolled back");
  EXPECT_EQ(PhaseName(gv1::UPDATE_PHASE_PAUSED), "paused");
}

TEST(EventLineTest, TypeInstanceAndMessage) {
  gv1::GroupEvent event;
  event.mutable_time()->set_seconds(1475045378);
  event.set_type(gv1::GROUP_EVENT_TYPE_CREATED);
  event.set_group("cattle");
  event.set_instance_id("instance-1");
  event.set_message("created instance-1");
  const std::string line = EventLine(event);
  EXPECT_THAT(
      line, ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[-+][0-9:]+  CREATED       "
                                    "instance-1 +created instance-1"));
  event.set_type(gv1::GROUP_EVENT_TYPE_UPDATE_STEP);
  event.clear_instance_id();
  EXPECT_THAT(EventLine(event), HasSubstr("  UPDATE_STEP   -  "));
}

TEST(ToJsonTest, IncludesDefaultsAndEndsWithNewline) {
  gv1::GroupStatus status;
  status.set_desired(3);
  const std::string json = ToJson(status);
  EXPECT_THAT(json, HasSubstr("\"desired\": \"3\""));  // int64 is a string in protobuf JSON
  EXPECT_THAT(json, HasSubstr("\"healthy\": \"0\""));
  EXPECT_EQ(json.back(), '\n');
  EXPECT_EQ(ToJsonLine(status).find('\n'), std::string::npos);
}

}  // namespace
}  // namespace infrakit::tools::infrakitctl
