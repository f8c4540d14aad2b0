// etcd_client.h's Client over etcd's v3 gRPC API, with failover between members.
#ifndef INFRAKIT_COMMON_ETCD_GRPC_ETCD_CLIENT_H_
#define INFRAKIT_COMMON_ETCD_GRPC_ETCD_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/etcd/endpoints.h"
#include "common/etcd/etcd_client.h"

namespace infrakit::etcd {

struct GrpcEtcdClientOptions {
  // Deadline of one attempt of a unary call (and of one keepalive). A write during an etcd
  // leader election can hang until it: keep it short and let the retry find a member that
  // answers.
  absl::Duration call_timeout = absl::Seconds(1);
  // Deadline of a unary call with all its retries.
  absl::Duration total_timeout = absl::Seconds(4);
};

// Every unary call goes to the current member (Endpoints) with `call_timeout`; UNAVAILABLE and
// DEADLINE_EXCEEDED move to the next member and retry (pausing 50 ms, then longer) until
// `total_timeout`; other errors return at once. Watches and keepalives run on threads of their
// own (watcher.h, lease_keeper.h). See Client for the contract.
//
// Thread-safe. Destroy the handles it returned before the client.
class GrpcEtcdClient : public Client {
 public:
  // `endpoints`: "[etcd://]HOST:PORT[,HOST:PORT...]". INVALID_ARGUMENT for a bad list. Does not
  // connect (channels connect on first use).
  static absl::StatusOr<std::unique_ptr<GrpcEtcdClient>> Create(absl::string_view endpoints,
                                                                GrpcEtcdClientOptions options = {});

  absl::StatusOr<RangeResult> Range(absl::string_view key, absl::string_view range_end) override;
  absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view value,
                              int64_t lease) override;
  absl::StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                const std::vector<Op>& success,
                                const std::vector<Op>& failure) override;
  absl::StatusOr<int64_t> LeaseGrant(absl::Duration ttl) override;
  absl::Status LeaseRevoke(int64_t id) override;
  std::unique_ptr<KeepAliveHandle> KeepAlive(
      int64_t id, absl::Duration ttl, std::function<void(const absl::Status&)> on_lost) override;
  std::unique_ptr<WatchHandle> Watch(absl::string_view key, absl::string_view range_end,
                                     int64_t start_revision,
                                     std::function<void(const WatchUpdate&)> on_update) override;

  // The members, "HOST:PORT,HOST:PORT".
  std::string endpoints() const { return endpoints_->ToString(); }

 private:
  GrpcEtcdClient(std::unique_ptr<Endpoints> endpoints, GrpcEtcdClientOptions options)
      : endpoints_(std::move(endpoints)), options_(options) {}

  // Runs `call` (one attempt on a member, with the context to use) with failover and retries;
  // errors are prefixed with "etcd MEMBER: WHAT: ".
  absl::Status Call(
      absl::string_view what,
      const std::function<grpc::Status(const Endpoints::Member&, grpc::ClientContext*)>& call);

  const std::unique_ptr<Endpoints> endpoints_;
  const GrpcEtcdClientOptions options_;
};

}  // namespace infrakit::etcd

#endif  // INFRAKIT_COMMON_ETCD_GRPC_ETCD_CLIENT_H_
