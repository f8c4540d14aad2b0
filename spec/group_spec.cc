#include "spec/group_spec.h"

// OpenSSL 3 deprecates the SHA1_* functions in favour of EVP_Digest, which fetches the digest
// through OpenSSL's provider machinery: ~3 MiB more resident memory in every process that
// hashes a config (measured in docs/benchmarks.md), against ~30 KiB of code for SHA1_* alone.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cmath>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/json_object.h"
#include "glog/logging.h"
#include "google/protobuf/struct.pb.h"
#include "spec/canonical_json.h"

namespace infrakit::spec {
namespace {

using google::protobuf::Value;
using infrakit::common::InvalidAt;
using infrakit::flavor::v1::Allocation;
using infrakit::group::v1::GroupSpec;
using infrakit::group::v1::IntOrPercent;
using infrakit::group::v1::PluginSpec;
using infrakit::group::v1::RemediationPolicy;
using infrakit::group::v1::UpdatePolicy;

// Group IDs and plugin names become file names (state files, sockets), so they are kept to
// characters that are safe there, and short enough for a unix socket path.
constexpr size_t kMaxNameLength = 128;

bool IsZero(const IntOrPercent& v) {
  return (v.value_case() == IntOrPercent::kCount && v.count() == 0) ||
         (v.value_case() == IntOrPercent::kPercent && v.percent() == 0);
}

// ValidateGroupSpec's rules for a spec's update policy (`allocation`: the spec's).
absl::Status ValidateUpdatePolicy(const UpdatePolicy& policy, const Allocation& allocation) {
  for (const auto& [field, value] :
       {std::pair<absl::string_view, const IntOrPercent*>{"max_surge", &policy.max_surge()},
        {"max_unavailable", &policy.max_unavailable()}}) {
    const std::string path = absl::StrCat("update_policy.", field);
    switch (value->value_case()) {
      case IntOrPercent::kCount:
        if (value->count() < 0) {
          return InvalidAt(absl::StrCat(path, ".count"),
                           absl::StrCat("must be >= 0, got ", value->count()));
        }
        break;
      case IntOrPercent::kPercent:
        if (value->percent() < 0 || value->percent() > 100) {
          return InvalidAt(absl::StrCat(path, ".percent"),
                           absl::StrCat("must be between 0 and 100, got ", value->percent()));
        }
        break;
      case IntOrPercent::VALUE_NOT_SET:
        // Leave the field out for the default; an empty one is a client's mistake.
        if (field == "max_surge" ? policy.has_max_surge() : policy.has_max_unavailable()) {
          return InvalidAt(path, "set count or percent (or leave the field out)");
        }
        break;
    }
  }
  if (UpdateCannotReplace(policy, allocation)) {
    return InvalidAt("update_policy",
                     "max_surge and max_unavailable cannot both be 0: the update could never "
                     "replace a member");
  }
  if (!std::isfinite(policy.min_ready_seconds()) || policy.min_ready_seconds() < 0) {
    return InvalidAt("update_policy.min_ready_seconds",
                     absl::StrCat("must be >= 0, got ", JsonNumber(policy.min_ready_seconds())));
  }
  if (!std::isfinite(policy.health_deadline_seconds()) || policy.health_deadline_seconds() < 0) {
    return InvalidAt("update_policy.health_deadline_seconds",
                     absl::StrCat("must be >= 0 (0: the default), got ",
                                  JsonNumber(policy.health_deadline_seconds())));
  }
  if (!infrakit::group::v1::FailureAction_IsValid(policy.on_failure())) {
    return InvalidAt("update_policy.on_failure",
                     absl::StrCat("unknown action ", static_cast<int>(policy.on_failure())));
  }
  return absl::OkStatus();
}

// ValidateGroupSpec's rules for a spec's remediation policy.
absl::Status ValidateRemediation(const RemediationPolicy& policy) {
  for (const auto& [field, seconds] :
       {std::pair<absl::string_view, double>{"unhealthy_seconds", policy.unhealthy_seconds()},
        {"initial_delay_seconds", policy.initial_delay_seconds()},
        {"probe_interval_seconds", policy.probe_interval_seconds()}}) {
    if (!std::isfinite(seconds) || seconds < 0) {
      return InvalidAt(absl::StrCat("remediation.", field),
                       absl::StrCat("must be >= 0 (0: the default), got ", JsonNumber(seconds)));
    }
  }
  if (policy.max_concurrent() < 0) {
    return InvalidAt("remediation.max_concurrent",
                     absl::StrCat("must be >= 0 (0: the default), got ", policy.max_concurrent()));
  }
  if (policy.max_unhealthy_percent() < 0 || policy.max_unhealthy_percent() > 100) {
    return InvalidAt("remediation.max_unhealthy_percent",
                     absl::StrCat("must be between 0 (the default) and 100, got ",
                                  policy.max_unhealthy_percent()));
  }
  return absl::OkStatus();
}

// ValidateGroupSpec's rules for a spec's allocation.
absl::Status ValidateAllocation(const Allocation& allocation) {
  switch (allocation.kind_case()) {
    case Allocation::kSize:
      if (allocation.size() < 0) {
        return InvalidAt("allocation.size", absl::StrCat("must be >= 0, got ", allocation.size()));
      }
      return absl::OkStatus();
    case Allocation::kLogicalIds: {
      const std::vector<std::string> ids(allocation.logical_ids().ids().begin(),
                                         allocation.logical_ids().ids().end());
      return ValidateLogicalIds(
          ids, [](size_t i) { return absl::StrCat("allocation.logical_ids.ids[", i, "]"); });
    }
    case Allocation::KIND_NOT_SET:
      break;
  }
  return InvalidAt("allocation", "required: set size (cattle) or logical_ids (pets)");
}

}  // namespace

absl::Status ValidateName(absl::string_view field, absl::string_view name) {
  if (name.empty()) return InvalidAt(field, "must not be empty");
  if (name.size() > kMaxNameLength) {
    return InvalidAt(
        field, absl::StrCat("must be at most ", kMaxNameLength, " characters, got ", name.size()));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return InvalidAt(field,
                       absl::StrCat("may only contain letters, digits, '.', '_' and '-', got ",
                                    JsonString(name)));
    }
  }
  if (name.front() == '.') {
    return InvalidAt(field, absl::StrCat("must not start with '.', got ", JsonString(name)));
  }
  return absl::OkStatus();
}

absl::Status ValidateLogicalIds(absl::Span<const std::string> ids,
                                absl::FunctionRef<std::string(size_t)> field_of) {
  absl::flat_hash_map<absl::string_view, size_t> seen;
  seen.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty()) return InvalidAt(field_of(i), "a logical ID must not be empty");
    auto [it, inserted] = seen.emplace(ids[i], i);
    if (!inserted) {
      return InvalidAt(field_of(i), absl::StrCat("duplicate logical ID ", JsonString(ids[i]),
                                                 " (also at [", it->second, "])"));
    }
  }
  return absl::OkStatus();
}

bool IsAllocationKey(absl::string_view key) {
  return absl::EqualsIgnoreCase(key, "size") || absl::EqualsIgnoreCase(key, "logicalids") ||
         absl::EqualsIgnoreCase(key, "ips");
}

bool UpdateCannotReplace(const UpdatePolicy& policy, const Allocation& allocation) {
  return allocation.kind_case() == Allocation::kSize && policy.has_max_surge() &&
         policy.has_max_unavailable() && IsZero(policy.max_surge()) &&
         IsZero(policy.max_unavailable());
}

absl::Status ValidateGroupSpec(const GroupSpec& spec) {
  if (absl::Status s = ValidateName("id", spec.id()); !s.ok()) return s;
  for (const auto& [field, section] :
       {std::pair<absl::string_view, const PluginSpec*>{"instance", &spec.instance()},
        {"flavor", &spec.flavor()}}) {
    if (absl::Status s = ValidateName(absl::StrCat(field, ".plugin"), section->plugin()); !s.ok()) {
      return s;
    }
  }
  // The config parser lifts these out of the flavor's properties; a spec that still has them
  // there would give two sources for the allocation.
  for (const auto& [key, value] : spec.flavor().properties().fields()) {
    if (IsAllocationKey(key)) {
      return InvalidAt(absl::StrCat("flavor.properties.", key),
                       "the allocation belongs in allocation, not in the flavor's properties");
    }
  }
  if (absl::Status s = ValidateAllocation(spec.allocation()); !s.ok()) return s;
  if (spec.has_update_policy()) {
    if (absl::Status s = ValidateUpdatePolicy(spec.update_policy(), spec.allocation()); !s.ok()) {
      return s;
    }
  }
  if (spec.has_remediation()) return ValidateRemediation(spec.remediation());
  return absl::OkStatus();
}

std::string ConfigSha(const GroupSpec& spec) {
  auto section = [](const PluginSpec& plugin) {
    Value value;
    auto& fields = *value.mutable_struct_value()->mutable_fields();
    fields["Plugin"].set_string_value(plugin.plugin());
    *fields["Properties"].mutable_struct_value() = plugin.properties();
    return value;
  };
  Value document;
  auto& fields = *document.mutable_struct_value()->mutable_fields();
  fields["Flavor"] = section(spec.flavor());
  fields["Instance"] = section(spec.instance());
  const std::string canonical = CanonicalJson(document);

  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA_CTX context;
  // The SHA1_* functions fail only on a null argument.
  CHECK(SHA1_Init(&context) == 1 &&
        SHA1_Update(&context, canonical.data(), canonical.size()) == 1 &&
        SHA1_Final(digest, &context) == 1)
      << "OpenSSL could not compute a SHA-1";
  std::string encoded =
      absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  absl::StrReplaceAll({{"+", "-"}, {"/", "_"}}, &encoded);
  return encoded;
}

}  // namespace infrakit::spec
