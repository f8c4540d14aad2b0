#include "plugins/instance/vagrant/properties.h"

#include <string>

#include "absl/strings/match.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

absl::StatusOr<VagrantProperties> Parse(const std::string& json) {
  google::protobuf::Struct properties;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &properties).ok()) << json;
  return ParseVagrantProperties(properties);
}

TEST(VagrantPropertiesTest, ParsesEveryKey) {
  absl::StatusOr<VagrantProperties> p = Parse(R"({"Image": "local/busybox",
      "Command": "exec httpd -f", "Env": {"PORT": "80"}, "Provider": "docker"})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->image, "local/busybox");
  EXPECT_EQ(p->command, "exec httpd -f");
  EXPECT_EQ(p->env.at("PORT"), "80");
  EXPECT_EQ(p->provider, "docker");
  EXPECT_TRUE(p->template_text.empty());
  p = Parse(R"({"Template": "Vagrant.configure(\"2\") {}", "Provider": "virtualbox"})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->provider, "virtualbox");
  EXPECT_TRUE(p->image.empty());
}

TEST(VagrantPropertiesTest, RefusesBadInputNamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})", "properties.Image: required"},
      {R"({"Image": "x", "Box": "y"})", "properties.Box: unknown property"},
      {R"({"Image": 1})", "properties.Image: must be a string, got number"},
      {R"({"Image": ""})", "properties.Image: must not be empty"},
      {R"({"Image": "x", "Env": {"PORT": 80}})", "properties.Env.PORT: must be a string"},
      {R"({"Image": "x", "Env": {"INFRAKIT_X": "1"}})", "properties.Env.INFRAKIT_X"},
      {R"({"Image": "x", "Env": {"1A": "1"}})", "properties.Env.1A: not a valid variable name"},
      {R"({"Image": "x", "Env": []})", "properties.Env: must be an object of strings"},
      {R"({"Image": "x", "Provider": "a b"})", "properties.Provider: not a provider name"},
      {R"({"Template": "{{.Nope}}"})", "properties.Template: unknown placeholder"},
  };
  for (const auto& [json, want] : cases) {
    absl::StatusOr<VagrantProperties> p = Parse(json);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_TRUE(absl::StrContains(p.status().message(), want)) << json << ": " << p.status();
  }
}

}  // namespace
}  // namespace infrakit::plugins::instance::vagrant
