// The Flavor contract as a reusable GoogleTest suite, run over gRPC against a real plugin binary
// on a real unix socket.
//
// Every flavor plugin must pass it. To add a plugin, write a `<plugin>_conformance_test.cc` that
// describes it with a FlavorPluginUnderTest and instantiates the suite:
//
//   #include "tests/conformance/flavor_conformance.h"
//
//   FlavorPluginUnderTest MyFlavor() {
//     FlavorPluginUnderTest p;
//     p.name = "MyFlavor";
//     p.binary = "plugins/flavor/mine/infrakit-flavor-mine";  // listed in the test's data
//     p.plugin_name = "flavor-mine";
//     p.valid_properties = R"({"Size": 3})";
//     p.allocation.set_size(3);
//     p.invalid_properties = {{R"({"Size": "x"})", "Size"}};
//     p.health_cases = {{"NoProbe", "{}", "instance-1", "", HEALTH_HEALTHY, ""}};
//     return p;
//   }
//   INSTANTIATE_TEST_SUITE_P(MyFlavor, FlavorConformanceTest, ::testing::Values(MyFlavor()),
//                            FlavorPluginUnderTest::TestName);
//
// and a cc_test depending on //tests/conformance:flavor_conformance with the binary in `data`.
// Each test starts a fresh plugin process in a fresh scratch directory.
//
// What the suite checks (the contract, proto/infrakit/flavor/v1/flavor.proto):
// - Validate accepts `valid_properties` with `allocation`, and rejects each of
//   `invalid_properties` with INVALID_ARGUMENT and a message naming the field;
// - Prepare is deterministic (same request, same spec), keeps every caller tag (a tag the flavor
//   does not set keeps its value), the spec's properties and logical ID;
// - Prepare with invalid properties is INVALID_ARGUMENT;
// - Healthy gives the expected verdict for each of `health_cases` (and a reason when not
//   HEALTHY);
// - Drain with valid properties is OK.
// - The batch RPCs are served (called on a raw stub, so a plugin answering UNIMPLEMENTED fails
//   instead of being covered by FlavorClient's fallback): BatchPrepare of 3 indexes answers 3
//   results in order, each equal to Prepare's for that index; empty batches answer no results;
//   1,001 items are INVALID_ARGUMENT; BatchPrepare with invalid properties answers, per item,
//   INVALID_ARGUMENT naming the field (the call itself succeeds); BatchHealthy of 2 instances
//   (each health case's instance and another one) gives each the verdict Healthy gives;
//   BatchDrain of 2 instances with valid properties gives 2 OK statuses.
#ifndef INFRAKIT_TESTS_CONFORMANCE_FLAVOR_CONFORMANCE_H_
#define INFRAKIT_TESTS_CONFORMANCE_FLAVOR_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "client/flavor_client.h"
#include "gtest/gtest.h"
#include "infrakit/flavor/v1/flavor.grpc.pb.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "tests/conformance/running_plugin.h"

namespace infrakit::tests::conformance {

// Describes one flavor plugin for the suite.
struct FlavorPluginUnderTest {
  // The instantiation's name in test names: letters, digits and '_' only, e.g. "FlavorVanilla".
  std::string name;
  // The binary: a runfiles path relative to the workspace (the test lists it in `data`).
  std::string binary;
  // The plugin name it serves under; passed with --name (--plugins-dir is passed by the suite).
  std::string plugin_name;
  // Further arguments, given the test's scratch directory (empty, exists, private to the test).
  // May be null.
  std::function<std::vector<std::string>(const std::string& scratch)> args;
  // Extra environment variables of the plugin process.
  std::vector<std::pair<std::string, std::string>> env;

  // Flavor properties (a JSON object) valid for `allocation`; Prepare and Drain use them.
  std::string valid_properties = "{}";
  // The group's allocation that goes with them.
  ::infrakit::flavor::v1::Allocation allocation;
  // Properties (JSON objects) that Validate must reject with INVALID_ARGUMENT, each with a text
  // the error message must contain (the field's name). At least one is expected.
  std::vector<std::pair<std::string, std::string>> invalid_properties;

  // One Healthy call and its expected verdict.
  struct HealthCase {
    // Shown when the case fails.
    std::string name;
    // Flavor properties (a JSON object), e.g. with a probe.
    std::string properties;
    // The instance asked about.
    std::string instance_id;
    std::string logical_id;
    ::infrakit::flavor::v1::Health expected = ::infrakit::flavor::v1::HEALTH_HEALTHY;
    // A text the reason must contain (empty: any reason; a non-HEALTHY verdict always needs one).
    std::string reason_contains;
  };
  // May depend on the scratch directory (e.g. a probe command touching a file there).
  std::function<std::vector<HealthCase>(const std::string& scratch)> health_cases;

  // How long the plugin may take to start or to answer.
  absl::Duration deadline = absl::Seconds(20);

  // For INSTANTIATE_TEST_SUITE_P: the instantiation's `name`.
  static std::string TestName(const ::testing::TestParamInfo<FlavorPluginUnderTest>& info) {
    return info.param.name;
  }
};

// The fixture: a running plugin (running_), a client on its socket (client_) and a raw stub
// (stub_) for calls that must reach the plugin's own RPC.
class FlavorConformanceTest : public ::testing::TestWithParam<FlavorPluginUnderTest> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A Prepare request with valid_properties, the allocation and a spec carrying caller tags.
  ::infrakit::flavor::v1::PrepareRequest PrepareRequest() const;

  // A context expiring after the plugin's deadline, for stub_ calls.
  std::unique_ptr<grpc::ClientContext> Context() const;

  const FlavorPluginUnderTest& plugin() const { return GetParam(); }
  std::string scratch() const { return running_->scratch(); }

  std::unique_ptr<RunningPlugin> running_;
  std::unique_ptr<client::FlavorClient> client_;
  std::unique_ptr<::infrakit::flavor::v1::FlavorService::Stub> stub_;
};

}  // namespace infrakit::tests::conformance

#endif  // INFRAKIT_TESTS_CONFORMANCE_FLAVOR_CONFORMANCE_H_
