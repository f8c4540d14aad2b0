#include "plugins/instance/vagrant/vagrantfile.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

TEST(RubyStringTest, QuotesAndEscapesWhatRubyWouldInterpret) {
  EXPECT_EQ(RubyString("plain"), "\"plain\"");
  EXPECT_EQ(RubyString("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(RubyString("#{`rm -rf /`}"), "\"\\#{`rm -rf /`}\"");
  EXPECT_EQ(RubyString("l1\nl2\t\x01"), "\"l1\\nl2\\t\\x01\"");
}

TEST(CheckTemplateTest, KnowsItsPlaceholders) {
  EXPECT_TRUE(CheckTemplate(kDefaultTemplate).ok());
  EXPECT_TRUE(CheckTemplate("d.image = {{.Image}}; d.name = {{.LogicalID}}").ok());
  absl::Status unknown = CheckTemplate("{{.Box}}");
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(unknown.message(), "properties.Template: unknown placeholder {{.Box}}"))
      << unknown;
  EXPECT_EQ(CheckTemplate("{{.ID").code(), absl::StatusCode::kInvalidArgument);
}

TEST(RenderVagrantfileTest, TheDefaultTemplateRunsTheInitThenTheCommandInADockerContainer) {
  VagrantfileParams params;
  params.id = "instance-1";
  params.group = "web";
  params.image = "local/busybox";
  params.init = "echo \"hi\"";
  params.command = "exec httpd -f";
  params.env = {{"PORT", "80"}};
  absl::StatusOr<std::string> text = RenderVagrantfile(params);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_TRUE(absl::StrContains(*text, "config.vm.provider \"docker\" do |d|")) << *text;
  EXPECT_TRUE(absl::StrContains(*text, "d.image = \"local/busybox\"")) << *text;
  EXPECT_TRUE(absl::StrContains(*text, "d.name = \"instance-1\"")) << *text;
  EXPECT_TRUE(absl::StrContains(
      *text,
      "d.cmd = [\"/bin/sh\", \"-c\", \"/bin/sh -c \\\"$1\\\" || exit $?; exec /bin/sh -c "
      "\\\"$2\\\"\", \"infrakit-instance\", \"echo \\\"hi\\\"\", \"exec httpd -f\"]"))
      << *text;
  EXPECT_TRUE(absl::StrContains(*text,
                                "d.env = {\"INFRAKIT_INSTANCE_ID\" => \"instance-1\", "
                                "\"INFRAKIT_LOGICAL_ID\" => \"\", \"INFRAKIT_GROUP\" => \"web\", "
                                "\"PORT\" => \"80\"}"))
      << *text;
  EXPECT_TRUE(
      absl::StrContains(*text, "d.create_args = [\"--label\", \"infrakit.instance=instance-1\"]"))
      << *text;
  EXPECT_TRUE(absl::StrContains(*text, "d.has_ssh = false")) << *text;
  EXPECT_TRUE(absl::StrContains(*text, "synced_folder \".\", \"/vagrant\", disabled: true"));
}

TEST(RenderVagrantfileTest, WithoutCommandTheInitIsTheContainersCommand) {
  VagrantfileParams params;
  params.template_text = "cmd={{.Cmd}} id={{.ID}}";
  params.id = "instance-2";
  params.init = "exec sleep 1";
  absl::StatusOr<std::string> text = RenderVagrantfile(params);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "cmd=[\"/bin/sh\", \"-c\", \"exec sleep 1\"] id=\"instance-2\"");
}

}  // namespace
}  // namespace infrakit::plugins::instance::vagrant
