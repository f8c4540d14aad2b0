// flavor-zookeeper's properties: parsing, validation, and each member's place in the ensemble.
//
//   {
//     "ClientPort": 2181, "PeerPort": 2888, "ElectionPort": 3888,
//     "TickTime": 2000, "InitLimit": 10, "SyncLimit": 5,
//     "JvmHeapMB": 128, "JvmFlags": ["-Dzookeeper.snapCount=10000"],
//     "Mode": "member",                         or "observer"
//     "Members": ["127.0.0.11", ...],           observers only: the voting members' addresses
//     "Labels": {"tier": "zk"}  (or "Tags")
//   }
//
// Every key is optional (but "Members" for observers) and case-insensitive ("clientport" is
// "ClientPort"). The group is a group of pets: its allocation's logical IDs are the servers'
// IPv4 addresses, one server each: the voting members of the ensemble ("Mode": "member"), or
// observers of the ensemble whose members are "Members" ("Mode": "observer").
//
// Member IDs (ZooKeeper's `myid`): a member's 1-based position among the allocation's logical
// IDs sorted by address (127.0.0.9 before 127.0.0.10). A member that dies is replaced under
// the same logical ID, so it gets the same ID and rejoins the ensemble as itself; reordering
// the list in the group config changes no ID. Observers are numbered the same way from 101
// among their group's logical IDs (so up to 100 members and any number of observers never
// share an ID).
#ifndef INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_ZOOKEEPER_PROPERTIES_H_
#define INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_ZOOKEEPER_PROPERTIES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "infrakit/flavor/v1/flavor.pb.h"

namespace infrakit::plugins::flavor::zookeeper {

// Parsed flavor properties, defaults filled in.
struct ZookeeperProperties {
  enum class Mode { kMember, kObserver };
  Mode mode = Mode::kMember;
  // Observers: the voting members' IPv4 addresses (distinct, at least one, at most 100). Empty
  // for members.
  std::vector<std::string> members;
  int client_port = 2181;
  int peer_port = 2888;
  int election_port = 3888;
  // ZooKeeper's tickTime, in milliseconds.
  int tick_time_ms = 2000;
  // In ticks.
  int init_limit = 10;
  int sync_limit = 5;
  // The JVM's -Xmx, in MiB (-Xms is 16m).
  int jvm_heap_mb = 128;
  // Extra JVM flags, passed after the standard ones, each as one word.
  std::vector<std::string> jvm_flags;
  // From "Labels" or "Tags".
  std::map<std::string, std::string> tags;
};

// One server of an ensemble: its ZooKeeper ID and address, and whether it is an observer.
struct Member {
  int id = 0;
  std::string ip;
  bool observer = false;
};

// An ensemble as a group sees it.
struct Ensemble {
  // The voting members, by ID.
  std::vector<Member> members;
  // The group's own servers, by ID: `members` again for a group of members, the observers for
  // a group of observers.
  std::vector<Member> allocated;
};

// Observers' IDs are this plus their 1-based position.
inline constexpr int kFirstObserverId = 100;
inline constexpr int kMaxMembers = 100;

// The keys ParseZookeeperProperties accepts, spelled as documented (matched
// case-insensitively): the very list it refuses other keys by. Thread-safe.
const std::vector<std::string>& ZookeeperPropertyKeys();

// Parses and checks `properties`. INVALID_ARGUMENT naming the field (in the documented
// spelling) for an unknown key, a key given twice (also as its synonym), a wrong type, a port
// outside 1-65535 or two ports alike, a TickTime / InitLimit / SyncLimit / JvmHeapMB out of
// range, a JvmFlags entry that is empty or not starting with '-', a Mode other than "member"
// or "observer", Members given for members or missing for observers, or a Members entry that
// is not an IPv4 address or repeats one. Thread-safe (pure).
absl::StatusOr<ZookeeperProperties> ParseZookeeperProperties(
    const google::protobuf::Struct& properties);

// The ensemble of a group with `properties` and `allocation`: for members, the allocation's
// logical IDs sorted by address and numbered from 1; for observers, the "Members" numbered
// so, and the allocation's logical IDs sorted and numbered from kFirstObserverId + 1.
// INVALID_ARGUMENT naming the field for an allocation by size ("Allocation"), no logical IDs,
// more than kMaxMembers members, a logical ID that is not a dotted IPv4 address, one given
// twice or (observers) one of the Members ("Allocation.LogicalIDs[i]"). Thread-safe (pure).
absl::StatusOr<Ensemble> EnsembleOf(const ZookeeperProperties& properties,
                                    const ::infrakit::flavor::v1::Allocation& allocation);

// The most members of an ensemble of `members` that may be down at once with a quorum left:
// (members - 1) / 2. Thread-safe (pure).
int MaxUnavailable(int members);

}  // namespace infrakit::plugins::flavor::zookeeper

#endif  // INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_ZOOKEEPER_PROPERTIES_H_
