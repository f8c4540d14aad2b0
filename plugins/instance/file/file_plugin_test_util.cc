#include "plugins/instance/file/file_plugin_test_util.h"

#include <stdlib.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/atomic_file.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::file {

std::string MakeDir() {
  const char* root = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(root != nullptr ? root : "/tmp", "/files-XXXXXX");
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

bool WaitFor(const std::function<bool()>& done) {
  return ::infrakit::testing::WaitFor(done, kDeadline);
}

std::string ReadAll(const std::string& path) {
  absl::StatusOr<std::string> contents = common::ReadFile(path);
  return contents.ok() ? *std::move(contents) : "";
}

void WriteByHand(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::trunc);
  out << contents;
}

std::vector<std::string> InstanceFiles(const std::string& dir) {
  std::vector<std::string> names = ::infrakit::testing::SortedNames(dir);
  names.erase(std::remove(names.begin(), names.end(), ".spare"), names.end());
  return names;
}

std::vector<std::string> SpareNames(const std::string& dir) {
  return ::infrakit::testing::SortedNames(dir + "/.spare");
}

v1::ProvisionRequest TutorialRequest() {
  v1::ProvisionRequest request;
  v1::Spec* spec = request.mutable_spec();
  (*spec->mutable_properties()->mutable_fields())["Note"].set_string_value(
      "Instance properties version 1.0");
  (*spec->mutable_tags())["infrakit.config_sha"] = "Y23cKqyRpkQ_M60vIq7CufFmQWk=";
  (*spec->mutable_tags())["infrakit.group"] = "cattle";
  (*spec->mutable_tags())["project"] = "infrakit";
  (*spec->mutable_tags())["tier"] = "web";
  spec->set_init(
      "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start");
  return request;
}

v1::BatchProvisionRequest TutorialBatch(int n) {
  v1::BatchProvisionRequest batch;
  for (int i = 0; i < n; ++i) {
    v1::ProvisionRequest* item = batch.add_requests();
    *item = TutorialRequest();
    (*item->mutable_spec()->mutable_tags())["n"] = absl::StrCat(i);
  }
  return batch;
}

std::string Describe(const v1::WatchResponse& event) {
  return absl::StrCat(v1::EventType_Name(event.type()), " ", event.instance().id());
}

std::vector<std::string> Describe(const std::vector<v1::WatchResponse>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(Describe(e));
  return out;
}

std::vector<v1::WatchResponse> RecordingSink::WaitForEvents(size_t n) {
  WaitUntil([n](const WatchRecorder::Events& events) { return events.size() >= n; }, kDeadline);
  return events();
}

std::optional<absl::Status> RecordingSink::WaitForDone() {
  WaitFor([this] { return done().has_value(); });
  return done();
}

void FilePluginTest::SetUp() {
  dir_ = MakeDir();
  auto plugin = FilePlugin::Create(dir_);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  plugin_ = *std::move(plugin);
}

std::string FilePluginTest::Provision(v1::ProvisionRequest request) {
  auto response = plugin_->Provision(request);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? response->id() : "";
}

}  // namespace infrakit::plugins::instance::file
