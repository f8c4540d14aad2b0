// What the leader key holds: the leader's identity and where it takes forwarded calls.
#ifndef INFRAKIT_SERVICES_GROUP_HA_LEADER_VALUE_H_
#define INFRAKIT_SERVICES_GROUP_HA_LEADER_VALUE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace infrakit::services::group::ha {

// The leader key's value, as text that `etcdctl get` shows readably: the identity on the first
// line, then "peer HOST:PORT" on a second line when the leader listens for forwarded calls.
struct LeaderValue {
  // The --advertise identity, named in followers' errors and ListGroups. No line breaks.
  std::string identity;
  // The leader's --peer-listen address (HOST:PORT); "" when it takes no forwarded calls.
  std::string peer_address;

  // The value to write. Thread-safe (pure).
  std::string Encode() const;
  // Reads a value written by Encode. A value of one line (an older leader) is all identity.
  // Never fails: what is not understood stays part of the identity, so that it is still shown.
  static LeaderValue Decode(absl::string_view value);
};

// INVALID_ARGUMENT naming `flag` when `identity` cannot be a leader's identity (empty, or with a
// line break, which would make the leader key's value ambiguous).
absl::Status CheckIdentity(absl::string_view identity, absl::string_view flag);

}  // namespace infrakit::services::group::ha

#endif  // INFRAKIT_SERVICES_GROUP_HA_LEADER_VALUE_H_
