#include "services/group/server/group_service.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "common/paging/paging.h"
#include "common/pooled_unary.h"
#include "common/stream_writer.h"
#include "glog/logging.h"
#include "services/group/server/group_request_limits.h"
#include "spi/request_limits.h"

namespace infrakit::services::group::server {
namespace {

namespace v1 = ::infrakit::group::v1;

// The call's deadline, for a call forwarded to the leader.
absl::Time Deadline(const grpc::CallbackServerContext* context) {
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}
using ::infrakit::common::Fill;
using ::infrakit::common::FinishIfError;
using ::infrakit::common::FinishInline;
using ::infrakit::common::FinishOnPool;
using ::infrakit::common::ToGrpcStatus;
using ::infrakit::common::WorkerPool;

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

// A Controller subscription (UpdateGroup, StreamGroupEvents) feeding a stream. Destroying it
// cancels the subscription; Cancel waits for a callback under way, so the StreamWriter destroys
// it on the worker pool, never on a gRPC thread or inside that callback's caller.
class ControllerSubscription final : public common::StreamSubscription {
 public:
  explicit ControllerSubscription(std::unique_ptr<Subscription> subscription)
      : subscription_(std::move(subscription)) {}
  ~ControllerSubscription() override { subscription_->Cancel(); }

 private:
  const std::unique_ptr<Subscription> subscription_;
};

// A Controller subscription that keeps its Controller alive until it is released (a Controller
// replaced by leadership is destroyed after its last subscription).
class KeptSubscription final : public Subscription {
 public:
  KeptSubscription(std::shared_ptr<Controller> controller, std::unique_ptr<Subscription> inner)
      : controller_(std::move(controller)), inner_(std::move(inner)) {}
  void Cancel() override { inner_->Cancel(); }

 private:
  const std::shared_ptr<Controller> controller_;  // declared first: outlives inner_
  const std::unique_ptr<Subscription> inner_;
};

absl::StatusOr<std::unique_ptr<Subscription>> Keep(
    std::shared_ptr<Controller> controller, absl::StatusOr<std::unique_ptr<Subscription>> inner) {
  if (!inner.ok()) return inner.status();
  return std::unique_ptr<Subscription>(
      std::make_unique<KeptSubscription>(std::move(controller), *std::move(inner)));
}

// Serves one stream: `subscribe` starts the Controller's subscription (it blocks) with the
// callbacks it is given, which feed the stream. The call counts in open_calls() until the
// writer is gone.
template <typename Message, typename Subscribe>
grpc::ServerWriteReactor<Message>* StartStream(grpc::CallbackServerContext* context,
                                               WorkerPool* pool, size_t max_backlog,
                                               std::shared_ptr<std::atomic<int>> open_calls,
                                               Subscribe subscribe) {
  common::StreamWriterOptions options;
  options.subscribed_metadata_key = kStreamSubscribedMetadataKey;
  options.max_backlog = max_backlog;
  options.name = "stream";
  options.items = "messages";
  // The writer keeps the subscribe function, and with it the count, until it is destroyed.
  auto count = std::make_shared<OpenCallCount>(std::move(open_calls));
  return common::StreamWriter<Message>::Start(
      context, pool, std::move(options), common::StreamPacking<Message>(),
      [subscribe = std::move(subscribe), count](common::StreamFeed<Message> feed)
          -> absl::StatusOr<std::unique_ptr<common::StreamSubscription>> {
        absl::StatusOr<std::unique_ptr<Subscription>> subscription =
            subscribe([feed](const Message& message) { feed.Push(message); },
                      [feed](const absl::Status& status) { feed.End(status); });
        if (!subscription.ok()) return subscription.status();
        return std::make_unique<ControllerSubscription>(*std::move(subscription));
      });
}

}  // namespace

GroupService::GroupService(Controller* controller, GroupServiceOptions options)
    : GroupService(std::make_unique<ActiveController>(controller), nullptr, nullptr, nullptr,
                   options) {}

GroupService::GroupService(ActiveController* active, GroupServiceOptions options)
    : GroupService(nullptr, active, nullptr, nullptr, options) {}

GroupService::GroupService(ActiveController* active, LeaderForwarder* forwarder,
                           const ha::StoreReads* reads, GroupServiceOptions options)
    : GroupService(nullptr, active, forwarder, reads, options) {}

GroupService::GroupService(std::unique_ptr<ActiveController> owned, ActiveController* active,
                           LeaderForwarder* forwarder, const ha::StoreReads* reads,
                           GroupServiceOptions options)
    : owned_active_(std::move(owned)),
      active_(active != nullptr ? active : owned_active_.get()),
      forwarder_(forwarder),
      reads_(reads),
      options_(options),
      open_calls_(std::make_shared<std::atomic<int>>(0)),
      pool_(options.worker_threads, options.max_queued_calls) {
  SetMessageAllocatorFor_InspectGroup(&inspect_allocator_);
}

GroupService::~GroupService() = default;

template <typename Serve, typename Forward>
auto GroupService::Route(Serve serve, Forward forward)
    -> decltype(forward(std::declval<LeaderForwarder&>())) {
  absl::StatusOr<ControllerPtr> c = active_->Get();
  if (c.ok()) return serve(*c);
  if (forwarder_ != nullptr) return forward(*forwarder_);
  return c.status();  // a follower that does not forward: "not the leader; the leader is X"
}

template <typename Response, typename Serve, typename Forward>
void GroupService::RouteDone(const DoneCallback<Response>& done, Serve serve, Forward forward) {
  absl::Status routed = Route(
      [&](const ControllerPtr& c) {
        serve(c);  // the Controller answers through `done`
        return absl::OkStatus();
      },
      [&](LeaderForwarder& f) {
        done(forward(f));
        return absl::OkStatus();
      });
  if (!routed.ok()) done(routed);
}

template <typename Serve, typename Forward>
absl::StatusOr<std::unique_ptr<Subscription>> GroupService::RouteKept(Serve serve,
                                                                      Forward forward) {
  return Route([&](const ControllerPtr& c) { return Keep(c, serve(c)); }, forward);
}

grpc::ServerUnaryReactor* GroupService::WatchGroup(grpc::CallbackServerContext* context,
                                                   const v1::WatchGroupRequest* request,
                                                   v1::WatchGroupResponse* response) {
  if (auto* refused = FinishIfError(context, CheckGroupSpecSize(request->spec(), "spec")))
    return refused;
  return FinishOnPool(pool_, context, [this, request, response, deadline = Deadline(context)] {
    return Route(
        [&](const ControllerPtr& c) { return Fill(c->WatchGroup(*request), response); },
        [&](LeaderForwarder& f) { return Fill(f.WatchGroup(*request, deadline), response); });
  });
}

grpc::ServerUnaryReactor* GroupService::UnwatchGroup(grpc::CallbackServerContext* context,
                                                     const v1::UnwatchGroupRequest* request,
                                                     v1::UnwatchGroupResponse* /*response*/) {
  if (auto* refused = FinishIfError(context, spi::CheckIdSize(request->id(), "id"))) return refused;
  return FinishOnPool(pool_, context, [this, request, deadline = Deadline(context)] {
    return Route([&](const ControllerPtr& c) { return c->UnwatchGroup(*request); },
                 [&](LeaderForwarder& f) { return f.UnwatchGroup(*request, deadline); });
  });
}

grpc::ServerUnaryReactor* GroupService::InspectGroup(grpc::CallbackServerContext* context,
                                                     const v1::InspectGroupRequest* request,
                                                     v1::InspectGroupResponse* response) {
  if (auto* refused = FinishIfError(context, spi::CheckIdSize(request->id(), "id"))) return refused;
  const std::string fingerprint =
      common::PageFingerprint("GroupService.InspectGroup", {request->id()});
  absl::StatusOr<common::PageCursor> cursor =
      common::StartPage(request->page_size(), request->page_token(), fingerprint);
  if (auto* refused = FinishIfError(context, cursor.status())) return refused;
  absl::StatusOr<std::shared_ptr<Controller>> c = active_->Get();
  if (!c.ok() && forwarder_ != nullptr) {
    // Members and their health are live: only the leader knows them. It pages its own answer;
    // the call blocks, so a worker.
    return FinishOnPool(pool_, context, [this, request, response, deadline = Deadline(context)] {
      return Fill(forwarder_->InspectGroup(*request, deadline), response);
    });
  }
  // A page copied from the group's published view: nothing to wait for, so no worker.
  return FinishInline(context, [&]() -> absl::Status {
    if (!c.ok()) return c.status();
    return (*c)->InspectGroupPage(*request, *cursor, fingerprint, response);
  });
}

grpc::ServerUnaryReactor* GroupService::DescribeUpdate(grpc::CallbackServerContext* context,
                                                       const v1::DescribeUpdateRequest* request,
                                                       v1::DescribeUpdateResponse* response) {
  if (auto* refused = FinishIfError(context, CheckGroupSpecSize(request->spec(), "spec")))
    return refused;
  // The plan depends on each member's config (live) and on the plugins' validation: forwarded.
  return FinishOnPool(pool_, context, [this, request, response, deadline = Deadline(context)] {
    return Route(
        [&](const ControllerPtr& c) { return Fill(c->DescribeUpdate(*request), response); },
        [&](LeaderForwarder& f) { return Fill(f.DescribeUpdate(*request, deadline), response); });
  });
}

grpc::ServerUnaryReactor* GroupService::StopUpdate(grpc::CallbackServerContext* context,
                                                   const v1::StopUpdateRequest* request,
                                                   v1::StopUpdateResponse* /*response*/) {
  if (auto* refused = FinishIfError(context, spi::CheckIdSize(request->id(), "id"))) return refused;
  return FinishOnPool(pool_, context, [this, request, deadline = Deadline(context)] {
    return Route([&](const ControllerPtr& c) { return c->StopUpdate(*request); },
                 [&](LeaderForwarder& f) { return f.StopUpdate(*request, deadline); });
  });
}

void GroupService::FinishListGroups(const common::PageCursor& cursor,
                                    const std::string& fingerprint,
                                    v1::ListGroupsResponse* response) {
  response->set_status(active_->Status());
  response->set_leader(active_->Leader());
  response->set_next_page_token(common::TakePage(
      response->mutable_groups(),
      [](const v1::GroupSummary& g) -> const std::string& { return g.spec().id(); }, cursor,
      fingerprint));
}

void GroupService::FillListGroups(const absl::StatusOr<std::shared_ptr<Controller>>& c,
                                  const common::PageCursor& cursor, const std::string& fingerprint,
                                  v1::ListGroupsResponse* response) {
  // A follower that cannot ask the leader lists nothing and says who leads and why.
  if (c.ok()) {
    *response = (*c)->ListGroups();
  } else {
    response->Clear();
    response->set_follower(true);
  }
  FinishListGroups(cursor, fingerprint, response);
  if (!c.ok() && forwarder_ != nullptr) {
    response->set_status(absl::StrCat(response->status(), response->status().empty() ? "" : "; ",
                                      "cannot ask the leader: ", c.status().message()));
  }
}

grpc::ServerUnaryReactor* GroupService::ListGroups(grpc::CallbackServerContext* context,
                                                   const v1::ListGroupsRequest* request,
                                                   v1::ListGroupsResponse* response) {
  static const std::string* const kFingerprint =
      new std::string(common::PageFingerprint("GroupService.ListGroups", {}));
  absl::StatusOr<common::PageCursor> cursor =
      common::StartPage(request->page_size(), request->page_token(), *kFingerprint);
  if (auto* refused = FinishIfError(context, cursor.status())) return refused;
  absl::StatusOr<std::shared_ptr<Controller>> c = active_->Get();
  if (!c.ok() && reads_ != nullptr) {
    // A follower lists the groups from its copy of the store: no network, so no worker.
    absl::StatusOr<v1::ListGroupsResponse> stored = reads_->ListGroups();
    if (stored.ok()) {
      return FinishInline(context, [&] {
        *response = *std::move(stored);
        response->set_follower(true);
        FinishListGroups(*cursor, *kFingerprint, response);
        return absl::OkStatus();
      });
    }
    // Not read yet: the leader is asked below.
  }
  if (!c.ok() && forwarder_ != nullptr) {
    return FinishOnPool(
        pool_, context,
        [this, request, response, cursor = *std::move(cursor), deadline = Deadline(context)] {
          // The leader's list (paged by the leader), marked as seen through a follower.
          absl::StatusOr<v1::ListGroupsResponse> forwarded =
              forwarder_->ListGroups(*request, deadline);
          if (forwarded.ok()) {
            *response = *std::move(forwarded);
            response->set_follower(true);
            response->set_status(active_->Status());  // this service's, not the leader's
            return absl::OkStatus();
          }
          FillListGroups(forwarded.status(), cursor, *kFingerprint, response);
          return absl::OkStatus();
        });
  }
  // Read from the published views: nothing to wait for, so no worker.
  return FinishInline(context, [&] {
    FillListGroups(c, *cursor, *kFingerprint, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* GroupService::SetSize(grpc::CallbackServerContext* context,
                                                const v1::SetSizeRequest* request,
                                                v1::SetSizeResponse* response) {
  if (auto* refused = FinishIfError(context, spi::CheckIdSize(request->id(), "id"))) return refused;
  return FinishOnPool(pool_, context, [this, request, response, deadline = Deadline(context)] {
    return Route([&](const ControllerPtr& c) { return Fill(c->SetSize(*request), response); },
                 [&](LeaderForwarder& f) { return Fill(f.SetSize(*request, deadline), response); });
  });
}

grpc::ServerUnaryReactor* GroupService::DestroyGroup(grpc::CallbackServerContext* context,
                                                     const v1::DestroyGroupRequest* request,
                                                     v1::DestroyGroupResponse* response) {
  if (auto* refused = FinishIfError(context, spi::CheckIdSize(request->id(), "id"))) return refused;
  // The request is copied: gRPC frees its own once the call is finished, possibly before the
  // task runs.
  return StartOnPool(pool_, response, open_calls_,
                     [this, request = *request,
                      deadline = Deadline(context)](DoneCallback<v1::DestroyGroupResponse> done) {
                       RouteDone(
                           done, [&](const ControllerPtr& c) { c->DestroyGroup(request, done); },
                           [&](LeaderForwarder& f) { return f.DestroyGroup(request, deadline); });
                     });
}

grpc::ServerUnaryReactor* GroupService::DestroyInstances(grpc::CallbackServerContext* context,
                                                         const v1::DestroyInstancesRequest* request,
                                                         v1::DestroyInstancesResponse* response) {
  if (auto* refused = FinishIfError(context, CheckDestroyInstancesSize(*request))) return refused;
  return StartOnPool(
      pool_, response, open_calls_,
      [this, request = *request,
       deadline = Deadline(context)](DoneCallback<v1::DestroyInstancesResponse> done) {
        RouteDone(
            done, [&](const ControllerPtr& c) { c->DestroyInstances(request, done); },
            [&](LeaderForwarder& f) { return f.DestroyInstances(request, deadline); });
      });
}

grpc::ServerWriteReactor<v1::UpdateGroupResponse>* GroupService::UpdateGroup(
    grpc::CallbackServerContext* context, const v1::UpdateGroupRequest* request) {
  return StartStream<v1::UpdateGroupResponse>(
      context, &pool_, options_.max_stream_backlog, open_calls_,
      [this, request = *request](UpdateProgressCallback on_progress, StreamEndCallback on_end)
          -> absl::StatusOr<std::unique_ptr<Subscription>> {
        // Before any work, as for the unary calls; the stream ends with the error.
        if (absl::Status s = CheckGroupSpecSize(request.spec(), "spec"); !s.ok()) return s;
        return RouteKept(
            [&](const ControllerPtr& c) { return c->UpdateGroup(request, on_progress, on_end); },
            [&](LeaderForwarder& f) { return f.UpdateGroup(request, on_progress, on_end); });
      });
}

grpc::ServerWriteReactor<v1::GroupEvent>* GroupService::StreamGroupEvents(
    grpc::CallbackServerContext* context, const v1::StreamGroupEventsRequest* request) {
  return StartStream<v1::GroupEvent>(
      context, &pool_, options_.max_stream_backlog, open_calls_,
      [this, request = *request](GroupEventCallback on_event, StreamEndCallback on_end)
          -> absl::StatusOr<std::unique_ptr<Subscription>> {
        if (absl::Status s = spi::CheckIdSize(request.id(), "id"); !s.ok()) return s;
        return RouteKept(
            [&](const ControllerPtr& c) { return c->StreamGroupEvents(request, on_event, on_end); },
            [&](LeaderForwarder& f) { return f.StreamGroupEvents(request, on_event, on_end); });
      });
}

}  // namespace infrakit::services::group::server
