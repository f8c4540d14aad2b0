#include "plugins/instance/vagrant/test_engine.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "plugins/instance/vagrant/subprocess.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

constexpr char kBusybox[] = "/bin/busybox";

bool OnPath(const std::string& program) {
  absl::StatusOr<CommandResult> found =
      RunCommand({"/bin/sh", "-c", absl::StrCat("command -v ", program)}, "", EnvironmentWith({}));
  return found.ok() && found->exit_code == 0;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace

std::string TestEngineMissing() {
  std::string missing = flavor::swarm::PrivateEngine::Missing();
  if (!missing.empty()) return missing;
  if (!OnPath("vagrant")) {
    return "vagrant is not installed (apt-get install --no-install-recommends vagrant)";
  }
  if (!OnPath("docker")) return "the docker CLI is not installed (docker.io)";
  if (access(kBusybox, X_OK) != 0) {
    return "busybox-static is not installed (apt-get install busybox-static)";
  }
  return "";
}

TestEngine::TestEngine(std::string dir) : dir_(std::move(dir)) {}

TestEngine::~TestEngine() { Stop(); }

absl::Status TestEngine::Start() {
  engine_ = std::make_unique<flavor::swarm::PrivateEngine>(dir_, "engine");
  if (absl::Status started = engine_->Start({}); !started.ok()) return started;
  // A rootfs of busybox and its applets, imported as an image: no registry, no network.
  const std::string rootfs = absl::StrCat(dir_, "/rootfs");
  const std::string script =
      absl::StrCat("set -e; mkdir -p ", rootfs, "/bin ", rootfs, "/tmp; cp ", kBusybox, " ", rootfs,
                   "/bin/busybox; for applet in $(", kBusybox, " --list); do [ -e ", rootfs,
                   "/bin/$applet ] || ln -s busybox ", rootfs, "/bin/$applet; done; tar -C ",
                   rootfs, " -c . | docker import - ", kTestImage);
  absl::StatusOr<CommandResult> imported =
      RunCommand({"/bin/sh", "-c", script}, "", EnvironmentWith({{"DOCKER_HOST", docker_host()}}));
  if (!imported.ok()) return imported.status();
  if (imported->exit_code != 0) {
    return absl::InternalError(absl::StrCat("importing ", kTestImage, ": ", imported->output));
  }
  return absl::OkStatus();
}

void TestEngine::Stop() {
  if (engine_ == nullptr) return;
  std::vector<std::string> all = Containers();
  if (!all.empty()) {
    all.insert(all.begin(), {"rm", "-f"});
    Docker(all).IgnoreError();
  }
  engine_->Stop();
  engine_.reset();
}

std::string TestEngine::docker_host() const {
  return absl::StrCat("unix://", engine_->socket_path());
}

absl::StatusOr<std::string> TestEngine::Docker(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> result =
      RunCommand(argv, "", EnvironmentWith({{"DOCKER_HOST", docker_host()}}));
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(argv, " "), ": exit ", result->exit_code, ": ", result->output));
  }
  return result->output;
}

std::vector<std::string> TestEngine::Containers() const {
  absl::StatusOr<std::string> names = Docker({"ps", "--all", "--format", "{{.Names}}"});
  return names.ok() ? Lines(*names) : std::vector<std::string>{};
}

std::vector<std::string> TestEngine::RunningContainers() const {
  absl::StatusOr<std::string> names = Docker({"ps", "--format", "{{.Names}}"});
  return names.ok() ? Lines(*names) : std::vector<std::string>{};
}

}  // namespace infrakit::plugins::instance::vagrant
