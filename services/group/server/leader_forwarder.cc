#include "services/group/server/leader_forwarder.h"

#include <grpcpp/grpcpp.h>

#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "services/group/server/stream_metadata.h"

namespace infrakit::services::group::server {

namespace v1 = ::infrakit::group::v1;

// The leader as last resolved: its address and a stub on a channel to it.
struct LeaderForwarder::Target {
  ha::LeaderValue leader;
  std::unique_ptr<v1::GroupService::Stub> stub;

  // The leader's answer passed through; a failure to reach it (UNAVAILABLE, DEADLINE_EXCEEDED)
  // names it, so that the caller knows which hop failed.
  absl::Status Explain(const grpc::Status& status) const {
    absl::Status converted = common::FromGrpcStatus(status);
    if (absl::IsUnavailable(converted) || absl::IsDeadlineExceeded(converted)) {
      return absl::Status(converted.code(),
                          absl::StrCat("forwarding to the leader ", leader.identity, " at ",
                                       leader.peer_address, ": ", converted.message()));
    }
    return converted;
  }
};

namespace {

void SetDeadline(grpc::ClientContext* context, absl::Time deadline) {
  if (deadline != absl::InfiniteFuture()) context->set_deadline(absl::ToChronoTime(deadline));
}

// One forwarded unary call: `call` is the stub's method.
template <typename Response, typename Call>
absl::StatusOr<Response> Unary(const LeaderForwarder::Target* target, absl::Time deadline,
                               Call call) {
  grpc::ClientContext context;
  SetDeadline(&context, deadline);
  Response response;
  grpc::Status status = call(target->stub.get(), &context, &response);
  if (!status.ok()) return target->Explain(status);
  return response;
}

// A forwarded stream: a reader on a thread of its own feeding the subscriber's callbacks. The
// state is shared with the thread, so that a subscription destroyed from its own callback (the
// thread) lets the thread finish on its own.
template <typename Message>
class ForwardedStream final : public Subscription {
 public:
  using Open = std::function<std::unique_ptr<grpc::ClientReader<Message>>(v1::GroupService::Stub*,
                                                                          grpc::ClientContext*)>;

  static absl::StatusOr<std::unique_ptr<Subscription>> Start(
      std::shared_ptr<LeaderForwarder::Target> target, const Open& open,
      std::function<void(const Message&)> on_message, StreamEndCallback on_end) {
    auto state = std::make_shared<State>();
    state->target = std::move(target);
    state->on_message = std::move(on_message);
    state->on_end = std::move(on_end);
    state->reader = open(state->target->stub.get(), &state->context);
    state->reader->WaitForInitialMetadata();
    const auto& metadata = state->context.GetServerInitialMetadata();
    if (metadata.find(kStreamSubscribedMetadataKey) == metadata.end()) {
      // Either refused before any subscription (NOT_FOUND, "not the leader"..., the leader
      // gone), or ended while subscribing (an update that completed at once): the stream is
      // over either way, so read it to its end.
      Message message;
      while (state->reader->Read(&message)) state->early.push_back(message);
      grpc::Status ended = state->reader->Finish();
      if (!ended.ok() && state->early.empty()) return state->target->Explain(ended);
      state->early_end = ended;  // delivered by the thread, as a stream that was accepted
    }
    auto stream = std::unique_ptr<ForwardedStream>(new ForwardedStream(state));
    stream->thread_ = std::thread([state] { Run(state.get()); });
    {
      absl::MutexLock lock(&state->mu);
      state->thread_id = stream->thread_.get_id();
    }
    return std::unique_ptr<Subscription>(std::move(stream));
  }

  ~ForwardedStream() override {
    Cancel();
    if (std::this_thread::get_id() == thread_.get_id()) {
      thread_.detach();  // destroyed from its own callback: the thread holds the state
    } else {
      thread_.join();
    }
  }

  void Cancel() override {
    bool own_thread;
    {
      absl::MutexLock lock(&state_->mu);
      state_->cancelled = true;
      own_thread = std::this_thread::get_id() == state_->thread_id;
    }
    state_->context.TryCancel();
    // Wait for a callback under way, unless this is it.
    if (!own_thread) absl::MutexLock wait(&state_->callback_mu);
  }

 private:
  struct State {
    std::shared_ptr<LeaderForwarder::Target> target;
    std::function<void(const Message&)> on_message;
    StreamEndCallback on_end;
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<Message>> reader;
    // A stream that ended while the leader subscribed: its messages and end, read by Start.
    std::vector<Message> early;
    std::optional<grpc::Status> early_end;
    // Held while a callback runs; callbacks run only while not cancelled.
    absl::Mutex callback_mu;
    absl::Mutex mu;
    bool cancelled ABSL_GUARDED_BY(mu) = false;
    std::thread::id thread_id ABSL_GUARDED_BY(mu);

    bool Cancelled() {
      absl::MutexLock lock(&mu);
      return cancelled;
    }
  };

  explicit ForwardedStream(std::shared_ptr<State> state) : state_(std::move(state)) {}

  static void Run(State* state) {
    for (const Message& message : state->early) {
      absl::MutexLock lock(&state->callback_mu);
      if (state->Cancelled()) return;
      state->on_message(message);
    }
    Message message;
    while (!state->early_end.has_value() && state->reader->Read(&message)) {
      absl::MutexLock lock(&state->callback_mu);
      if (state->Cancelled()) break;
      state->on_message(message);
    }
    const grpc::Status finished =
        state->early_end.has_value() ? *state->early_end : state->reader->Finish();
    absl::MutexLock lock(&state->callback_mu);
    if (state->Cancelled()) return;
    absl::Status end = common::FromGrpcStatus(finished);
    state->on_end(end.ok() ? end : state->target->Explain(finished));
  }

  const std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace

LeaderForwarder::LeaderForwarder(std::function<absl::StatusOr<ha::LeaderValue>()> leader)
    : leader_(std::move(leader)) {}

LeaderForwarder::~LeaderForwarder() = default;

absl::StatusOr<std::shared_ptr<LeaderForwarder::Target>> LeaderForwarder::Leader() {
  absl::StatusOr<ha::LeaderValue> seen = leader_();
  if (!seen.ok()) return seen.status();
  ha::LeaderValue leader = *std::move(seen);
  if (leader.identity.empty()) {
    return absl::UnavailableError(
        "no leader is elected (none has been yet, the last one's lease has not expired, or "
        "this group service cannot reach etcd): cannot forward the call; try again");
  }
  if (leader.peer_address.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("not the leader; the leader is ", leader.identity,
                     ", which takes no forwarded calls (it runs without --peer-listen): call it "
                     "directly"));
  }
  absl::MutexLock lock(&mu_);
  if (target_ == nullptr || target_->leader.peer_address != leader.peer_address ||
      target_->leader.identity != leader.identity) {
    auto target = std::make_shared<Target>();
    target->stub = v1::GroupService::NewStub(
        grpc::CreateChannel(leader.peer_address, grpc::InsecureChannelCredentials()));
    target->leader = std::move(leader);
    target_ = std::move(target);
  }
  return target_;
}

// Every unary method: resolve the leader, then call its stub's method of the same name.
#define INFRAKIT_FORWARD_UNARY(Method)                                                             \
  absl::StatusOr<v1::Method##Response> LeaderForwarder::Method(const v1::Method##Request& request, \
                                                               absl::Time deadline) {              \
    absl::StatusOr<std::shared_ptr<Target>> target = Leader();                                     \
    if (!target.ok()) return target.status();                                                      \
    return Unary<v1::Method##Response>(                                                            \
        target->get(), deadline,                                                                   \
        [&](v1::GroupService::Stub* stub, grpc::ClientContext* context,                            \
            v1::Method##Response* response) { return stub->Method(context, request, response); }); \
  }

INFRAKIT_FORWARD_UNARY(WatchGroup)
INFRAKIT_FORWARD_UNARY(InspectGroup)
INFRAKIT_FORWARD_UNARY(DescribeUpdate)
INFRAKIT_FORWARD_UNARY(ListGroups)
INFRAKIT_FORWARD_UNARY(SetSize)
INFRAKIT_FORWARD_UNARY(DestroyGroup)
INFRAKIT_FORWARD_UNARY(DestroyInstances)

#undef INFRAKIT_FORWARD_UNARY

absl::Status LeaderForwarder::UnwatchGroup(const v1::UnwatchGroupRequest& request,
                                           absl::Time deadline) {
  absl::StatusOr<std::shared_ptr<Target>> target = Leader();
  if (!target.ok()) return target.status();
  return Unary<v1::UnwatchGroupResponse>(
             target->get(), deadline,
             [&](v1::GroupService::Stub* stub, grpc::ClientContext* context,
                 v1::UnwatchGroupResponse* response) {
               return stub->UnwatchGroup(context, request, response);
             })
      .status();
}

absl::Status LeaderForwarder::StopUpdate(const v1::StopUpdateRequest& request,
                                         absl::Time deadline) {
  absl::StatusOr<std::shared_ptr<Target>> target = Leader();
  if (!target.ok()) return target.status();
  return Unary<v1::StopUpdateResponse>(
             target->get(), deadline,
             [&](v1::GroupService::Stub* stub, grpc::ClientContext* context,
                 v1::StopUpdateResponse* response) {
               return stub->StopUpdate(context, request, response);
             })
      .status();
}

absl::StatusOr<std::unique_ptr<Subscription>> LeaderForwarder::UpdateGroup(
    const v1::UpdateGroupRequest& request, UpdateProgressCallback on_message,
    StreamEndCallback on_end) {
  absl::StatusOr<std::shared_ptr<Target>> target = Leader();
  if (!target.ok()) return target.status();
  return ForwardedStream<v1::UpdateGroupResponse>::Start(
      *std::move(target),
      [&](v1::GroupService::Stub* stub, grpc::ClientContext* context) {
        return stub->UpdateGroup(context, request);
      },
      std::move(on_message), std::move(on_end));
}

absl::StatusOr<std::unique_ptr<Subscription>> LeaderForwarder::StreamGroupEvents(
    const v1::StreamGroupEventsRequest& request, GroupEventCallback on_message,
    StreamEndCallback on_end) {
  absl::StatusOr<std::shared_ptr<Target>> target = Leader();
  if (!target.ok()) return target.status();
  return ForwardedStream<v1::GroupEvent>::Start(
      *std::move(target),
      [&](v1::GroupService::Stub* stub, grpc::ClientContext* context) {
        return stub->StreamGroupEvents(context, request);
      },
      std::move(on_message), std::move(on_end));
}

}  // namespace infrakit::services::group::server
