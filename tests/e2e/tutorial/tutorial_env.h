// The setup every tutorial-style end-to-end test shares: a scratch directory with the tutorial's
// three plugins running (infrakit-group, infrakit-instance-file on ./tutorial,
// infrakit-flavor-vanilla), infrakitctl run against them as a separate process, and the
// instance files read the way the tutorial reads them (ls, cat).
#ifndef INFRAKIT_TESTS_E2E_TUTORIAL_TUTORIAL_ENV_H_
#define INFRAKIT_TESTS_E2E_TUTORIAL_TUTORIAL_ENV_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/e2e/tutorial/cli_runner.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::tests::e2e::tutorial {

inline constexpr char kCtl[] = "tools/infrakitctl/infrakitctl";
inline constexpr char kGroupBinary[] = "services/group/server/infrakit-group";
inline constexpr char kFileBinary[] = "plugins/instance/file/infrakit-instance-file";
inline constexpr char kVanillaBinary[] = "plugins/flavor/vanilla/infrakit-flavor-vanilla";
// Generous: the machine is shared; what holds is seen within milliseconds.
inline constexpr absl::Duration kWait = absl::Seconds(60);

// One instance file, as `cat tutorial/instance-...` shows it.
struct InstanceFile {
  std::map<std::string, std::string> tags;
  std::string note;  // Spec.Properties.Note
  std::string init;  // Spec.Init
  double cpu = 0;    // Spec.Properties.cpu (the zk.conf update)
};

// The contents of a file ("" if unreadable).
std::string ReadFile(const std::string& path);
// A file of examples/tutorial (a runfile).
std::string Example(const std::string& name);
// The number of non-empty lines of `text`.
size_t Lines(const std::string& text);

class TutorialEnv : public ::testing::Test {
 protected:
  // Starts group, instance-file and flavor-vanilla in plugins_dir() (fails the test if one does
  // not answer within kWait).
  void SetUp() override;

  std::string plugins_dir() const { return dir_.Join("plugins"); }
  std::string instances_dir() const { return dir_.Join("tutorial"); }
  std::string socket(const std::string& name) const { return plugins_dir() + "/" + name + ".sock"; }

  // Starts a plugin binary named `name` in plugins_dir() with `args` and waits until it answers.
  void Start(const std::string& binary, const std::string& name, std::vector<std::string> args);
  // The running plugin `name` (nullptr if not started).
  infrakit::testing::PluginProcess* plugin(const std::string& name);

  // `infrakitctl ARGS` with $INFRAKIT_PLUGINS_DIR set to plugins_dir() and `input` on stdin.
  // A run that does not end within kWait fails the test (exit_code -1, err says why).
  CommandResult Ctl(const std::vector<std::string>& args, const std::string& input = "");

  // The instance files by ID. Dot files (instance-file's temporaries) are skipped, and so is a
  // file read half-way through a write: the next look sees it whole.
  std::map<std::string, InstanceFile> Instances() const;

  infrakit::testing::TempDir dir_;
  std::map<std::string, std::unique_ptr<infrakit::testing::PluginProcess>> plugins_;
};

}  // namespace infrakit::tests::e2e::tutorial

#endif  // INFRAKIT_TESTS_E2E_TUTORIAL_TUTORIAL_ENV_H_
