// The limits on what one request may carry, shared by every service's gRPC adapter (instance,
// flavor and group), which checks them before any work: a request over a limit is answered
// INVALID_ARGUMENT naming the field, the limit and the size found. The limits are documented in
// the protos and docs/api.md ("Limits").
//
// Why these sizes: a plugin may hand tags to a program as environment variables (instance-process
// does), whose total Linux caps with the arguments (a quarter of the stack limit, 2 MiB by
// default), and a single one at 128 KiB: 64 tags of 256 + 4 KiB stay far below. Init scripts and
// properties are written to files; their limits keep a batch of them within the messages a
// client and server exchange.
#ifndef INFRAKIT_SPI_REQUEST_LIMITS_H_
#define INFRAKIT_SPI_REQUEST_LIMITS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"
#include "google/protobuf/struct.pb.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::spi {

// An ID: instance, logical, group, attachment ID, or an idempotency key.
inline constexpr size_t kMaxIdBytes = 256;
// A tag's (or label's) name and value, and how many one map may hold.
inline constexpr size_t kMaxTagKeyBytes = 256;
inline constexpr size_t kMaxTagValueBytes = 4 * 1024;
inline constexpr size_t kMaxTags = 64;
// An init script.
inline constexpr size_t kMaxInitBytes = 256 * 1024;
// A properties object, encoded (protobuf binary size, about its JSON size).
inline constexpr size_t kMaxPropertiesBytes = 1024 * 1024;

// Each check returns OK or INVALID_ARGUMENT naming `field` (as the request spells it, e.g.
// "requests[3].spec.tags"), the limit and the size found. All are thread-safe (pure).

// `id` (any of the IDs above) has at most kMaxIdBytes bytes.
absl::Status CheckIdSize(absl::string_view id, absl::string_view field);
// At most kMaxTags entries, each name and value within its limit.
absl::Status CheckTagsSize(const google::protobuf::Map<std::string, std::string>& tags,
                           absl::string_view field);
// At most kMaxPropertiesBytes encoded.
absl::Status CheckPropertiesSize(const google::protobuf::Struct& properties,
                                 absl::string_view field);
// A spec: its properties, tags, init, logical ID, attachment IDs and idempotency key.
absl::Status CheckSpecSize(const ::infrakit::instance::v1::Spec& spec, absl::string_view field);
// A description: its ID, logical ID, tags and spec.
absl::Status CheckDescriptionSize(const ::infrakit::instance::v1::Description& instance,
                                  absl::string_view field);

}  // namespace infrakit::spi

#endif  // INFRAKIT_SPI_REQUEST_LIMITS_H_
