// The instance properties instance-vagrant understands (a group config's Instance.Properties),
// and their checking.
//
//   {
//     "Image": "local/busybox",          // the docker image; required by the default template
//     "Command": "exec httpd -f -p 80",  // optional: what runs once the init succeeded
//     "Env": {"PORT": "80"},             // extra environment variables of the container
//     "Provider": "docker",              // `vagrant up --provider=...` (default docker)
//     "Template": "Vagrant.configure..." // optional: a Vagrantfile template replacing the
//                                        // default one (see vagrantfile.h for placeholders)
//   }
//
// The container's command is `/bin/sh -c <init>` (the spec's init script); with Command set, the
// same shell then execs `/bin/sh -c <Command>` when the init succeeded. The container's life is
// the instance's life (see vagrant_plugin.h), so either must stay in the foreground.
#ifndef INFRAKIT_PLUGINS_INSTANCE_VAGRANT_PROPERTIES_H_
#define INFRAKIT_PLUGINS_INSTANCE_VAGRANT_PROPERTIES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"

namespace infrakit::plugins::instance::vagrant {

struct VagrantProperties {
  // Empty only with a Template.
  std::string image;
  // Empty: none.
  std::string command;
  // Names are valid environment variable names not starting with INFRAKIT_.
  std::map<std::string, std::string> env;
  // Letters, digits, '_' and '-'; "docker" by default.
  std::string provider = "docker";
  // Empty: the default template (kDefaultTemplate in vagrantfile.h).
  std::string template_text;
};

// The keys ParseVagrantProperties accepts, spelled as documented: the very list it refuses
// other keys by. Thread-safe.
const std::vector<std::string>& VagrantPropertyKeys();

// Checks and decodes `properties`. INVALID_ARGUMENT naming the field ("properties.Env.PORT:
// must be a string, got number") for unknown keys, wrong types and bad values, including a
// Template with an unknown placeholder. Thread-safe (pure).
absl::StatusOr<VagrantProperties> ParseVagrantProperties(
    const google::protobuf::Struct& properties);

}  // namespace infrakit::plugins::instance::vagrant

#endif  // INFRAKIT_PLUGINS_INSTANCE_VAGRANT_PROPERTIES_H_
