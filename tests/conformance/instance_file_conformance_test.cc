// instance-file against the Instance contract (instance_conformance.h). Behind its back: files
// removed, edited and written by hand in its --dir, as the tutorial does with `rm`.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/instance/file/instance_file_format.h"
#include "tests/conformance/instance_conformance.h"

namespace infrakit::tests::conformance {
namespace {

namespace v1 = ::infrakit::instance::v1;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteByHand(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::trunc);
  out << contents;
}

InstancePluginUnderTest InstanceFile() {
  InstancePluginUnderTest p;
  p.name = "InstanceFile";
  p.binary = "plugins/instance/file/infrakit-instance-file";
  p.plugin_name = "instance-file";
  p.args = [](const std::string& scratch) {
    return std::vector<std::string>{"--dir", absl::StrCat(scratch, "/instances")};
  };
  p.valid_properties = R"({"Note": "Instance properties version 1.0"})";
  // instance-file stores any properties: nothing to reject.
  p.out_of_band.remove = [](const std::string& scratch, const std::string& id) {
    ASSERT_EQ(std::remove(absl::StrCat(scratch, "/instances/", id).c_str()), 0);
  };
  p.out_of_band.set_tag = [](const std::string& scratch, const std::string& id,
                             const std::string& key, const std::string& value) {
    const std::string path = absl::StrCat(scratch, "/instances/", id);
    auto instance = plugins::instance::file::DecodeInstanceFile(id, ReadAll(path));
    ASSERT_TRUE(instance.ok()) << instance.status();
    (*instance->mutable_tags())[key] = value;
    auto encoded = plugins::instance::file::EncodeInstanceFile(*instance);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    WriteByHand(path, *encoded);
  };
  p.out_of_band.create = [](const std::string& scratch,
                            const std::map<std::string, std::string>& tags) {
    const std::string id = "handmade-1";
    v1::Description instance;
    instance.set_id(id);
    for (const auto& [key, value] : tags) (*instance.mutable_tags())[key] = value;
    auto encoded = plugins::instance::file::EncodeInstanceFile(instance);
    EXPECT_TRUE(encoded.ok()) << encoded.status();
    WriteByHand(absl::StrCat(scratch, "/instances/", id), encoded.ok() ? *encoded : "");
    return id;
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(InstanceFile, InstanceConformanceTest, ::testing::Values(InstanceFile()),
                         InstancePluginUnderTest::TestName);

}  // namespace
}  // namespace infrakit::tests::conformance
