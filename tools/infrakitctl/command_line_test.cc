#include "tools/infrakitctl/command_line.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace infrakit::tools::infrakitctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

int Noop(CommandContext&) { return 0; }

CommandTable TestTable() {
  std::vector<FlagSpec> global = {{"plugins-dir", '\0', "DIR", "dir"},
                                  {"output", 'o', "FORMAT", "format"},
                                  {"help", 'h', "", "help"}};
  std::vector<CommandSpec> commands;
  commands.push_back({{"group"},
                      "",
                      "Groups",
                      "About groups.\n",
                      {{"name", '\0', "NAME", "the plugin"}},
                      0,
                      0,
                      nullptr});
  commands.push_back({{"group", "watch"}, "[FILE]", "Watch", "", {}, 0, 1, Noop});
  commands.push_back(
      {{"group", "inspect"}, "ID", "Inspect", "", {{"long", 'l', "", "long"}}, 1, 1, Noop});
  commands.push_back(
      {{"group", "destroy-instances"}, "ID INSTANCE...", "Destroy", "", {}, 2, -1, Noop});
  commands.push_back({{"instance", "describe"},
                      "",
                      "Describe",
                      "",
                      {{"tags", '\0', "K=V", "tags"}, {"quiet", 'q', "", "quiet"}},
                      0,
                      0,
                      Noop});
  commands.push_back({{"version"}, "", "Version", "", {}, 0, 0, Noop});
  return CommandTable("infrakitctl", global, commands);
}

TEST(CommandTableTest, AddsTheRootAndMissingAreas) {
  CommandTable table = TestTable();
  ASSERT_NE(table.Find({}), nullptr);
  const CommandSpec* instance = table.Find({"instance"});
  ASSERT_NE(instance, nullptr);
  EXPECT_FALSE(instance->run);
  std::vector<std::string> top;
  for (const CommandSpec* c : table.Children(*table.Find({}))) top.push_back(c->path.back());
  EXPECT_THAT(top, ElementsAre("group", "instance", "version"));
  EXPECT_TRUE(table.Validate().ok());
}

TEST(CommandTableTest, FlagsMayComeAnywhere) {
  CommandTable table = TestTable();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"group", "--name", "g", "inspect", "cattle"},
                                             {"group", "inspect", "--name=g", "cattle"},
                                             {"--name", "g", "group", "inspect", "cattle"},
                                             {"group", "inspect", "cattle", "--name", "g"}}) {
    absl::StatusOr<ParsedCommand> parsed = table.Parse(args);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->command, table.Find({"group", "inspect"}));
    EXPECT_EQ(parsed->flags.Get("name"), "g");
    EXPECT_THAT(parsed->args, ElementsAre("cattle"));
  }
}

TEST(CommandTableTest, ShortFlagsBooleansAndValues) {
  CommandTable table = TestTable();
  absl::StatusOr<ParsedCommand> parsed = table.Parse({"group", "inspect", "-l", "-ojson", "x"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->flags.Has("long"));
  EXPECT_EQ(parsed->flags.Get("output"), "json");

  parsed = table.Parse({"group", "inspect", "--long=false", "-o", "table", "x"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->flags.Has("long"));
  EXPECT_EQ(parsed->flags.Get("output"), "table");

  parsed = table.Parse({"group", "inspect", "--long=maybe", "x"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("--long takes no value"));
}

TEST(CommandTableTest, RepeatedFlagsKeepEveryValue) {
  CommandTable table = TestTable();
  absl::StatusOr<ParsedCommand> parsed =
      table.Parse({"instance", "describe", "--tags", "a=1", "--tags=b=2"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->flags.All("tags"), ElementsAre("a=1", "b=2"));
  EXPECT_EQ(parsed->flags.Get("tags"), "b=2");
  EXPECT_THAT(parsed->flags.All("quiet"), IsEmpty());
}

TEST(CommandTableTest, DashIsAnArgumentAndDoubleDashEndsFlags) {
  CommandTable table = TestTable();
  absl::StatusOr<ParsedCommand> parsed = table.Parse({"group", "watch", "-"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->args, ElementsAre("-"));
  parsed = table.Parse({"group", "inspect", "--", "--weird-id"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->args, ElementsAre("--weird-id"));
}

TEST(CommandTableTest, UsageErrorsPointAtTheRightHelp) {
  CommandTable table = TestTable();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"group", "inspect", "--bogus", "x"},
            "unknown flag --bogus; see 'infrakitctl group inspect --help'"},
           {{"group", "watch", "--long"},
            "flag --long does not apply to 'infrakitctl group watch'; see 'infrakitctl group "
            "watch --help'"},
           {{"group", "inspect", "x", "--name"},
            "flag --name needs a value; see 'infrakitctl group inspect --help'"},
           {{"group", "frobnicate"},
            "unknown verb \"frobnicate\" for 'infrakitctl group'; expected one of: watch, "
            "inspect, destroy-instances; see 'infrakitctl group --help'"},
           {{"frobnicate"},
            "unknown command \"frobnicate\"; expected one of: group, instance, version; see "
            "'infrakitctl --help'"},
           {{"group", "inspect"},
            "'infrakitctl group inspect' needs ID (1 argument, got 0); see 'infrakitctl group "
            "inspect --help'"},
           {{"group", "inspect", "a", "b"},
            "'infrakitctl group inspect' takes at most 1 argument (ID), got 2: a b; see "
            "'infrakitctl group inspect --help'"},
           {{"version", "now"},
            "'infrakitctl version' takes no arguments, got 1: now; see 'infrakitctl version "
            "--help'"},
           {{"group", "destroy-instances", "cattle"},
            "'infrakitctl group destroy-instances' needs ID INSTANCE... (2 arguments, got 1); see "
            "'infrakitctl group destroy-instances --help'"},
       }) {
    absl::StatusOr<ParsedCommand> parsed = table.Parse(c.args);
    ASSERT_FALSE(parsed.ok()) << c.message;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), c.message);
  }
}

TEST(CommandTableTest, HelpSkipsArgumentChecks) {
  CommandTable table = TestTable();
  absl::StatusOr<ParsedCommand> parsed = table.Parse({"group", "inspect", "--help"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->help);
  EXPECT_EQ(parsed->command, table.Find({"group", "inspect"}));
  parsed = table.Parse({"-h"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->help);
  EXPECT_EQ(parsed->command, table.Find({}));
}

TEST(CommandTableTest, AnAreaWithoutVerbParsesWithoutHandler) {
  CommandTable table = TestTable();
  absl::StatusOr<ParsedCommand> parsed = table.Parse({"group", "--name", "g"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->command, table.Find({"group"}));
  EXPECT_FALSE(parsed->command->run);
}

TEST(CommandTableTest, HelpOfAVerbListsItsAreaAndGlobalFlags) {
  CommandTable table = TestTable();
  const std::string help = table.Help(*table.Find({"group", "inspect"}));
  EXPECT_THAT(help, HasSubstr("Usage: infrakitctl group inspect [flags] ID\n"));
  EXPECT_THAT(help, HasSubstr("Inspect\n"));
  EXPECT_THAT(help, HasSubstr("  -l, --long"));
  EXPECT_THAT(help, HasSubstr("      --name NAME"));
  EXPECT_THAT(help, HasSubstr("Global flags:\n"));
  EXPECT_THAT(help, HasSubstr("  -o, --output FORMAT"));
}

TEST(CommandTableTest, HelpOfAnAreaListsItsVerbs) {
  CommandTable table = TestTable();
  const std::string help = table.Help(*table.Find({"group"}));
  EXPECT_THAT(help, HasSubstr("Usage: infrakitctl group VERB [flags] [ARGS]\n"));
  EXPECT_THAT(help, HasSubstr("About groups.\n"));
  EXPECT_THAT(help, HasSubstr("Verbs:\n"));
  EXPECT_THAT(help, HasSubstr("  watch [FILE]"));
  EXPECT_THAT(help, HasSubstr("  inspect ID"));
  EXPECT_THAT(help, HasSubstr("Run 'infrakitctl group VERB --help' for more about one."));
}

TEST(CommandTableTest, ValidateRejectsAFlagWithTwoArities) {
  CommandTable table("x", {{"help", 'h', "", "help"}},
                     {{{"a"}, "", "", "", {{"long", 'l', "", ""}}, 0, 0, Noop},
                      {{"b"}, "", "", "", {{"long", '\0', "N", ""}}, 0, 0, Noop}});
  absl::Status status = table.Validate();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--long"));
}

TEST(SplitArgsTest, BlanksQuotesAndEscapes) {
  EXPECT_THAT(*SplitArgs("--dir ./tutorial  --log 5"),
              ElementsAre("--dir", "./tutorial", "--log", "5"));
  EXPECT_THAT(*SplitArgs("--dir '/tmp/my dir' --note=\"a \\\"b\\\"\""),
              ElementsAre("--dir", "/tmp/my dir", "--note=a \"b\""));
  EXPECT_THAT(*SplitArgs("a\\ b ''"), ElementsAre("a b", ""));
  EXPECT_THAT(*SplitArgs("   "), IsEmpty());
  absl::StatusOr<std::vector<std::string>> bad = SplitArgs("--dir 'open");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infrakit::tools::infrakitctl
