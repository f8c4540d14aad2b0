// The instance properties instance-terraform understands (a group config's
// Instance.Properties), their checking, and how an instance's tags and init are merged into the
// Terraform resource, following the original InfraKit's terraform plugin:
//
//   {
//     "type": "aws_instance",            // the Terraform resource type (required)
//     "value": {                         // the resource's body, as in a .tf.json (required)
//       "ami": "ami-0c55b159cbfafe1f0",
//       "instance_type": "t3.micro",
//       "tags": {"Name": "web"}
//     }
//   }
//
// The plugin names the resource after the instance (`<type>.<instance-id>`).
#ifndef INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_PROPERTIES_H_
#define INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_PROPERTIES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::plugins::instance::terraform {

struct TerraformProperties {
  // A Terraform identifier: a letter or '_' first, then letters, digits, '_' and '-'.
  std::string type;
  // The resource's body; may be empty.
  google::protobuf::Struct value;
};

// Checks and decodes `properties`. INVALID_ARGUMENT naming the field ("properties.type: must be
// a string, got a number") for unknown keys, wrong types, a missing type or value, and a type
// that is not a Terraform identifier. Thread-safe (pure).
absl::StatusOr<TerraformProperties> ParseTerraformProperties(
    const google::protobuf::Struct& properties);

// The resource body of instance `id` made from `spec` (whose properties ParseTerraformProperties
// accepted, given here as `properties`) with `tags` (the instance's current tags) merged in, as
// the original InfraKit did per resource type:
//  - tags, plus Name = `id` unless a tag or the body names it, plus LogicalID = the spec's logical
//    ID for pets, go into the body's `tags` map (created or merged, the instance's tags winning)
//    for aws_instance, azurerm_virtual_machine, digitalocean_droplet and
//    google_compute_instance;
//  - the init script is appended (after a newline) to, or becomes, `user_data` for aws_instance
//    and digitalocean_droplet, `os_profile.custom_data` for azurerm_virtual_machine, and
//    `metadata_startup_script` for google_compute_instance.
// Other resource types get the body unchanged (the plugin keeps tags and init in its own
// record). INVALID_ARGUMENT when the body's `tags` (or `os_profile`) is there but not an object,
// or the field the init goes to is not a string. Thread-safe (pure).
absl::StatusOr<google::protobuf::Struct> ResourceBody(
    const std::string& id, const TerraformProperties& properties,
    const ::infrakit::instance::v1::Spec& spec,
    const google::protobuf::Map<std::string, std::string>& tags);

// True for the resource types whose body carries the instance's tags (see ResourceBody).
bool CarriesTags(absl::string_view type);

}  // namespace infrakit::plugins::instance::terraform

#endif  // INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_PROPERTIES_H_
