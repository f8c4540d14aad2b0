#include "common/etcd/watcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/etcd/proto_convert.h"
#include "common/grpc_status.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "glog/logging.h"

namespace infrakit::etcd {
namespace {

constexpr absl::Duration kFirstPause = absl::Milliseconds(100);
constexpr absl::Duration kMaxPause = absl::Seconds(1);

}  // namespace

Watcher::Watcher(Endpoints* endpoints, std::string key, std::string range_end,
                 int64_t start_revision, std::function<void(const WatchUpdate&)> on_update)
    : endpoints_(endpoints),
      key_(std::move(key)),
      range_end_(std::move(range_end)),
      start_revision_(start_revision),
      on_update_(std::move(on_update)) {
  thread_ = std::thread([this] { Run(); });
}

Watcher::~Watcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  thread_.join();
}

bool Watcher::Pause(absl::Duration pause) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), pause);
  return !stopping_;
}

void Watcher::Run() {
  int64_t next_revision = start_revision_;
  absl::Duration pause = kFirstPause;
  while (true) {
    const Endpoints::Member member = endpoints_->Current();
    bool progressed = false;
    absl::Status status = WatchOnce(member, &next_revision, &progressed);
    if (absl::IsCancelled(status)) return;
    if (absl::IsOutOfRange(status)) {
      LOG(WARNING) << status;
      WatchUpdate end;
      end.revision = next_revision - 1;
      end.status = status;
      on_update_(end);
      return;
    }
    LOG(WARNING) << "etcd " << member.address << ": watch of " << key_
                 << " ended, watching again from revision " << next_revision << " on another "
                 << "member: " << status;
    endpoints_->Failed(member.index);
    pause = progressed ? kFirstPause : std::min(pause * 2, kMaxPause);
    if (!Pause(pause)) return;
  }
}

absl::Status Watcher::WatchOnce(const Endpoints::Member& member, int64_t* next_revision,
                                bool* progressed) {
  etcdserverpb::Watch::Stub stub(member.channel);
  grpc::ClientContext context;
  RequireLeader(&context);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    active_ = &context;
  }
  auto stream = stub.Watch(&context);
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(key_);
  create->set_range_end(range_end_);
  create->set_start_revision(*next_revision);
  create->set_progress_notify(true);
  absl::Status result = absl::OkStatus();
  etcdserverpb::WatchResponse response;
  if (stream->Write(request)) {
    while (stream->Read(&response)) {
      if (response.compact_revision() > 0) {
        result = absl::OutOfRangeError(absl::StrCat("etcd watch of ", key_, " from revision ",
                                                    *next_revision, ": compacted up to revision ",
                                                    response.compact_revision()));
        break;
      }
      if (response.canceled()) {
        result =
            absl::UnavailableError(absl::StrCat("cancelled by etcd: ", response.cancel_reason()));
        break;
      }
      WatchUpdate update;
      update.revision = response.header().revision();
      for (const mvccpb::Event& event : response.events()) {
        update.events.push_back(FromProto(event));
        *next_revision = std::max(*next_revision, event.kv().mod_revision() + 1);
      }
      if (update.events.empty() && (!response.created() || *next_revision == 0)) {
        // A progress notification (etcd sends them only once the watcher has caught up), or
        // the creation of a watch "from now": nothing up to the header's revision is missed.
        // (The creation of a watch from a past revision comes before the past events.)
        *next_revision = std::max(*next_revision, update.revision + 1);
      }
      *progressed = true;
      if (!update.events.empty()) on_update_(update);
    }
  }
  // Leaving a stream that is still open (compacted, cancelled by etcd): end it here.
  if (!result.ok()) context.TryCancel();
  const grpc::Status finished = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
    if (stopping_) return absl::CancelledError("stopping");
  }
  if (result.ok()) {
    // The stream died on its own: whatever its status says (CANCELLED included), watch again.
    result = absl::UnavailableError(
        absl::StrCat("the stream ended: ", common::FromGrpcStatus(finished).ToString()));
  }
  return result;
}

}  // namespace infrakit::etcd
