#include "services/group/ha/leader_value.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace infrakit::services::group::ha {
namespace {

constexpr absl::string_view kPeerLine = "\npeer ";

}  // namespace

std::string LeaderValue::Encode() const {
  if (peer_address.empty()) return identity;
  return absl::StrCat(identity, kPeerLine, peer_address);
}

LeaderValue LeaderValue::Decode(absl::string_view value) {
  LeaderValue decoded;
  const size_t peer = value.rfind(kPeerLine);
  if (peer == absl::string_view::npos ||
      absl::StrContains(value.substr(peer + kPeerLine.size()), '\n')) {
    decoded.identity = std::string(value);
    return decoded;
  }
  decoded.identity = std::string(value.substr(0, peer));
  decoded.peer_address = std::string(value.substr(peer + kPeerLine.size()));
  return decoded;
}

absl::Status CheckIdentity(absl::string_view identity, absl::string_view flag) {
  if (identity.empty())
    return absl::InvalidArgumentError(absl::StrCat(flag, ": must not be empty"));
  if (absl::StrContains(identity, '\n') || absl::StrContains(identity, '\r')) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": must be one line, got \"", identity, "\""));
  }
  return absl::OkStatus();
}

}  // namespace infrakit::services::group::ha
