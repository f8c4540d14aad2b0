// Reading what the terraform CLI prints: the state of `terraform show -json` and the error
// diagnostics of a failed `terraform apply -no-color`.
#ifndef INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_TERRAFORM_OUTPUT_H_
#define INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_TERRAFORM_OUTPUT_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace infrakit::plugins::instance::terraform {

// The managed resources of the root module in `terraform show -json`'s output (Terraform's JSON
// output format: {"format_version": ..., "values": {"root_module": {"resources": [{"address",
// "mode", "type", "name", "values"}, ...]}}}), by address ("aws_instance.instance-1") -> their
// attribute values. A state without "values" (nothing applied yet) has no resources. Data
// sources (mode "data") and child modules are left out. Errors: INVALID_ARGUMENT when the text is
// not such a document. Thread-safe (pure).
absl::StatusOr<std::map<std::string, google::protobuf::Struct>> ParseShowJson(
    absl::string_view text);

// The errors of a failed apply's output (stderr, without colours), by the resource address
// each names ("Error: <summary>" then "with <address>," within the diagnostic): address -> the
// diagnostic's text (summary and detail, several joined by a blank line). Diagnostics naming no
// resource are under "" (so a failure that names nothing still has its text). The box drawing
// Terraform adds on terminals ("│ ", "╷", "╵") is stripped. Thread-safe (pure).
std::map<std::string, std::string> ParseApplyErrors(absl::string_view output);

}  // namespace infrakit::plugins::instance::terraform

#endif  // INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_TERRAFORM_OUTPUT_H_
