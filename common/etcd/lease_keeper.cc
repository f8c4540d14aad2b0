#include "common/etcd/lease_keeper.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "glog/logging.h"

namespace infrakit::etcd {
namespace {

// Pause before retrying a failed keepalive (on the next member).
constexpr absl::Duration kRetryPause = absl::Milliseconds(100);

}  // namespace

LeaseKeeper::LeaseKeeper(Endpoints* endpoints, int64_t id, absl::Duration ttl,
                         absl::Duration call_timeout,
                         std::function<void(const absl::Status&)> on_lost)
    : endpoints_(endpoints),
      id_(id),
      ttl_(ttl),
      call_timeout_(call_timeout),
      on_lost_(std::move(on_lost)),
      valid_until_(absl::Now() + ttl) {  // the lease was granted just before
  thread_ = std::thread([this] { Run(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  thread_.join();
}

absl::Time LeaseKeeper::ValidUntil() const {
  absl::MutexLock lock(&mu_);
  return valid_until_;
}

void LeaseKeeper::SetValidUntil(absl::Time until) {
  absl::MutexLock lock(&mu_);
  valid_until_ = until;
}

bool LeaseKeeper::Pause(absl::Time until) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(&stopping_), until);
  return !stopping_;
}

absl::StatusOr<absl::Duration> LeaseKeeper::KeepAliveOnce(const Endpoints::Member& member,
                                                          absl::Time deadline) {
  etcdserverpb::Lease::Stub stub(member.channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  RequireLeader(&context);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    active_ = &context;
  }
  auto stream = stub.LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(id_);
  etcdserverpb::LeaseKeepAliveResponse response;
  const bool answered = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();  // etcd ends the stream when the client half-closes it
  const grpc::Status finished = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }
  if (!answered) {
    absl::Status status = common::FromGrpcStatus(finished);
    if (status.ok()) status = absl::UnavailableError("keepalive stream ended without an answer");
    return absl::Status(status.code(), absl::StrCat("etcd ", member.address,
                                                    ": lease keepalive: ", status.message()));
  }
  if (response.ttl() <= 0) {
    return absl::NotFoundError(absl::StrCat("etcd lease ", id_, " expired"));
  }
  return absl::Seconds(response.ttl());
}

void LeaseKeeper::Run() {
  absl::Time expiry = absl::Now() + ttl_;  // the lease was granted just before
  while (true) {
    const Endpoints::Member member = endpoints_->Current();
    const absl::Time sent = absl::Now();
    absl::StatusOr<absl::Duration> granted =
        KeepAliveOnce(member, std::min(sent + call_timeout_, std::max(expiry, sent + kRetryPause)));
    absl::Time next;
    if (granted.ok()) {
      expiry = sent + *granted;
      SetValidUntil(expiry);
      next = sent + *granted / 3;
    } else if (absl::IsNotFound(granted.status())) {
      LOG(WARNING) << granted.status();
      SetValidUntil(absl::InfinitePast());
      on_lost_(granted.status());
      return;
    } else {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
      }
      VLOG(1) << granted.status();
      endpoints_->Failed(member.index);
      if (absl::Now() >= expiry) {
        absl::Status lost = absl::UnavailableError(
            absl::StrCat("etcd lease ", id_, ": no keepalive succeeded within its TTL of ",
                         absl::FormatDuration(ttl_), "; last error: ", granted.status().message()));
        LOG(WARNING) << lost;
        SetValidUntil(absl::InfinitePast());
        on_lost_(lost);
        return;
      }
      next = absl::Now() + kRetryPause;
    }
    if (!Pause(next)) return;
  }
}

}  // namespace infrakit::etcd
