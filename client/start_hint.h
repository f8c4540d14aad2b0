// What to tell a user whose plugin is not running: how to start it, in words that work when
// typed. Used by the resolver, whose errors reach users through the group service (`infrakitctl
// group watch` naming an instance or flavor plugin that is down).
#ifndef INFRAKIT_CLIENT_START_HINT_H_
#define INFRAKIT_CLIENT_START_HINT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace infrakit::client {

// The plugins InfraKit bundles, by their default names: what `infrakitctl plugin start NAME`
// can run (group, instance-file, flavor-vanilla, instance-process, flavor-zookeeper,
// flavor-swarm, instance-vagrant).
// infrakitctl's own list of their binaries is tested to name the same plugins.
const std::vector<std::string>& BundledPluginNames();

// How to start plugin `name` so that it listens in `plugins_dir`: for a bundled plugin
// "start it with: infrakitctl plugin start NAME --plugins-dir DIR", otherwise "start it so that
// it listens on DIR/NAME.sock". Thread-safe (pure).
std::string StartHint(absl::string_view name, absl::string_view plugins_dir);

// The bundled plugin that a name used by the original InfraKit's configs stands for ("zookeeper"
// -> "flavor-zookeeper", "swarm" -> "flavor-swarm", "vagrant" -> "instance-vagrant",
// "terraform" -> "instance-terraform"), or "" when `name` is no such alias. The
// resolver falls back to it when no plugin runs under the name itself.
std::string OriginalNameAlias(absl::string_view name);

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_START_HINT_H_
