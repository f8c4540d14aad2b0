// The Vagrantfile of an instance, rendered from a template.
//
// A template is a Vagrantfile with placeholders, each replaced by a Ruby literal (quoted and
// escaped, so that no value can inject Ruby code):
//
//   {{.ID}}          the instance ID, a string ("instance-1796...": also the container's name)
//   {{.LogicalID}}   the logical ID, a string ("" for cattle)
//   {{.Image}}       the Image property, a string
//   {{.Cmd}}         the container's command, an array of strings (the init, then Command)
//   {{.Env}}         the container's environment, a hash of strings: INFRAKIT_INSTANCE_ID,
//                    INFRAKIT_LOGICAL_ID, INFRAKIT_GROUP, then the Env property
//   {{.CreateArgs}}  `docker create` arguments, an array: the label infrakit.instance=<ID> by
//                    which the plugin recognizes the instance's container in Docker's events
//
// The default template (kDefaultTemplate) uses the docker provider with all of them.
#ifndef INFRAKIT_PLUGINS_INSTANCE_VAGRANT_VAGRANTFILE_H_
#define INFRAKIT_PLUGINS_INSTANCE_VAGRANT_VAGRANTFILE_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace infrakit::plugins::instance::vagrant {

// The docker label carrying the instance ID on every container of the default template.
inline constexpr char kInstanceLabel[] = "infrakit.instance";

// The default template: the docker provider, no SSH, no synced folder.
extern const char kDefaultTemplate[];

// `text` as a Ruby string literal: "a\"b". Thread-safe (pure).
std::string RubyString(absl::string_view text);

// INVALID_ARGUMENT ("properties.Template: unknown placeholder {{.Foo}}") when `text` holds a
// placeholder not listed above, or an unclosed "{{". Thread-safe (pure).
absl::Status CheckTemplate(absl::string_view text);

// What a Vagrantfile is made of.
struct VagrantfileParams {
  // Empty: kDefaultTemplate.
  std::string template_text;
  std::string id;
  std::string logical_id;
  // The infrakit.group tag, "" without one.
  std::string group;
  std::string image;
  // The spec's init script.
  std::string init;
  // Empty: none.
  std::string command;
  std::map<std::string, std::string> env;
};

// The Vagrantfile for `params`. Errors as CheckTemplate. Thread-safe (pure).
absl::StatusOr<std::string> RenderVagrantfile(const VagrantfileParams& params);

}  // namespace infrakit::plugins::instance::vagrant

#endif  // INFRAKIT_PLUGINS_INSTANCE_VAGRANT_VAGRANTFILE_H_
