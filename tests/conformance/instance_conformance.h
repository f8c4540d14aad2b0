// The Instance contract as a reusable GoogleTest suite, run over gRPC against a real plugin
// binary on a real unix socket.
//
// Every instance plugin must pass it. To add a plugin, write a `<plugin>_conformance_test.cc`
// that describes the plugin with an InstancePluginUnderTest and instantiates the suite:
//
//   #include "tests/conformance/instance_conformance.h"
//
//   InstancePluginUnderTest MyPlugin() {
//     InstancePluginUnderTest p;
//     p.name = "MyPlugin";
//     p.binary = "plugins/instance/mine/infrakit-instance-mine";  // listed in the test's data
//     p.plugin_name = "instance-mine";
//     p.args = [](const std::string& scratch) {
//       return std::vector<std::string>{"--state-dir", scratch};
//     };
//     p.valid_properties = R"({"Note": "x"})";
//     p.invalid_properties = {{R"({"Cmd": 1})", "Cmd"}};
//     return p;
//   }
//   INSTANTIATE_TEST_SUITE_P(MyPlugin, InstanceConformanceTest,
//                            ::testing::Values(MyPlugin()), InstancePluginUnderTest::TestName);
//
// and a cc_test depending on //tests/conformance:instance_conformance with the binary in
// `data`. Each test starts a fresh plugin process in a fresh scratch directory.
//
// What the suite checks (the contract, proto/infrakit/instance/v1/instance.proto):
// - Validate accepts `valid_properties` and rejects each of `invalid_properties` with
//   INVALID_ARGUMENT and a message naming the field;
// - Provision -> Describe -> Label -> Destroy round trip; Describe filters by all the given tags
//   and orders by ID; Provision with an empty tag name is INVALID_ARGUMENT;
// - a Provision retried with the same idempotency key returns the first ID, created = false,
//   and creates nothing;
// - Destroy and Label of an unknown ID are NOT_FOUND;
// - Watch sends one ADDED per matching instance, then SYNCED, then ADDED / CHANGED / REMOVED
//   as things change, including changes made behind the plugin's back (`out_of_band`);
// - two concurrent Watch streams both see every event;
// - a Watch cancelled by the client frees its resources: the plugin keeps serving, a new watch
//   works, and its thread count returns to where it was;
// - the batch RPCs are served (called on a raw stub, so that a plugin answering UNIMPLEMENTED
//   fails instead of being covered by InstanceClient's fallback): BatchProvision of 3 creates 3
//   and answers their IDs in request order (Describe lists them); empty batches answer no
//   results; 1,001 requests are INVALID_ARGUMENT and create nothing; an item with an empty tag
//   name fails alone with INVALID_ARGUMENT naming "tags" while the others are created; a key
//   repeated inside a batch answers the first item's ID with created = false and creates one
//   instance; BatchDestroy with one unknown ID answers NOT_FOUND for it and destroys the others
//   (1,001 requests: INVALID_ARGUMENT, nothing destroyed).
#ifndef INFRAKIT_TESTS_CONFORMANCE_INSTANCE_CONFORMANCE_H_
#define INFRAKIT_TESTS_CONFORMANCE_INSTANCE_CONFORMANCE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "client/instance_client.h"
#include "gtest/gtest.h"
#include "infrakit/instance/v1/instance.grpc.pb.h"
#include "tests/conformance/running_plugin.h"

namespace infrakit::tests::conformance {

// Describes one instance plugin for the suite.
struct InstancePluginUnderTest {
  // The instantiation's name in test names: letters, digits and '_' only, e.g. "InstanceFile".
  std::string name;
  // The binary: a runfiles path relative to the workspace (the test lists it in `data`).
  std::string binary;
  // The plugin name it serves under (its socket is <plugins-dir>/<plugin_name>.sock); passed
  // with --name. --plugins-dir is passed by the suite.
  std::string plugin_name;
  // Further arguments, given the test's scratch directory (empty, exists, private to the test),
  // e.g. {"--dir", scratch}. May be null.
  std::function<std::vector<std::string>(const std::string& scratch)> args;
  // Extra environment variables of the plugin process.
  std::vector<std::pair<std::string, std::string>> env;

  // Instance properties (a JSON object) that Validate accepts; every Provision uses them.
  std::string valid_properties = "{}";
  // Properties (JSON objects) that Validate must reject with INVALID_ARGUMENT, each with a text
  // the error message must contain (the field's name). Empty when the plugin accepts any
  // object (the test is then skipped).
  std::vector<std::pair<std::string, std::string>> invalid_properties;

  // Changes made behind the plugin's back, which its Watch must report. Each may be null when
  // the plugin has no way to see such a change (that part of the test is then skipped).
  struct OutOfBand {
    // Makes instance `id` disappear (rm its file, kill its process...).
    std::function<void(const std::string& scratch, const std::string& id)> remove;
    // Sets tag `key` = `value` on instance `id` (edits its file...).
    std::function<void(const std::string& scratch, const std::string& id, const std::string& key,
                       const std::string& value)>
        set_tag;
    // Creates an instance with `tags`; returns its ID.
    std::function<std::string(const std::string& scratch,
                              const std::map<std::string, std::string>& tags)>
        create;
  };
  OutOfBand out_of_band;

  // How long the plugin may take to start, to make an instance visible, or to report an event.
  absl::Duration deadline = absl::Seconds(20);

  // For INSTANTIATE_TEST_SUITE_P: the instantiation's `name`.
  static std::string TestName(const ::testing::TestParamInfo<InstancePluginUnderTest>& info) {
    return info.param.name;
  }
};

// The fixture: a running plugin (running_), a client on its socket (client_), a raw stub
// (stub_) for calls that must reach the plugin's own RPC, and helpers.
class InstanceConformanceTest : public ::testing::TestWithParam<InstancePluginUnderTest> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A provision request with valid_properties, the test's run tag and `tags`.
  ::infrakit::instance::v1::ProvisionRequest Request(
      const std::map<std::string, std::string>& tags = {}) const;
  // Provisions Request(tags); fails the test on error. Returns the ID.
  std::string Provision(const std::map<std::string, std::string>& tags = {});
  // The IDs Describe returns for the run tag plus `tags`, in the order returned.
  std::vector<std::string> DescribeIds(const std::map<std::string, std::string>& tags = {});
  // Waits until DescribeIds(tags) == `ids` (plugins may apply a change a moment later).
  ::testing::AssertionResult DescribeBecomes(const std::map<std::string, std::string>& tags,
                                             const std::vector<std::string>& ids);
  // stub_.BatchProvision / BatchDestroy with the plugin's deadline; the call's status mapped.
  absl::StatusOr<::infrakit::instance::v1::BatchProvisionResponse> BatchProvision(
      const ::infrakit::instance::v1::BatchProvisionRequest& request);
  absl::StatusOr<::infrakit::instance::v1::BatchDestroyResponse> BatchDestroy(
      const ::infrakit::instance::v1::BatchDestroyRequest& request);
  const InstancePluginUnderTest& plugin() const { return GetParam(); }
  std::string scratch() const { return running_->scratch(); }

  // Unique per test: every instance the test makes carries it, every query filters on it.
  std::map<std::string, std::string> run_tag_;
  std::unique_ptr<RunningPlugin> running_;
  std::unique_ptr<client::InstanceClient> client_;
  std::unique_ptr<::infrakit::instance::v1::InstanceService::Stub> stub_;
};

}  // namespace infrakit::tests::conformance

#endif  // INFRAKIT_TESTS_CONFORMANCE_INSTANCE_CONFORMANCE_H_
