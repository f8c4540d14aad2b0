// The `<instance-id>.tf.json` file of an instance: the Terraform resource that is the instance,
// and the plugin's record of it (spec, tags, logical ID), which is all the plugin keeps.
//
//   {
//     "//": "{\"id\":\"instance-1\",\"tags\":{...},\"spec\":{...}}",
//     "resource": {"aws_instance": {"instance-1": { ...the body, tags and init merged... }}}
//   }
//
// Terraform ignores a top-level "//" property (a comment in its JSON syntax); the plugin keeps
// its record there as a JSON string, so that one file is the whole instance: writing it creates
// the instance, removing it destroys it, and a restarted plugin re-adopts it from it.
#ifndef INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_TF_FILE_H_
#define INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_TF_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::plugins::instance::terraform {

// ".tf.json".
inline constexpr char kTfJsonSuffix[] = ".tf.json";

// The file name of instance `id`: "<id>.tf.json".
std::string TfFileName(absl::string_view id);

// The instance ID of a file name ("instance-1.tf.json" -> "instance-1"); "" when the name is
// not an instance's file (not "instance-<digits>.tf.json"). Thread-safe (pure).
std::string IdOfTfFileName(absl::string_view name);

// The Terraform address of instance `id` of resource type `type`: "<type>.<id>".
std::string ResourceAddress(absl::string_view type, absl::string_view id);

// The file's text for `record` (id, logical ID, tags, spec with properties that
// ParseTerraformProperties accepts), tags and init merged as ResourceBody says. Errors:
// INVALID_ARGUMENT from the properties or the merge. Thread-safe (pure).
absl::StatusOr<std::string> EncodeTfFile(const ::infrakit::instance::v1::Description& record);

// The record kept in a file's text (no state, no runtime properties). Errors: INVALID_ARGUMENT
// when the text is not JSON, has no record, or the record does not parse. Thread-safe (pure).
absl::StatusOr<::infrakit::instance::v1::Description> DecodeTfFile(absl::string_view text);

}  // namespace infrakit::plugins::instance::terraform

#endif  // INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_TF_FILE_H_
