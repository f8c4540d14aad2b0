// The members of an etcd cluster a client talks to, and which one it currently uses.
#ifndef INFRAKIT_COMMON_ETCD_ENDPOINTS_H_
#define INFRAKIT_COMMON_ETCD_ENDPOINTS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace infrakit::etcd {

// One gRPC channel per member (plaintext, connecting lazily) and the index of the member in use.
// Every call goes to the current member; a caller that saw it fail reports it (Failed) and the
// next call goes to the next member, so a dead member costs one failed call, not one per call.
//
// A failed member's channel is replaced by a new one (at most once a second): a gRPC channel
// that connected to an etcd 3.4 member while it was starting (listening, not yet serving) was
// seen never to get an HTTP/2 SETTINGS frame from it, nor on its reconnections, for as long as
// it lived, while a new channel is served at once.
//
// Thread-safe.
class Endpoints {
 public:
  // One member in use: its index, "host:port" and channel.
  struct Member {
    int index = 0;
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
  };

  // Parses "HOST:PORT[,HOST:PORT...]", optionally prefixed with "etcd://". INVALID_ARGUMENT,
  // naming the bad entry, for an empty list, an entry without a port or a port that is not a
  // number in 1..65535.
  static absl::StatusOr<std::unique_ptr<Endpoints>> Create(absl::string_view list);

  // The member to call now.
  Member Current() const;

  // Says that a call to member `index` failed: when it is still the current member, the next
  // one becomes current. Failures of a member already left are ignored (many calls may fail on
  // one dead member at once; the cluster must not be walked once per call). The member gets a
  // new channel unless it got one less than a second ago.
  void Failed(int index);

  // How many members there are.
  int size() const;

  // "HOST:PORT,HOST:PORT" as given (without "etcd://").
  std::string ToString() const;

 private:
  explicit Endpoints(std::vector<Member> members)
      : members_(std::move(members)), renewed_(members_.size(), absl::InfinitePast()) {}

  mutable absl::Mutex mu_;
  // Addresses and indices never change; channels are replaced under mu_.
  std::vector<Member> members_ ABSL_GUARDED_BY(mu_);
  // When each member's channel was last replaced.
  std::vector<absl::Time> renewed_ ABSL_GUARDED_BY(mu_);
  int current_ ABSL_GUARDED_BY(mu_) = 0;
};

// Adds what etcd needs on a stream that must end when its member loses the cluster's leader
// (etcd's "hasleader" metadata): without it, a watch or keepalive stream on a member cut off
// from the majority would stay open and silent.
void RequireLeader(grpc::ClientContext* context);

}  // namespace infrakit::etcd

#endif  // INFRAKIT_COMMON_ETCD_ENDPOINTS_H_
