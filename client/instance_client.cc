#include "client/instance_client.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/pages.h"
#include "common/grpc_status.h"

namespace infrakit::client {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::common::FromGrpcStatus;
using Stub = v1::InstanceService::Stub;

// The initial metadata key an InstanceService server sends once the plugin has subscribed
// (plugins/instance/instance_service.h, kWatchSubscribedMetadataKey). A server that does not send
// it (another implementation of the contract) is recognised by its first event instead: the
// contract makes it send at least SYNCED at once.
constexpr char kWatchSubscribedMetadataKey[] = "infrakit-watch";
// Events per Watch message asked of the server: a burst of thousands of changes then costs a
// few gRPC messages (the server also caps a message at 1 MiB of events, far below the channels'
// 64 MiB limit).
constexpr int kWatchEventsPerResponse = 256;

// One Watch call, owned by its WatchHandle (or by Watch() until it has one). The owner destroys
// it only after OnDone has run (CancelAndWait), and on the owner's thread: never on a gRPC
// callback thread, where dropping the last reference to the channel would make gRPC's callback
// thread pool try to join itself (grpc/grpc#32584).
class WatchCall final : public grpc::ClientReadReactor<v1::WatchResponse> {
 public:
  // `plugin` names the plugin in the statuses the call ends with (NamePlugin).
  WatchCall(std::shared_ptr<grpc::Channel> channel, const v1::WatchRequest& request,
            spi::instance::WatchSink* sink, std::string plugin)
      : channel_(std::move(channel)),
        request_(Packed(request)),
        sink_(sink),
        plugin_(std::move(plugin)) {}

  // Bursts of changes (a group of thousands converging) come packed, a few messages for
  // thousands of events; the sink still sees them one at a time.
  static v1::WatchRequest Packed(v1::WatchRequest request) {
    if (request.max_events_per_response() == 0) {
      request.set_max_events_per_response(kWatchEventsPerResponse);
    }
    return request;
  }

  void Start(v1::InstanceService::Stub* stub) {
    stub->async()->Watch(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  // Waits until the watch is established (OK) or the call ended before that (its status).
  // On error the sink has not been called and never will be; the caller then CancelAndWait()s.
  absl::Status AwaitEstablished(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &WatchCall::Settled), timeout);
    if (established_) return absl::OkStatus();
    cancelled_ = true;  // Decided under mu_: no event can reach the sink from now on.
    if (ended_) {
      absl::Status status = FromGrpcStatus(end_status_);
      if (status.ok()) status = absl::UnavailableError("Watch stream ended before it started");
      return NamePlugin(status, plugin_);
    }
    return NamePlugin(absl::DeadlineExceededError(absl::StrCat("Watch not established within ",
                                                               absl::FormatDuration(timeout))),
                      plugin_);
  }

  // Cancels the call and returns once OnDone has run: no sink call happens afterwards and the
  // object may be destroyed.
  void CancelAndWait() {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    context_.TryCancel();
    done_.WaitForNotification();
  }

  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok) return;
    const auto& metadata = context_.GetServerInitialMetadata();
    if (metadata.find(kWatchSubscribedMetadataKey) == metadata.end()) return;
    absl::MutexLock lock(&mu_);
    established_ = true;
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // The stream is over; OnDone follows.
    bool deliver;
    {
      absl::MutexLock lock(&mu_);
      established_ = true;
      deliver = !cancelled_;
    }
    if (deliver) {
      // A packed response (WatchRequest.max_events_per_response) carries its events in
      // `events`; a server that does not pack sends one in `type` and `instance`.
      if (event_.events_size() > 0) {
        for (const v1::WatchResponse& event : event_.events()) sink_->OnEvent(event);
      } else {
        sink_->OnEvent(event_);
      }
    }
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    bool notify_sink;
    {
      absl::MutexLock lock(&mu_);
      ended_ = true;
      end_status_ = status;
      // Before establishment Watch() returns the status instead; after cancellation by the
      // handle the sink hears nothing more.
      notify_sink = established_ && !cancelled_;
    }
    if (notify_sink) sink_->OnDone(NamePlugin(FromGrpcStatus(status), plugin_));
    done_.Notify();  // Last use of `this`: the owner may destroy it from here on.
  }

 private:
  bool Settled() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return established_ || ended_; }

  const std::shared_ptr<grpc::Channel> channel_;  // Keeps the connection for the call.
  grpc::ClientContext context_;
  const v1::WatchRequest request_;
  spi::instance::WatchSink* const sink_;
  const std::string plugin_;
  v1::WatchResponse event_;  // Touched only by the one pending read and its reaction.
  absl::Notification done_;

  absl::Mutex mu_;
  bool established_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
};

class GrpcWatchHandle final : public spi::instance::WatchHandle {
 public:
  explicit GrpcWatchHandle(std::unique_ptr<WatchCall> call) : call_(std::move(call)) {}
  ~GrpcWatchHandle() override { call_->CancelAndWait(); }

 private:
  std::unique_ptr<WatchCall> call_;
};

}  // namespace

InstanceClient::InstanceClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline,
                               std::string plugin, std::shared_ptr<CallCanceller> canceller)
    : channel_(std::move(channel)),
      stub_(v1::InstanceService::NewStub(channel_)),
      deadline_(deadline),
      plugin_(std::move(plugin)),
      canceller_(std::move(canceller)) {}

InstanceClient::~InstanceClient() = default;

absl::Status InstanceClient::Validate(const v1::ValidateRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Validate, request, deadline_, plugin_, canceller_.get())
      .status();
}

absl::StatusOr<v1::ProvisionResponse> InstanceClient::Provision(
    const v1::ProvisionRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Provision, request, deadline_, plugin_, canceller_.get());
}

absl::Status InstanceClient::Destroy(const v1::DestroyRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Destroy, request, deadline_, plugin_, canceller_.get())
      .status();
}

absl::StatusOr<v1::DescribeResponse> InstanceClient::Describe(const v1::DescribeRequest& request) {
  return CollectPages<v1::DescribeResponse>(
      request, [this](const v1::DescribeRequest& page) { return DescribePage(page); },
      [](v1::DescribeResponse* response) { return response->mutable_instances(); });
}

absl::StatusOr<v1::DescribeResponse> InstanceClient::DescribePage(
    const v1::DescribeRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Describe, request, deadline_, plugin_, canceller_.get());
}

absl::Status InstanceClient::DescribePages(
    const v1::DescribeRequest& request,
    const std::function<void(const v1::DescribeResponse&)>& on_page) {
  return FollowPages(
      request, [this](const v1::DescribeRequest& page) { return DescribePage(page); },
      [&on_page](const v1::DescribeResponse& page) { on_page(page); });
}

absl::StatusOr<v1::LabelResponse> InstanceClient::Label(const v1::LabelRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Label, request, deadline_, plugin_, canceller_.get());
}

absl::StatusOr<v1::BatchProvisionResponse> InstanceClient::BatchProvision(
    const v1::BatchProvisionRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.requests_size(), "requests"); !s.ok()) return s;
  if (!batch_provision_unimplemented_.load(std::memory_order_relaxed)) {
    absl::StatusOr<v1::BatchProvisionResponse> response = UnaryCall(
        stub_.get(), &Stub::BatchProvision, request, deadline_, plugin_, canceller_.get());
    if (response.ok()) {
      if (response->results_size() != request.requests_size()) {
        return absl::InternalError(absl::StrCat("BatchProvision: the plugin answered ",
                                                response->results_size(), " results for ",
                                                request.requests_size(), " requests"));
      }
      for (int i = 0; i < response->results_size(); ++i) {
        if (response->results(i).outcome_case() == v1::ProvisionResult::OUTCOME_NOT_SET) {
          return absl::InternalError(absl::StrCat("BatchProvision: the plugin's result ", i,
                                                  " has neither a response nor an error"));
        }
      }
      return response;
    }
    if (!absl::IsUnimplemented(response.status())) return response.status();
    batch_provision_unimplemented_.store(true, std::memory_order_relaxed);
  }
  return InstancePlugin::BatchProvision(request);
}

absl::StatusOr<v1::BatchDestroyResponse> InstanceClient::BatchDestroy(
    const v1::BatchDestroyRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.requests_size(), "requests"); !s.ok()) return s;
  if (!batch_destroy_unimplemented_.load(std::memory_order_relaxed)) {
    absl::StatusOr<v1::BatchDestroyResponse> response =
        UnaryCall(stub_.get(), &Stub::BatchDestroy, request, deadline_, plugin_, canceller_.get());
    if (response.ok()) {
      if (response->results_size() != request.requests_size()) {
        return absl::InternalError(absl::StrCat("BatchDestroy: the plugin answered ",
                                                response->results_size(), " results for ",
                                                request.requests_size(), " requests"));
      }
      return response;
    }
    if (!absl::IsUnimplemented(response.status())) return response.status();
    batch_destroy_unimplemented_.store(true, std::memory_order_relaxed);
  }
  return InstancePlugin::BatchDestroy(request);
}

absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> InstanceClient::Watch(
    const v1::WatchRequest& request, spi::instance::WatchSink* sink) {
  auto call = std::make_unique<WatchCall>(channel_, request, sink, plugin_);
  call->Start(stub_.get());
  absl::Status established = call->AwaitEstablished(deadline_);
  if (!established.ok()) {
    call->CancelAndWait();  // No sink call has happened nor will.
    return established;
  }
  return std::make_unique<GrpcWatchHandle>(std::move(call));
}

}  // namespace infrakit::client
