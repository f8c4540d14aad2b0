#include "client/start_hint.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace infrakit::client {

const std::vector<std::string>& BundledPluginNames() {
  static const auto* const kNames = new std::vector<std::string>{
      "group",
      "instance-file",
      "flavor-vanilla",
      "instance-process",
      "flavor-zookeeper",
      "flavor-swarm",
      "instance-terraform",
      "instance-vagrant",
  };
  return *kNames;
}

std::string OriginalNameAlias(absl::string_view name) {
  if (name == "zookeeper") return "flavor-zookeeper";
  if (name == "swarm") return "flavor-swarm";
  if (name == "vagrant") return "instance-vagrant";
  if (name == "terraform") return "instance-terraform";
  return "";
}

std::string StartHint(absl::string_view name, absl::string_view plugins_dir) {
  const std::vector<std::string>& bundled = BundledPluginNames();
  if (std::find(bundled.begin(), bundled.end(), name) != bundled.end()) {
    // --plugins-dir is spelled out: the group service that needs the plugin may look in
    // another directory than the user's infrakitctl would by default.
    return absl::StrCat("start it with: infrakitctl plugin start ", name, " --plugins-dir ",
                        plugins_dir);
  }
  return absl::StrCat("start it so that it listens on ", plugins_dir, "/", name, ".sock");
}

}  // namespace infrakit::client
