// flavor-zookeeper's properties: parsing, validation, and each member's place in the ensemble.
//
//   {
//     "ClientPort": 2181, "PeerPort": 2888, "ElectionPort": 3888,
//     "TickTime": 2000, "InitLimit": 10, "SyncLimit": 5,
//     "JvmHeapMB": 128, "JvmFlags": ["-Dzookeeper.snapCount=10000"],
//     "Mode": "member",
//     "Labels": {"tier": "zk"}  (or "Tags")
//   }
//
// Every key is optional and case-insensitive ("clientport" is "ClientPort"). The group is a
// group of pets: its allocation's logical IDs are the members' IPv4 addresses, one member each.
//
// Member IDs (ZooKeeper's `myid`): a member's 1-based position among the allocation's logical
// IDs sorted by address (127.0.0.9 before 127.0.0.10). A member that dies is replaced under
// the same logical ID, so it gets the same ID and rejoins the ensemble as itself; reordering
// the list in the group config changes no ID.
//
// Observers ("Mode": "observer") are not supported: the parser refuses them naming "Mode" (see
// docs/config.md for why).
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

// One ensemble member: its ZooKeeper ID and address.
struct Member {
  int id = 0;
  std::string ip;
};

// The keys ParseZookeeperProperties accepts, spelled as documented (matched
// case-insensitively): the very list it refuses other keys by. Thread-safe.
const std::vector<std::string>& ZookeeperPropertyKeys();

// Parses and checks `properties`. INVALID_ARGUMENT naming the field (in the documented
// spelling) for an unknown key, a key given twice (also as its synonym), a wrong type, a port
// outside 1-65535 or two ports alike, a TickTime / InitLimit / SyncLimit / JvmHeapMB out of
// range, a JvmFlags entry that is empty or not starting with '-', or a Mode other than
// "member". Thread-safe (pure).
absl::StatusOr<ZookeeperProperties> ParseZookeeperProperties(
    const google::protobuf::Struct& properties);

// The ensemble of `allocation`: its logical IDs sorted by address, numbered from 1.
// INVALID_ARGUMENT naming the field for an allocation by size ("Allocation"), no logical IDs,
// a logical ID that is not a dotted IPv4 address or one given twice
// ("Allocation.LogicalIDs[i]"). Thread-safe (pure).
absl::StatusOr<std::vector<Member>> EnsembleOf(
    const ::infrakit::flavor::v1::Allocation& allocation);

// The most members of an ensemble of `members` that may be down at once with a quorum left:
// (members - 1) / 2. Thread-safe (pure).
int MaxUnavailable(int members);

}  // namespace infrakit::plugins::flavor::zookeeper

#endif  // INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_ZOOKEEPER_PROPERTIES_H_
