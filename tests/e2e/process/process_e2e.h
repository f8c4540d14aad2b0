// What the end-to-end tests of instance-process share: the real infrakit-group,
// infrakit-instance-process and infrakit-flavor-vanilla binaries on real unix sockets in a
// scratch plugins directory, driven over gRPC; HTTP over loopback with libcurl; and the instance
// processes as /proc shows them (every instance process carries INFRAKIT_INSTANCE_DIR=<the
// instances dir>/<id> in its environment).
#ifndef INFRAKIT_TESTS_E2E_PROCESS_PROCESS_E2E_H_
#define INFRAKIT_TESTS_E2E_PROCESS_PROCESS_E2E_H_

#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/group_client.h"
#include "client/instance_client.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.pb.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::testing {

// Generous: the machine is shared; a condition that holds is seen within milliseconds.
inline constexpr absl::Duration kE2eWait = absl::Seconds(60);
inline constexpr absl::Duration kE2eStart = absl::Seconds(30);
inline constexpr absl::Duration kE2ePause = absl::Milliseconds(20);

// GET `url` with libcurl: the body of a 200 answer. UNAVAILABLE with curl's error (refused,
// timed out) or the HTTP status otherwise. Thread-safe once curl_global_init has run.
absl::StatusOr<std::string> HttpGet(const std::string& url, absl::Duration timeout);

// Whether something accepts TCP connections on address:port.
bool Listening(const std::string& address, int port);

// A process belonging to an instance of instance-process (the instance's leader or a
// descendant), as /proc shows it.
struct InstanceProcess {
  pid_t pid = 0;
  std::string instance_id;
  std::string group;
  std::string logical_id;
};

// The processes whose environment has INFRAKIT_INSTANCE_DIR under `instances_dir`: every
// process of every instance started there, including descendants and processes that escaped
// their process group. Zombies have no environment left and do not count.
std::vector<InstanceProcess> InstanceProcesses(const std::string& instances_dir);

// The IDs of the instances of `group` that have a process.
std::set<std::string> InstancesWithProcesses(const std::string& instances_dir,
                                             const std::string& group);

// A fixture with the three plugins running (see StartPlugins) and clients of the group and
// instance-process services.
class ProcessE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  // Starts instance-process, flavor-vanilla and the group service (with `group_flags` beside
  // its state dir) after checking that `addresses` (host:port pairs the test's servers will
  // listen on) are free. Fails the test (and returns false) on any problem.
  bool StartPlugins(const std::vector<std::string>& group_flags,
                    const std::vector<std::pair<std::string, int>>& addresses);

  // Runs even when the test failed: destroys what the test watched, then kills whatever
  // instance process is left (with the group service stopped first, so that nothing replaces
  // them), so that no server keeps its address.
  void TearDown() override;

  std::string plugins_dir() const { return dir_.Join("plugins"); }
  std::string instances_dir() const { return dir_.Join("instances"); }
  std::string socket(const std::string& name) const { return plugins_dir() + "/" + name + ".sock"; }

  // Starts a plugin binary in the plugins dir and waits until it answers; nullptr (with a test
  // failure) if it does not.
  std::unique_ptr<PluginProcess> StartPlugin(const std::string& binary,
                                             std::vector<std::string> args,
                                             const std::string& name);

  // The plugins' logs, for failure messages (instance-process logs the last output of every
  // instance that dies).
  std::string Logs() const;

  // A config file from the runfiles, parsed as infrakitctl parses it.
  ::infrakit::group::v1::GroupSpec LoadConfig(const std::string& path);

  // Watches the group; returns its config_sha ("" with a test failure).
  std::string Watch(const ::infrakit::group::v1::GroupSpec& spec);

  absl::StatusOr<::infrakit::group::v1::InspectGroupResponse> Inspect(const std::string& id);

  // Waits until the group has `count` members, all HEALTHY for its flavor.
  bool WaitHealthy(const std::string& id, int count);

  // Destroys the group; expects every one of its processes gone by then.
  void Destroy(const std::string& id);

  TempDir dir_;
  std::unique_ptr<PluginProcess> process_;
  std::unique_ptr<PluginProcess> vanilla_;
  std::unique_ptr<PluginProcess> group_;
  std::unique_ptr<client::GroupClient> groups_;
  std::unique_ptr<client::InstanceClient> instances_;
  std::set<std::string> watched_;
};

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_E2E_PROCESS_PROCESS_E2E_H_
