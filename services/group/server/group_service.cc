#include "services/group/server/group_service.h"

#include <deque>
#include <functional>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "common/pooled_unary.h"
#include "glog/logging.h"

namespace infrakit::services::group::server {
namespace {

namespace v1 = ::infrakit::group::v1;
using ::infrakit::common::FinishOnPool;
using ::infrakit::common::ToGrpcStatus;
using ::infrakit::common::WorkerPool;

// Moves a Controller result into the gRPC-owned response.
template <typename T>
absl::Status Fill(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return result.status();
  *response = *std::move(result);
  return absl::OkStatus();
}

// Counts a call in GroupService::open_calls() for as long as this object lives.
class OpenCallCount {
 public:
  explicit OpenCallCount(std::shared_ptr<std::atomic<int>> counter) : counter_(std::move(counter)) {
    counter_->fetch_add(1);
  }
  ~OpenCallCount() { counter_->fetch_sub(1); }
  OpenCallCount(const OpenCallCount&) = delete;
  OpenCallCount& operator=(const OpenCallCount&) = delete;

 private:
  const std::shared_ptr<std::atomic<int>> counter_;
};

// A unary call answered by a Controller done callback (DestroyGroup, DestroyInstances), which
// may run long after the call started, or never before the Controller shuts down.
//
// Whoever finishes the call first wins: the done callback (with the Controller's result) or
// OnCancel (client gone or server shutting down: CANCELLED at once, so that Shutdown never
// waits for a long operation). The winner is decided in Finisher under its mutex; the loser
// does nothing. The done callback holds only the Finisher, never the reactor, which gRPC may
// have deleted by then.
template <typename Response>
class DoneReactor final : public grpc::ServerUnaryReactor {
 public:
  // What a done callback needs to finish the call, shared with the reactor.
  class Finisher {
   public:
    Finisher(DoneReactor* reactor, Response* response) : reactor_(reactor), response_(response) {}

    // Finishes the call with `result` unless it was already finished.
    void Finish(absl::StatusOr<Response> result) {
      DoneReactor* reactor;
      Response* response;
      if (!Claim(&reactor, &response)) return;
      // Only the claimer touches the response and the reactor, which lives until its OnDone,
      // which follows this Finish.
      if (result.ok()) *response = *std::move(result);
      reactor->Finish(ToGrpcStatus(result.status()));
    }

    // Whether the call has been finished (or is being finished).
    bool finished() {
      absl::MutexLock lock(&mu_);
      return finished_;
    }

   private:
    bool Claim(DoneReactor** reactor, Response** response) {
      absl::MutexLock lock(&mu_);
      if (finished_) return false;
      finished_ = true;
      *reactor = reactor_;
      *response = response_;
      return true;
    }

    absl::Mutex mu_;
    bool finished_ ABSL_GUARDED_BY(mu_) = false;
    DoneReactor* const reactor_;
    Response* const response_;
  };

  DoneReactor(Response* response, std::shared_ptr<std::atomic<int>> open_calls)
      : finisher_(std::make_shared<Finisher>(this, response)), count_(std::move(open_calls)) {}

  const std::shared_ptr<Finisher>& finisher() const { return finisher_; }

  void OnCancel() override {
    VLOG(1) << "call cancelled before the operation finished; it goes on";
    finisher_->Finish(
        absl::CancelledError("call cancelled; the operation goes on in the group service"));
  }

  void OnDone() override { delete this; }

 private:
  const std::shared_ptr<Finisher> finisher_;
  OpenCallCount count_;
};

// Runs `start` (which starts a Controller operation that takes a done callback) on `pool`,
// and answers the call from that callback. `start` gets the callback to hand to the Controller.
template <typename Response, typename Start>
grpc::ServerUnaryReactor* StartOnPool(WorkerPool& pool, Response* response,
                                      std::shared_ptr<std::atomic<int>> open_calls, Start start) {
  auto* reactor = new DoneReactor<Response>(response, std::move(open_calls));
  std::shared_ptr<typename DoneReactor<Response>::Finisher> finisher = reactor->finisher();
  absl::Status queued = pool.Submit([finisher, start = std::move(start)]() mutable {
    // Nobody waits for an operation whose call already ended: do not start it.
    if (finisher->finished()) return;
    start([finisher](absl::StatusOr<Response> result) { finisher->Finish(std::move(result)); });
  });
  if (!queued.ok()) finisher->Finish(queued);
  return reactor;
}

// One UpdateGroup or StreamGroupEvents stream: a gRPC write reactor fed by a Controller
// subscription.
//
// Messages from the Controller (on its executor threads) are queued and written one at a time
// (StartWrite -> OnWriteDone -> next). Every stream operation (initial metadata, write, finish)
// is decided under mu_ and started outside it, so at most one is in flight.
//
// Lifetime: reference counted. gRPC holds one reference (dropped in OnDone), the subscription
// one (dropped once the Controller's Subscription is cancelled, after which no callback runs,
// or once it is known that there is none), and every entry point holds one while it runs, so
// that a Finish completing on another thread cannot free the object under it. Subscriptions
// are cancelled on the worker pool: Cancel waits for a callback under way, which must not
// happen on a gRPC thread or inside that very callback's caller.
template <typename Message>
class StreamReactor final : public grpc::ServerWriteReactor<Message> {
 public:
  using MessageCallback = std::function<void(const Message&)>;
  // Subscribes on the Controller; blocks.
  using SubscribeFn = std::function<absl::StatusOr<std::unique_ptr<Subscription>>(
      MessageCallback, StreamEndCallback)>;

  StreamReactor(grpc::CallbackServerContext* context, WorkerPool* pool, size_t max_backlog,
                std::shared_ptr<std::atomic<int>> open_calls, SubscribeFn subscribe)
      : context_(context),
        pool_(pool),
        max_backlog_(max_backlog),
        subscribe_(std::move(subscribe)),
        count_(std::move(open_calls)) {}

  // Subscribes on the worker pool. Call once, from the RPC method.
  void Start() {
    Ref();
    absl::Status queued = pool_->Submit([this] { Subscribe(); });
    if (!queued.ok()) {
      End(ToGrpcStatus(queued), /*flush=*/false);
      Unref();  // No subscription will exist.
    }
    Unref();
  }

  // gRPC reactions.
  void OnSendInitialMetadataDone(bool ok) override { OnOpDone(ok); }
  void OnWriteDone(bool ok) override { OnOpDone(ok); }

  void OnCancel() override {
    VLOG(1) << "stream cancelled by the client or by server shutdown";
    Ref();
    End(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"), /*flush=*/false);
    Unref();
  }

  void OnDone() override { Unref(); }

 private:
  enum class Op { kNone, kMetadata, kWrite, kFinish };

  // Runs on a pool thread with the subscription reference, which passes to subscription_ (and
  // is dropped when it is cancelled) or is dropped here when there is no subscription.
  void Subscribe() {
    Ref();  // The subscription reference may go on another thread once subscription_ is set.
    bool stopped;
    {
      absl::MutexLock lock(&mu_);
      stopped = stop_;
    }
    if (stopped) {  // Ended while waiting for a worker: do not subscribe at all.
      Unref();      // The subscription reference.
      Unref();
      return;
    }
    absl::StatusOr<std::unique_ptr<Subscription>> subscription =
        subscribe_([this](const Message& message) { OnMessage(message); },
                   [this](const absl::Status& status) {
                     VLOG(1) << "stream ended by the group service: " << status;
                     Ref();
                     End(ToGrpcStatus(status), /*flush=*/true);
                     Unref();
                   });
    if (!subscription.ok()) {
      VLOG(1) << "stream refused: " << subscription.status();
      End(ToGrpcStatus(subscription.status()), /*flush=*/false);
      Unref();  // The subscription reference: there is none.
      Unref();
      return;
    }
    std::unique_ptr<Subscription> unwanted;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) {
        unwanted = *std::move(subscription);
      } else {
        subscription_ = *std::move(subscription);
        // No stream operation has started yet (they wait for subscribed_ or end_status_, and
        // end_status_ implies stop_), so the metadata can still be added.
        context_->AddInitialMetadata(kStreamSubscribedMetadataKey, "subscribed");
        subscribed_ = true;
      }
    }
    if (unwanted != nullptr) {
      // Ended while the Controller subscribed (possibly by the Controller itself, from a
      // callback on another thread): cancel here, on the pool, outside any callback and lock.
      unwanted->Cancel();
      unwanted.reset();
      Unref();  // The subscription reference.
    }
    Pump();
    Unref();
  }

  // A Controller callback (executor thread): queue and write. Never blocks.
  void OnMessage(const Message& message) {
    Ref();
    bool ended = false;
    bool overflow = false;
    {
      absl::MutexLock lock(&mu_);
      if (end_status_.has_value()) {
        ended = true;
      } else if (queue_.size() >= max_backlog_) {
        overflow = true;
      } else {
        queue_.push_back(message);
      }
    }
    if (overflow) {
      LOG(WARNING) << "stream client too slow: " << max_backlog_
                   << " messages waiting; ending the stream";
      End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                       absl::StrCat("stream client too slow: more than ", max_backlog_,
                                    " messages waiting")),
          /*flush=*/false);
    } else if (!ended) {
      Pump();
    }
    Unref();
  }

  // Records the stream's final status (the first one wins), releases the subscription and lets
  // Pump finish the stream; with `flush`, queued messages are written first. The caller holds a
  // reference.
  void End(grpc::Status status, bool flush) {
    std::unique_ptr<Subscription> subscription;
    {
      absl::MutexLock lock(&mu_);
      if (!end_status_.has_value()) {
        end_status_ = std::move(status);
        if (!flush) queue_.clear();
      }
      stop_ = true;
      subscription = std::move(subscription_);
    }
    if (subscription != nullptr) {
      // May be inside one of the subscription's callbacks: the pool cancels it once that
      // callback has returned. The task holds the only reference (std::function needs a
      // copyable callable).
      pool_->SubmitAlways(
          [this, shared = std::shared_ptr<Subscription>(std::move(subscription))]() mutable {
            shared->Cancel();
            shared.reset();
            Unref();
          });
    }
    Pump();
  }

  void OnOpDone(bool ok) {
    Ref();
    {
      absl::MutexLock lock(&mu_);
      op_in_flight_ = false;
    }
    if (!ok) {
      End(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"), /*flush=*/false);
    } else {
      Pump();
    }
    Unref();
  }

  // Starts the next stream operation if none is in flight. The caller holds a reference.
  void Pump() {
    Op op = Op::kNone;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (op_in_flight_ || finished_) return;
      if (!subscribed_ && !end_status_.has_value()) return;
      if (!queue_.empty()) {
        in_flight_ = std::move(queue_.front());
        queue_.pop_front();
        op_in_flight_ = true;
        metadata_sent_ = true;
        op = Op::kWrite;
      } else if (end_status_.has_value()) {
        finished_ = true;
        status = *end_status_;
        op = Op::kFinish;
      } else if (!metadata_sent_) {
        op_in_flight_ = true;
        metadata_sent_ = true;
        op = Op::kMetadata;
      }
    }
    switch (op) {
      case Op::kNone:
        break;
      case Op::kMetadata:
        this->StartSendInitialMetadata();
        break;
      case Op::kWrite:
        this->StartWrite(&in_flight_);
        break;
      case Op::kFinish:
        this->Finish(std::move(status));
        break;
    }
  }

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  grpc::CallbackServerContext* const context_;
  WorkerPool* const pool_;
  const size_t max_backlog_;
  const SubscribeFn subscribe_;
  OpenCallCount count_;
  std::atomic<int> refs_{2};  // gRPC's and the subscription's.

  absl::Mutex mu_;
  std::deque<Message> queue_ ABSL_GUARDED_BY(mu_);
  // The message being written; touched only by the one thread that started the write.
  Message in_flight_;
  std::unique_ptr<Subscription> subscription_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> end_status_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;          // The subscription must go.
  bool subscribed_ ABSL_GUARDED_BY(mu_) = false;    // The Controller accepted it.
  bool op_in_flight_ ABSL_GUARDED_BY(mu_) = false;  // A metadata send or write is pending.
  bool metadata_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // Finish was called.
};

}  // namespace

GroupService::GroupService(Controller* controller, GroupServiceOptions options)
    : controller_(controller),
      options_(options),
      open_calls_(std::make_shared<std::atomic<int>>(0)),
      pool_(options.worker_threads, options.max_queued_calls) {}

GroupService::~GroupService() = default;

grpc::ServerUnaryReactor* GroupService::WatchGroup(grpc::CallbackServerContext* context,
                                                   const v1::WatchGroupRequest* request,
                                                   v1::WatchGroupResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(controller_->WatchGroup(*request), response);
  });
}

grpc::ServerUnaryReactor* GroupService::UnwatchGroup(grpc::CallbackServerContext* context,
                                                     const v1::UnwatchGroupRequest* request,
                                                     v1::UnwatchGroupResponse* /*response*/) {
  return FinishOnPool(pool_, context,
                      [this, request] { return controller_->UnwatchGroup(*request); });
}

grpc::ServerUnaryReactor* GroupService::InspectGroup(grpc::CallbackServerContext* context,
                                                     const v1::InspectGroupRequest* request,
                                                     v1::InspectGroupResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(controller_->InspectGroup(*request), response);
  });
}

grpc::ServerUnaryReactor* GroupService::DescribeUpdate(grpc::CallbackServerContext* context,
                                                       const v1::DescribeUpdateRequest* request,
                                                       v1::DescribeUpdateResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(controller_->DescribeUpdate(*request), response);
  });
}

grpc::ServerUnaryReactor* GroupService::StopUpdate(grpc::CallbackServerContext* context,
                                                   const v1::StopUpdateRequest* request,
                                                   v1::StopUpdateResponse* /*response*/) {
  return FinishOnPool(pool_, context,
                      [this, request] { return controller_->StopUpdate(*request); });
}

grpc::ServerUnaryReactor* GroupService::ListGroups(grpc::CallbackServerContext* context,
                                                   const v1::ListGroupsRequest* /*request*/,
                                                   v1::ListGroupsResponse* response) {
  return FinishOnPool(pool_, context, [this, response] {
    *response = controller_->ListGroups();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* GroupService::SetSize(grpc::CallbackServerContext* context,
                                                const v1::SetSizeRequest* request,
                                                v1::SetSizeResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(controller_->SetSize(*request), response);
  });
}

grpc::ServerUnaryReactor* GroupService::DestroyGroup(grpc::CallbackServerContext* /*context*/,
                                                     const v1::DestroyGroupRequest* request,
                                                     v1::DestroyGroupResponse* response) {
  // The request is copied: gRPC frees its own once the call is finished, possibly before the
  // task runs.
  return StartOnPool(pool_, response, open_calls_,
                     [this, request = *request](DoneCallback<v1::DestroyGroupResponse> done) {
                       controller_->DestroyGroup(request, std::move(done));
                     });
}

grpc::ServerUnaryReactor* GroupService::DestroyInstances(grpc::CallbackServerContext* /*context*/,
                                                         const v1::DestroyInstancesRequest* request,
                                                         v1::DestroyInstancesResponse* response) {
  return StartOnPool(pool_, response, open_calls_,
                     [this, request = *request](DoneCallback<v1::DestroyInstancesResponse> done) {
                       controller_->DestroyInstances(request, std::move(done));
                     });
}

grpc::ServerWriteReactor<v1::UpdateGroupResponse>* GroupService::UpdateGroup(
    grpc::CallbackServerContext* context, const v1::UpdateGroupRequest* request) {
  auto* reactor = new StreamReactor<v1::UpdateGroupResponse>(
      context, &pool_, options_.max_stream_backlog, open_calls_,
      [this, request = *request](UpdateProgressCallback on_progress, StreamEndCallback on_end) {
        return controller_->UpdateGroup(request, std::move(on_progress), std::move(on_end));
      });
  reactor->Start();
  return reactor;
}

grpc::ServerWriteReactor<v1::GroupEvent>* GroupService::StreamGroupEvents(
    grpc::CallbackServerContext* context, const v1::StreamGroupEventsRequest* request) {
  auto* reactor = new StreamReactor<v1::GroupEvent>(
      context, &pool_, options_.max_stream_backlog, open_calls_,
      [this, request = *request](GroupEventCallback on_event, StreamEndCallback on_end) {
        return controller_->StreamGroupEvents(request, std::move(on_event), std::move(on_end));
      });
  reactor->Start();
  return reactor;
}

}  // namespace infrakit::services::group::server
