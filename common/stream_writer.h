// Serving a server-streaming RPC of a callback service from a subscription: the one write
// reactor behind InstanceService.Watch, GroupService.UpdateGroup and
// GroupService.StreamGroupEvents.
//
// The RPC method hands StreamWriter<Message>::Start a subscribe function. The writer runs it on
// a WorkerPool (subscribing may block), and the subscription then feeds the stream from any of
// its threads through a StreamFeed: messages are queued and written one at a time
// (StartWrite -> OnWriteDone -> next), optionally several waiting ones packed into one, and
// the stream ends with a status after the last one. Client cancellation, a broken stream, a
// refused subscription or a client that falls too far behind end it too, and then the
// subscription is released on the pool.
#ifndef INFRAKIT_COMMON_STREAM_WRITER_H_
#define INFRAKIT_COMMON_STREAM_WRITER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "common/worker_pool.h"
#include "glog/logging.h"

namespace infrakit::common {

// A running subscription that feeds one stream. Destroying it ends the subscription: once the
// destructor has returned, the subscription makes no more StreamFeed calls (the destructor may
// wait for a call in progress, so the writer never destroys it inside a feed call or under a
// lock: it does so on the worker pool).
class StreamSubscription {
 public:
  virtual ~StreamSubscription() = default;
};

// What a StreamWriter says about itself and how much it holds.
struct StreamWriterOptions {
  // Initial metadata (key -> "subscribed") sent once the subscription exists, before any
  // message: a client can tell an established stream from one that failed at once. Empty: none.
  std::string subscribed_metadata_key;
  // Messages the stream may hold for a slow client; one more ends it with RESOURCE_EXHAUSTED.
  size_t max_backlog = 10000;
  // Names the stream and what it carries in statuses and logs: "<name> client too slow: more
  // than <max_backlog> <items> waiting<overflow_hint>", "<name> cancelled".
  std::string name = "stream";
  std::string items = "messages";
  std::string overflow_hint;
};

// Packing several waiting messages into one written message (e.g. WatchResponse.events).
template <typename Message>
struct StreamPacking {
  // The most queued messages one written message carries. 0 or 1: no packing, each queued
  // message is written as it is (and `pack` is not used).
  int max_items = 0;
  // The most bytes (queued messages' ByteSizeLong) one written message carries; at least one
  // message always goes, however large.
  size_t max_bytes = size_t{1} << 20;
  // Adds `item` to `packed` (which starts empty for each written message). Called without any
  // lock held, on the thread that starts the write.
  std::function<void(Message item, Message* packed)> pack;
};

template <typename Message>
class StreamWriter;

// The producer's side of a StreamWriter: a thread-safe queue into the stream. Copyable; every
// copy refers to the same stream. Valid from the call of the subscribe function until the
// StreamSubscription it returned is destroyed (or, if it returned an error, until it returns).
template <typename Message>
class StreamFeed {
 public:
  // Queues `message` to be written after those queued before. Does nothing once the stream has
  // ended. When more than StreamWriterOptions::max_backlog messages wait, ends the stream with
  // RESOURCE_EXHAUSTED instead (dropping what waits). Thread-safe, any thread; never blocks
  // (only on the writer's own mutex) and never calls back into the producer.
  void Push(Message message) const { writer_->Push(std::move(message)); }

  // Ends the stream with `status` (mapped by ToGrpcStatus) once the messages queued before are
  // written. The first end of a stream wins; later ones and later Pushes do nothing. Same
  // threading as Push.
  void End(const absl::Status& status) const { writer_->EndByProducer(status); }

 private:
  friend class StreamWriter<Message>;
  explicit StreamFeed(StreamWriter<Message>* writer) : writer_(writer) {}

  StreamWriter<Message>* writer_;
};

// One server-streaming call. Create it with Start from the RPC method and return it to gRPC; it
// deletes itself once gRPC is done with it and its subscription has been released.
//
// Every stream operation (initial metadata, write, finish) is decided under the writer's mutex
// and started outside it, so at most one is in flight and none races another. Nothing that may
// block or call back runs under that mutex (not the producer, not the packer, no stream
// operation; only the local ServerContext::AddInitialMetadata).
//
// Lifetime: reference counted. gRPC holds one reference (dropped in OnDone), the subscription
// one (dropped once the StreamSubscription is destroyed, after which no feed call runs, or once
// it is known that there is none), and every entry point holds one while it runs, so that a
// Finish completing on another thread cannot free the writer under it.
template <typename Message>
class StreamWriter final : public grpc::ServerWriteReactor<Message> {
 public:
  // Subscribes and returns the subscription, or the error that ends the stream at once
  // (mapped by ToGrpcStatus). Runs on a pool thread and may block. May call the feed before it
  // returns (an initial set): those messages are written once the subscription is in place.
  using SubscribeFn =
      std::function<absl::StatusOr<std::unique_ptr<StreamSubscription>>(StreamFeed<Message>)>;

  // Creates the writer for `context`'s call and submits the subscription to `pool`; when the
  // pool refuses (RESOURCE_EXHAUSTED, UNAVAILABLE), the stream ends at once with that error.
  // Call from the RPC method and return the writer to gRPC. `pool` must outlive every writer
  // (destroy it only after the server has shut down: its last tasks release subscriptions).
  // `subscribe` is kept, with what it captures, until the writer is destroyed.
  static StreamWriter* Start(grpc::CallbackServerContext* context, WorkerPool* pool,
                             StreamWriterOptions options, StreamPacking<Message> packing,
                             SubscribeFn subscribe) {
    auto* writer = new StreamWriter(context, pool, std::move(options), std::move(packing),
                                    std::move(subscribe));
    writer->Begin();
    return writer;
  }

  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // gRPC reactions (gRPC's threads; never block).
  void OnSendInitialMetadataDone(bool ok) override { OnOpDone(ok); }
  void OnWriteDone(bool ok) override { OnOpDone(ok); }

  // The client cancelled, the deadline passed, or the server is shutting down: the stream ends
  // CANCELLED (nothing more is written) and the subscription is released.
  void OnCancel() override {
    VLOG(1) << options_.name << " cancelled by the client or by server shutdown";
    Ref();
    End(grpc::Status(grpc::StatusCode::CANCELLED, options_.name + " cancelled"),
        /*flush=*/false);
    Unref();
  }

  void OnDone() override { Unref(); }

 private:
  friend class StreamFeed<Message>;
  enum class Op { kNone, kMetadata, kWrite, kFinish };

  StreamWriter(grpc::CallbackServerContext* context, WorkerPool* pool, StreamWriterOptions options,
               StreamPacking<Message> packing, SubscribeFn subscribe)
      : context_(context),
        pool_(pool),
        options_(std::move(options)),
        packing_(std::move(packing)),
        subscribe_(std::move(subscribe)) {}
  ~StreamWriter() override = default;

  void Begin() {
    Ref();
    absl::Status queued = pool_->Submit([this] { Subscribe(); });
    if (!queued.ok()) {
      End(ToGrpcStatus(queued), /*flush=*/false);
      Unref();  // The subscription reference: there will be none.
    }
    Unref();
  }

  // Runs on a pool thread with the subscription reference, which passes to subscription_ (and
  // is dropped when that is destroyed) or is dropped here when there is no subscription.
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
    absl::StatusOr<std::unique_ptr<StreamSubscription>> subscription =
        subscribe_(StreamFeed<Message>(this));
    if (!subscription.ok()) {
      VLOG(1) << options_.name << " refused: " << subscription.status();
      End(ToGrpcStatus(subscription.status()), /*flush=*/false);
      Unref();  // The subscription reference: there is none.
      Unref();
      return;
    }
    std::unique_ptr<StreamSubscription> unwanted;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) {
        unwanted = *std::move(subscription);
      } else {
        subscription_ = *std::move(subscription);
        // No stream operation has started yet (they wait for subscribed_ or end_status_, and
        // end_status_ implies stop_), so the metadata can still be added.
        if (!options_.subscribed_metadata_key.empty()) {
          context_->AddInitialMetadata(options_.subscribed_metadata_key, "subscribed");
        }
        subscribed_ = true;
      }
    }
    if (unwanted != nullptr) {
      // Ended while subscribing (possibly by the producer itself, from another thread):
      // released here, on the pool, outside any feed call and lock.
      unwanted.reset();
      Unref();  // The subscription reference.
    }
    Pump();
    Unref();
  }

  // StreamFeed::Push.
  void Push(Message message) {
    Ref();
    bool ended = false;
    bool overflow = false;
    {
      absl::MutexLock lock(&mu_);
      if (end_status_.has_value()) {
        ended = true;
      } else if (queue_.size() >= options_.max_backlog) {
        overflow = true;
      } else {
        queue_.push_back(std::move(message));
      }
    }
    if (overflow) {
      LOG(WARNING) << options_.name << " client too slow: " << options_.max_backlog << " "
                   << options_.items << " waiting; ending the stream";
      End(OverflowStatus(), /*flush=*/false);
    } else if (!ended) {
      Pump();
    }
    Unref();
  }

  // StreamFeed::End.
  void EndByProducer(const absl::Status& status) {
    VLOG(1) << options_.name << " ended by its producer: " << status;
    Ref();
    End(ToGrpcStatus(status), /*flush=*/true);
    Unref();
  }

  grpc::Status OverflowStatus() const {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat(options_.name, " client too slow: more than ", options_.max_backlog, " ",
                     options_.items, " waiting", options_.overflow_hint));
  }

  // Records the stream's final status (the first one wins), releases the subscription and lets
  // Pump finish the stream; with `flush`, queued messages are written first. The caller holds a
  // reference.
  void End(grpc::Status status, bool flush) {
    std::unique_ptr<StreamSubscription> subscription;
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
      // May be inside a feed call: the pool destroys the subscription once that call has
      // returned. The task holds the only reference to it (std::function needs a copyable
      // callable, hence the shared_ptr).
      pool_->SubmitAlways(
          [this, shared = std::shared_ptr<StreamSubscription>(std::move(subscription))]() mutable {
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
      End(grpc::Status(grpc::StatusCode::CANCELLED, options_.name + " broken"),
          /*flush=*/false);
    } else {
      Pump();
    }
    Unref();
  }

  // Takes the next written message's queued messages out of the queue: one, or with packing
  // as many as the caps allow (at least one).
  std::vector<Message> TakeNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<Message> taken;
    if (packing_.max_items <= 1) {
      taken.push_back(std::move(queue_.front()));
      queue_.pop_front();
      return taken;
    }
    size_t bytes = 0;
    while (!queue_.empty() && taken.size() < static_cast<size_t>(packing_.max_items)) {
      const size_t size = queue_.front().ByteSizeLong();
      if (!taken.empty() && bytes + size > packing_.max_bytes) break;
      bytes += size;
      taken.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return taken;
  }

  // Fills in_flight_ from the messages taken for it. Only the thread that set op_in_flight_
  // calls this, so in_flight_ needs no lock.
  void FillInFlight(std::vector<Message> taken) {
    if (packing_.max_items <= 1) {
      in_flight_ = std::move(taken.front());
      return;
    }
    in_flight_.Clear();
    for (Message& item : taken) packing_.pack(std::move(item), &in_flight_);
  }

  // Starts the next stream operation if none is in flight. The caller holds a reference.
  void Pump() {
    Op op = Op::kNone;
    grpc::Status status;
    std::vector<Message> taken;
    {
      absl::MutexLock lock(&mu_);
      if (op_in_flight_ || finished_) return;
      if (!subscribed_ && !end_status_.has_value()) return;
      if (!queue_.empty()) {
        taken = TakeNextLocked();
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
        FillInFlight(std::move(taken));
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
  const StreamWriterOptions options_;
  const StreamPacking<Message> packing_;
  const SubscribeFn subscribe_;
  std::atomic<int> refs_{2};  // gRPC's and the subscription's.

  absl::Mutex mu_;
  std::deque<Message> queue_ ABSL_GUARDED_BY(mu_);
  // The message being written; touched only by the one thread that started the write.
  Message in_flight_;
  std::unique_ptr<StreamSubscription> subscription_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> end_status_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;          // The subscription must go.
  bool subscribed_ ABSL_GUARDED_BY(mu_) = false;    // The subscribe function succeeded.
  bool op_in_flight_ ABSL_GUARDED_BY(mu_) = false;  // A metadata send or write is pending.
  bool metadata_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // Finish was called.
};

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_STREAM_WRITER_H_
