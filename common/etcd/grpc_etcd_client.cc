#include "common/etcd/grpc_etcd_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/etcd/lease_keeper.h"
#include "common/etcd/proto_convert.h"
#include "common/etcd/watcher.h"
#include "common/grpc_status.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "glog/logging.h"

namespace infrakit::etcd {
namespace {

constexpr absl::Duration kFirstRetryPause = absl::Milliseconds(50);
constexpr absl::Duration kMaxRetryPause = absl::Milliseconds(400);

bool Retryable(grpc::StatusCode code) {
  // etcd answers UNAVAILABLE for "no leader", "leader changed" and "request timed out".
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcEtcdClient>> GrpcEtcdClient::Create(
    absl::string_view endpoints, GrpcEtcdClientOptions options) {
  absl::StatusOr<std::unique_ptr<Endpoints>> parsed = Endpoints::Create(endpoints);
  if (!parsed.ok()) return parsed.status();
  return std::unique_ptr<GrpcEtcdClient>(new GrpcEtcdClient(*std::move(parsed), options));
}

absl::Status GrpcEtcdClient::Call(
    absl::string_view what,
    const std::function<grpc::Status(const Endpoints::Member&, grpc::ClientContext*)>& call) {
  const absl::Time give_up = absl::Now() + options_.total_timeout;
  absl::Duration pause = kFirstRetryPause;
  while (true) {
    const Endpoints::Member member = endpoints_->Current();
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(std::min(absl::Now() + options_.call_timeout, give_up)));
    const grpc::Status status = call(member, &context);
    if (status.ok()) return absl::OkStatus();
    const absl::Status error = common::FromGrpcStatus(status);
    if (!Retryable(status.error_code()) || absl::Now() + pause >= give_up) {
      return absl::Status(error.code(),
                          absl::StrCat("etcd ", member.address, ": ", what, ": ", error.message()));
    }
    VLOG(1) << "etcd " << member.address << ": " << what << ": " << error << "; retrying";
    endpoints_->Failed(member.index);
    absl::SleepFor(pause);
    pause = std::min(pause * 2, kMaxRetryPause);
  }
}

absl::StatusOr<RangeResult> GrpcEtcdClient::Range(absl::string_view key,
                                                  absl::string_view range_end) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(key));
  request.set_range_end(std::string(range_end));
  etcdserverpb::RangeResponse response;
  absl::Status status =
      Call("range", [&](const Endpoints::Member& member, grpc::ClientContext* context) {
        return etcdserverpb::KV::Stub(member.channel).Range(context, request, &response);
      });
  if (!status.ok()) return status;
  RangeResult result;
  result.revision = response.header().revision();
  result.kvs.reserve(response.kvs_size());
  for (const mvccpb::KeyValue& kv : response.kvs()) result.kvs.push_back(FromProto(kv));
  return result;
}

absl::StatusOr<int64_t> GrpcEtcdClient::Put(absl::string_view key, absl::string_view value,
                                            int64_t lease) {
  etcdserverpb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_lease(lease);
  etcdserverpb::PutResponse response;
  absl::Status status =
      Call("put", [&](const Endpoints::Member& member, grpc::ClientContext* context) {
        return etcdserverpb::KV::Stub(member.channel).Put(context, request, &response);
      });
  if (!status.ok()) return status;
  return response.header().revision();
}

absl::StatusOr<TxnResult> GrpcEtcdClient::Txn(const std::vector<Compare>& compares,
                                              const std::vector<Op>& success,
                                              const std::vector<Op>& failure) {
  etcdserverpb::TxnRequest request;
  for (const Compare& c : compares) *request.add_compare() = ToProto(c);
  for (const Op& op : success) *request.add_success() = ToProto(op);
  for (const Op& op : failure) *request.add_failure() = ToProto(op);
  etcdserverpb::TxnResponse response;
  absl::Status status =
      Call("txn", [&](const Endpoints::Member& member, grpc::ClientContext* context) {
        return etcdserverpb::KV::Stub(member.channel).Txn(context, request, &response);
      });
  if (!status.ok()) return status;
  TxnResult result;
  result.succeeded = response.succeeded();
  result.revision = response.header().revision();
  return result;
}

absl::StatusOr<int64_t> GrpcEtcdClient::LeaseGrant(absl::Duration ttl) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(ttl)));
  etcdserverpb::LeaseGrantResponse response;
  absl::Status status =
      Call("lease grant", [&](const Endpoints::Member& member, grpc::ClientContext* context) {
        return etcdserverpb::Lease::Stub(member.channel).LeaseGrant(context, request, &response);
      });
  if (!status.ok()) return status;
  if (!response.error().empty()) {
    return absl::UnavailableError(absl::StrCat("etcd: lease grant: ", response.error()));
  }
  return response.id();
}

absl::Status GrpcEtcdClient::LeaseRevoke(int64_t id) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(id);
  etcdserverpb::LeaseRevokeResponse response;
  absl::Status status =
      Call("lease revoke", [&](const Endpoints::Member& member, grpc::ClientContext* context) {
        return etcdserverpb::Lease::Stub(member.channel).LeaseRevoke(context, request, &response);
      });
  return absl::IsNotFound(status) ? absl::OkStatus() : status;
}

std::unique_ptr<KeepAliveHandle> GrpcEtcdClient::KeepAlive(
    int64_t id, absl::Duration ttl, std::function<void(const absl::Status&)> on_lost) {
  return std::make_unique<LeaseKeeper>(endpoints_.get(), id, ttl, options_.call_timeout,
                                       std::move(on_lost));
}

std::unique_ptr<WatchHandle> GrpcEtcdClient::Watch(
    absl::string_view key, absl::string_view range_end, int64_t start_revision,
    std::function<void(const WatchUpdate&)> on_update) {
  return std::make_unique<Watcher>(endpoints_.get(), std::string(key), std::string(range_end),
                                   start_revision, std::move(on_update));
}

}  // namespace infrakit::etcd
