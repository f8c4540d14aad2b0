// Keeping an etcd lease alive from a thread of its own (Client::KeepAlive).
#ifndef INFRAKIT_COMMON_ETCD_LEASE_KEEPER_H_
#define INFRAKIT_COMMON_ETCD_LEASE_KEEPER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/etcd/endpoints.h"
#include "common/etcd/etcd_client.h"

namespace infrakit::etcd {

// Sends a keepalive for one lease about every ttl/3, each on a short LeaseKeepAlive stream of
// its own with a deadline (so a member that hangs costs one deadline, never the lease) and
// etcd's "hasleader" requirement (a member cut off from the majority refuses it). A failed
// keepalive moves to the next member and is retried within 100 ms.
//
// The lease is taken as lost, once, through `on_lost` on this object's thread: NOT_FOUND when
// etcd answers that it has expired, UNAVAILABLE when no keepalive succeeded within the TTL
// counted from the moment the last successful one was *sent* (etcd counts from when it received
// it, later: so the holder gives up no later than etcd deletes its keys).
//
// Thread-safe: the constructor starts the thread, the destructor stops and joins it.
class LeaseKeeper : public KeepAliveHandle {
 public:
  // `endpoints` must outlive this object. `call_timeout` bounds each keepalive.
  LeaseKeeper(Endpoints* endpoints, int64_t id, absl::Duration ttl, absl::Duration call_timeout,
              std::function<void(const absl::Status&)> on_lost);
  ~LeaseKeeper() override;

  absl::Time ValidUntil() const override;

 private:
  void Run();
  // One keepalive on `member`, bounded by `deadline`. Returns the TTL etcd granted again;
  // NOT_FOUND when the lease is gone; the call's error otherwise.
  absl::StatusOr<absl::Duration> KeepAliveOnce(const Endpoints::Member& member,
                                               absl::Time deadline);
  void SetValidUntil(absl::Time until);
  // Waits until `until` or until stopped. Returns false when stopped.
  bool Pause(absl::Time until);

  Endpoints* const endpoints_;
  const int64_t id_;
  const absl::Duration ttl_;
  const absl::Duration call_timeout_;
  const std::function<void(const absl::Status&)> on_lost_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // See ValidUntil; InfinitePast once the lease is lost.
  absl::Time valid_until_ ABSL_GUARDED_BY(mu_);
  // The call under way, cancelled by the destructor; null between calls.
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace infrakit::etcd

#endif  // INFRAKIT_COMMON_ETCD_LEASE_KEEPER_H_
