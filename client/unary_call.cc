#include "client/unary_call.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace infrakit::client {

absl::Status NamePlugin(absl::Status status, absl::string_view plugin) {
  if (plugin.empty()) return status;
  absl::string_view what;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      what = " is unavailable: ";
      break;
    case absl::StatusCode::kDeadlineExceeded:
      what = " did not answer in time: ";
      break;
    default:
      return status;
  }
  const std::string prefix = absl::StrCat("plugin \"", plugin, "\"", what);
  if (absl::StartsWith(status.message(), prefix)) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

absl::Status CallCancelled(absl::string_view plugin) {
  return absl::CancelledError(
      plugin.empty()
          ? std::string("call cancelled: the caller is shutting down")
          : absl::StrCat("call to plugin \"", plugin, "\" cancelled: the caller is shutting down"));
}

}  // namespace infrakit::client
