#include "plugins/instance/instance_service.h"

#include <atomic>
#include <deque>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "glog/logging.h"
#include "common/pooled_unary.h"
#include "spi/item_status.h"

namespace infrakit::plugins::instance {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::common::ToGrpcStatus;
using ::infrakit::common::FinishOnPool;

// Moves a core's result into the gRPC-owned response.
template <typename T>
absl::Status Fill(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return result.status();
  *response = *std::move(result);
  return absl::OkStatus();
}

// One Watch stream: a gRPC write reactor that is also the core's WatchSink.
//
// Events from the core are queued and written one at a time (StartWrite -> OnWriteDone -> next).
// Every stream operation (initial metadata, write, finish) is decided under mu_ and started
// outside it, so at most one is in flight and none races another.
//
// Lifetime: two references, one held by gRPC (dropped in OnDone) and one by the subscription
// (dropped once the core's WatchHandle is destroyed, or once it is known that there is none).
// The object deletes itself when both are gone, so neither gRPC nor the core can call into a
// freed reactor. The handle is never destroyed inside a sink call or under mu_ (its destructor
// may wait for a sink call in progress): it is released on the worker pool.
// The most bytes of events packed into one Watch message (WatchRequest.max_events_per_response).
constexpr size_t kMaxPackedBytes = 1 << 20;

class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchResponse>,
                           public spi::instance::WatchSink {
 public:
  WatchReactor(grpc::CallbackServerContext* context,
               std::shared_ptr<spi::instance::InstancePlugin> core, common::WorkerPool* pool,
               const v1::WatchRequest& request, size_t max_backlog)
      : context_(context),
        core_(std::move(core)),
        pool_(pool),
        request_(request),
        max_backlog_(max_backlog) {}

  // Subscribes on the worker pool (the core's Watch may do I/O).
  void Start() {
    absl::Status queued = pool_->Submit([this] { Subscribe(); });
    if (!queued.ok()) {
      End(ToGrpcStatus(queued), /*flush=*/false);
      Unref();  // No subscription will exist.
    }
  }

  // WatchSink. Called by the core, one call at a time; never blocks.
  void OnEvent(const v1::WatchResponse& event) override {
    bool overflow = false;
    {
      absl::MutexLock lock(&mu_);
      if (end_status_.has_value()) return;
      if (queue_.size() >= max_backlog_) {
        overflow = true;
      } else {
        queue_.push_back(event);
      }
    }
    if (overflow) {
      LOG(WARNING) << "Watch client too slow: " << max_backlog_
                   << " events waiting; ending the stream";
      End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                       absl::StrCat("watch client too slow: more than ", max_backlog_,
                                    " events waiting; watch again")),
          /*flush=*/false);
      return;
    }
    Pump();
  }

  // WatchSink: the core ended the watch. Queued events are still delivered first.
  void OnDone(const absl::Status& status) override {
    VLOG(1) << "Watch ended by the plugin: " << status;
    End(ToGrpcStatus(status), /*flush=*/true);
  }

  // gRPC reactions.
  void OnSendInitialMetadataDone(bool ok) override { OnOpDone(ok); }
  void OnWriteDone(bool ok) override { OnOpDone(ok); }

  void OnCancel() override {
    VLOG(1) << "Watch cancelled by the client or by server shutdown";
    End(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"), /*flush=*/false);
  }

  // ServerWriteReactor::OnDone (the sink's OnDone above has a different signature).
  void OnDone() override { Unref(); }

 private:
  enum class Op { kNone, kMetadata, kWrite, kFinish };

  // Runs on a pool thread. Holds a reference of its own throughout: once the handle is stored,
  // another thread may end the stream and release the subscription's reference at any time.
  void Subscribe() {
    refs_.fetch_add(1, std::memory_order_relaxed);
    SubscribeHoldingReference();
    Unref();
  }

  void SubscribeHoldingReference() {
    bool stopped;
    {
      absl::MutexLock lock(&mu_);
      stopped = stop_;
    }
    if (stopped) {  // Ended while waiting for a worker: do not subscribe at all.
      Unref();      // The subscription's reference: there is none.
      return;
    }
    absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> handle =
        core_->Watch(request_, this);
    if (!handle.ok()) {
      VLOG(1) << "Watch refused by the plugin: " << handle.status();
      End(ToGrpcStatus(handle.status()), /*flush=*/false);
      Unref();
      return;
    }
    std::unique_ptr<spi::instance::WatchHandle> unwanted;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) {
        unwanted = *std::move(handle);
      } else {
        handle_ = *std::move(handle);
        // No stream operation has started yet (they wait for subscribed_ or end_status_, and
        // end_status_ implies stop_), so the metadata can still be added.
        context_->AddInitialMetadata(kWatchSubscribedMetadataKey, "subscribed");
        subscribed_ = true;
      }
    }
    if (unwanted != nullptr) {
      // Ended while the core subscribed: release now (not in a sink call, not under mu_).
      unwanted.reset();
      Unref();
      return;
    }
    Pump();
  }

  // Records the stream's final status (the first one wins), stops the subscription and lets
  // Pump finish the stream; with `flush`, queued events are written first.
  void End(grpc::Status status, bool flush) {
    std::unique_ptr<spi::instance::WatchHandle> handle;
    {
      absl::MutexLock lock(&mu_);
      if (!end_status_.has_value()) {
        end_status_ = std::move(status);
        if (!flush) queue_.clear();
      }
      stop_ = true;
      handle = std::move(handle_);
    }
    if (handle != nullptr) {
      // May be inside a sink call: the pool destroys the handle once that call has returned.
      // The task holds the only reference (std::function needs a copyable callable), so the
      // handle cannot die here.
      pool_->SubmitAlways(
          [this, shared = std::shared_ptr<spi::instance::WatchHandle>(std::move(handle))]() mutable {
            shared.reset();
            Unref();
          });
    }
    Pump();
  }

  void OnOpDone(bool ok) {
    {
      absl::MutexLock lock(&mu_);
      op_in_flight_ = false;
    }
    if (!ok) {
      End(grpc::Status(grpc::StatusCode::CANCELLED, "watch stream broken"), /*flush=*/false);
      return;
    }
    Pump();
  }

  // Starts the next stream operation if none is in flight. Must be the caller's last use of
  // `this` unless the caller holds a reference that cannot go meanwhile: a Finish may complete
  // inline and the last reference go with it.
  void Pump() {
    Op op = Op::kNone;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (op_in_flight_ || finished_) return;
      if (!subscribed_ && !end_status_.has_value()) return;
      if (!queue_.empty()) {
        const int max_events = request_.max_events_per_response();
        if (max_events > 1) {
          // Everything waiting goes in one message (see WatchRequest.max_events_per_response):
          // while a write is in flight, a burst of events piles up here and then costs one.
          // Bounded in bytes too: a message stays far below the client's receive limit
          // whatever the events carry (at least one always goes).
          in_flight_.Clear();
          size_t bytes = 0;
          while (!queue_.empty() && in_flight_.events_size() < max_events) {
            const size_t size = queue_.front().ByteSizeLong();
            if (bytes > 0 && bytes + size > kMaxPackedBytes) break;
            bytes += size;
            *in_flight_.add_events() = std::move(queue_.front());
            queue_.pop_front();
          }
        } else {
          in_flight_ = std::move(queue_.front());
          queue_.pop_front();
        }
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
        StartSendInitialMetadata();
        break;
      case Op::kWrite:
        StartWrite(&in_flight_);
        break;
      case Op::kFinish:
        Finish(std::move(status));
        break;
    }
  }

  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  grpc::CallbackServerContext* const context_;
  const std::shared_ptr<spi::instance::InstancePlugin> core_;
  common::WorkerPool* const pool_;
  const v1::WatchRequest request_;
  const size_t max_backlog_;
  // gRPC's and the subscription's (plus one while Subscribe runs).
  std::atomic<int> refs_{2};

  absl::Mutex mu_;
  std::deque<v1::WatchResponse> queue_ ABSL_GUARDED_BY(mu_);
  // The message being written; touched only by the one thread that started the write.
  v1::WatchResponse in_flight_;
  std::unique_ptr<spi::instance::WatchHandle> handle_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> end_status_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;            // The subscription must go.
  bool subscribed_ ABSL_GUARDED_BY(mu_) = false;      // The core accepted the watch.
  bool op_in_flight_ ABSL_GUARDED_BY(mu_) = false;    // A metadata send or write is pending.
  bool metadata_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;        // Finish was called.
};

}  // namespace

InstanceService::InstanceService(std::shared_ptr<spi::instance::InstancePlugin> core,
                                 InstanceServiceOptions options)
    : core_(std::move(core)),
      options_(options),
      pool_(options.worker_threads, options.max_queued_calls) {}

InstanceService::~InstanceService() = default;

grpc::ServerUnaryReactor* InstanceService::Validate(grpc::CallbackServerContext* context,
                                                    const v1::ValidateRequest* request,
                                                    v1::ValidateResponse* /*response*/) {
  return FinishOnPool(pool_, context, [this, request] { return core_->Validate(*request); });
}

grpc::ServerUnaryReactor* InstanceService::Provision(grpc::CallbackServerContext* context,
                                                     const v1::ProvisionRequest* request,
                                                     v1::ProvisionResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->Provision(*request), response);
  });
}

grpc::ServerUnaryReactor* InstanceService::Destroy(grpc::CallbackServerContext* context,
                                                   const v1::DestroyRequest* request,
                                                   v1::DestroyResponse* /*response*/) {
  return FinishOnPool(pool_, context, [this, request] { return core_->Destroy(*request); });
}

grpc::ServerUnaryReactor* InstanceService::Describe(grpc::CallbackServerContext* context,
                                                    const v1::DescribeRequest* request,
                                                    v1::DescribeResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->Describe(*request), response);
  });
}

grpc::ServerUnaryReactor* InstanceService::Label(grpc::CallbackServerContext* context,
                                                 const v1::LabelRequest* request,
                                                 v1::LabelResponse* response) {
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->Label(*request), response);
  });
}

grpc::ServerUnaryReactor* InstanceService::BatchProvision(grpc::CallbackServerContext* context,
                                                          const v1::BatchProvisionRequest* request,
                                                          v1::BatchProvisionResponse* response) {
  // Checked here, before the pool, so that no core (nor a core's override forgetting the
  // check) ever sees an oversized batch, and such a call takes no worker.
  if (absl::Status size = spi::CheckBatchSize(request->requests_size(), "requests"); !size.ok()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpcStatus(size));
    return reactor;
  }
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchProvision(*request), response);
  });
}

grpc::ServerUnaryReactor* InstanceService::BatchDestroy(grpc::CallbackServerContext* context,
                                                        const v1::BatchDestroyRequest* request,
                                                        v1::BatchDestroyResponse* response) {
  if (absl::Status size = spi::CheckBatchSize(request->requests_size(), "requests"); !size.ok()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpcStatus(size));
    return reactor;
  }
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchDestroy(*request), response);
  });
}

grpc::ServerWriteReactor<v1::WatchResponse>* InstanceService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  auto* reactor =
      new WatchReactor(context, core_, &pool_, *request, options_.max_watch_backlog);
  reactor->Start();
  return reactor;
}

}  // namespace infrakit::plugins::instance
