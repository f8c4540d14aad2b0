// What the tests of FilePlugin share: a directory per test, the tutorial's request, a
// recording watch sink and a fixture with a plugin on a fresh directory.
#ifndef INFRAKIT_PLUGINS_INSTANCE_FILE_FILE_PLUGIN_TEST_UTIL_H_
#define INFRAKIT_PLUGINS_INSTANCE_FILE_FILE_PLUGIN_TEST_UTIL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "plugins/instance/file/file_plugin.h"
#include "tests/conformance/watch_recorder.h"

namespace infrakit::plugins::instance::file {

// How long the tests wait for anything.
inline constexpr absl::Duration kDeadline = absl::Seconds(20);

// A directory of its own under the test's temporary directory.
std::string MakeDir();

// Waits for `done` with the shared helper, up to kDeadline.
bool WaitFor(const std::function<bool()>& done);

// The contents of `path` ("" when it cannot be read).
std::string ReadAll(const std::string& path);

// What a user does with an editor or a shell redirection: not atomic.
void WriteByHand(const std::string& path, const std::string& contents);

// Every name in `dir`, dot files included (a temporary file left behind shows), sorted; but for
// the spare files' directory `.spare`, whose contents SpareNames lists.
std::vector<std::string> InstanceFiles(const std::string& dir);
// Every name in `dir`/.spare (claims, dot names, included), sorted; empty when there is none.
std::vector<std::string> SpareNames(const std::string& dir);

// The tutorial's instance, as the group plugin provisions it.
v1::ProvisionRequest TutorialRequest();

// A batch of `n` tutorial requests, item i tagged n=i.
v1::BatchProvisionRequest TutorialBatch(int n);

// "EVENT_TYPE_ADDED <id>".
std::string Describe(const v1::WatchResponse& event);
std::vector<std::string> Describe(const std::vector<v1::WatchResponse>& events);

// Records a watch's events and end. Thread-safe.
class RecordingSink : public tests::conformance::WatchRecorder {
 public:
  // Waits (up to kDeadline) until at least `n` events arrived; returns all of them.
  std::vector<v1::WatchResponse> WaitForEvents(size_t n);
  std::vector<v1::WatchResponse> Events() const { return events(); }
  // Waits (up to kDeadline) for the end; nullopt when it did not come.
  std::optional<absl::Status> WaitForDone();
};

// A plugin on a fresh directory.
class FilePluginTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Provisions `request` and returns the new ID ("" after a failed expectation).
  std::string Provision(v1::ProvisionRequest request = TutorialRequest());

  std::string dir_;
  std::unique_ptr<FilePlugin> plugin_;
};

}  // namespace infrakit::plugins::instance::file

#endif  // INFRAKIT_PLUGINS_INSTANCE_FILE_FILE_PLUGIN_TEST_UTIL_H_
