// Encoding and decoding of instance-file's instance files (the original InfraKit's format).
//
//   {
//     "ID": "instance-1475045378",
//     "LogicalID": null,
//     "Tags": {"infrakit.group": "cattle", ...},
//     "Spec": {
//       "Properties": {"Note": "Instance properties version 1.0"},
//       "Tags": {...},
//       "Init": "\nsudo apt-get update -y\n...",
//       "LogicalID": null,
//       "Attachments": null
//     },
//     "IdempotencyKey": "...",       (only when Provision had one)
//     "FormatVersion": 1             (absent from older files: read as 1)
//   }
//
// Pretty-printed with a 2-space indent, keys of objects sorted, so that files diff well and a
// user can edit them by hand.
#ifndef INFRAKIT_PLUGINS_INSTANCE_FILE_INSTANCE_FILE_FORMAT_H_
#define INFRAKIT_PLUGINS_INSTANCE_FILE_INSTANCE_FILE_FORMAT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::plugins::instance::file {

// The format EncodeInstanceFile writes; DecodeInstanceFile refuses newer ones.
inline constexpr int kInstanceFileFormat = 1;

// Encodes `instance` (id, logical_id, tags and spec; state and properties are not stored; the
// spec's idempotency_key becomes "IdempotencyKey"). INTERNAL only if protobuf's JSON printer
// fails. Thread-safe (pure).
absl::StatusOr<std::string> EncodeInstanceFile(
    const ::infrakit::instance::v1::Description& instance);

// Decodes the contents of the file named `id`. The file name is the instance's ID: an "ID"
// inside the file that differs from it is ignored. Returns a description with id, logical_id,
// tags and spec (whose idempotency_key is the file's "IdempotencyKey"); state and properties
// are left for the caller. INVALID_ARGUMENT naming the field when the contents are not an
// instance file; FAILED_PRECONDITION when its FormatVersion is newer than kInstanceFileFormat.
// Thread-safe (pure).
absl::StatusOr<::infrakit::instance::v1::Description> DecodeInstanceFile(
    absl::string_view id, absl::string_view contents);

// What DecodeInstanceFile(instance.id(), EncodeInstanceFile(instance)) returns, computed
// without the JSON round trip (the writer indexes what a reader of its file will decode, and
// parsing the file it just wrote cost as much as writing it). nullopt when that is not certain
// without the round trip: an empty tag name or attachment ID (the decoder refuses those), or
// spec properties holding a value without a kind or a number that is not finite (JSON has no
// such values). Thread-safe (pure).
std::optional<::infrakit::instance::v1::Description> StoredForm(
    const ::infrakit::instance::v1::Description& instance);

}  // namespace infrakit::plugins::instance::file

#endif  // INFRAKIT_PLUGINS_INSTANCE_FILE_INSTANCE_FILE_FORMAT_H_
