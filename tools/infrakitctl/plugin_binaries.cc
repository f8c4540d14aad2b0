#include "tools/infrakitctl/plugin_binaries.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace infrakit::tools::infrakitctl {

namespace {

// The package of infrakitctl itself: how the Bazel output root is found from its path.
constexpr absl::string_view kSelfPackage = "/tools/infrakitctl";

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string Dirname(absl::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace

const std::vector<BundledPlugin>& BundledPlugins() {
  static const auto* const kPlugins = new std::vector<BundledPlugin>{
      {"group", "infrakit-group", "services/group/server",
       "the default group service (groups of instances, rolling updates, self-healing)"},
      {"instance-file", "infrakit-instance-file", "plugins/instance/file",
       "instances as JSON files in a directory (--dir)"},
      {"flavor-vanilla", "infrakit-flavor-vanilla", "plugins/flavor/vanilla",
       "init lines, tags and attachments; optional health probes"},
      {"instance-process", "infrakit-instance-process", "plugins/instance/process",
       "instances as supervised local processes"},
      {"flavor-zookeeper", "infrakit-flavor-zookeeper", "plugins/flavor/zookeeper",
       "ZooKeeper 3.8 ensemble members on pets' IP addresses (needs Debian's zookeeper)"},
      {"flavor-swarm", "infrakit-flavor-swarm", "plugins/flavor/swarm",
       "Docker Swarm managers (pets) and workers, each a private dockerd (needs docker.io)"},
      {"instance-terraform", "infrakit-instance-terraform", "plugins/instance/terraform",
       "instances as Terraform resources, one .tf.json each in --dir (needs terraform)"},
      {"instance-vagrant", "infrakit-instance-vagrant", "plugins/instance/vagrant",
       "instances as Vagrant machines, docker containers by default (needs vagrant, docker)"},
  };
  return *kPlugins;
}

const BundledPlugin* FindBundledPlugin(absl::string_view name) {
  for (const BundledPlugin& p : BundledPlugins()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string SelfExecutable() {
  char buffer[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0) return "";
  return std::string(buffer, static_cast<size_t>(n));
}

absl::StatusOr<std::string> LocatePluginBinary(const BundledPlugin& plugin,
                                               absl::string_view self_exe,
                                               absl::string_view path_env) {
  std::vector<std::string> candidates;
  if (!self_exe.empty()) {
    const std::string dir = Dirname(self_exe);
    if (absl::EndsWith(dir, kSelfPackage)) {
      const std::string root = dir.substr(0, dir.size() - kSelfPackage.size());
      candidates.push_back(absl::StrCat(root, "/", plugin.package, "/", plugin.binary));
    }
    candidates.push_back(absl::StrCat(dir, "/", plugin.binary));
  }
  for (absl::string_view dir : absl::StrSplit(path_env, ':', absl::SkipEmpty())) {
    candidates.push_back(absl::StrCat(dir, "/", plugin.binary));
  }
  for (const std::string& candidate : candidates) {
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("no binary ", plugin.binary, " for plugin ", plugin.name, " (looked in ",
                   candidates.empty() ? std::string("no place") : absl::StrJoin(candidates, ", "),
                   "); build it with 'bazel build //", plugin.package, ":", plugin.binary, "'"));
}

}  // namespace infrakit::tools::infrakitctl
