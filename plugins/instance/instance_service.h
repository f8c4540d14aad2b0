// The gRPC face of any instance plugin core: serves infrakit.instance.v1.InstanceService by
// calling a spi::instance::InstancePlugin, mapping statuses once (common/grpc_status.h).
//
// Core calls may block (file I/O, process spawning), so they run on a bounded WorkerPool and
// never on gRPC's callback threads. Watch streams are common::StreamWriter reactors fed by the
// core's WatchSink. Lifecycle: shut the grpc::Server down (with a deadline, so that open Watch
// streams are cancelled) before destroying this service; the service keeps its core alive.
#ifndef INFRAKIT_PLUGINS_INSTANCE_INSTANCE_SERVICE_H_
#define INFRAKIT_PLUGINS_INSTANCE_INSTANCE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/arena_allocator.h"
#include "common/paging/paging.h"
#include "common/worker_pool.h"
#include "infrakit/instance/v1/instance.grpc.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::plugins::instance {

// Initial metadata key the server sends once a Watch is subscribed on the core, before any
// event. It lets a client tell "the watch is established" from "the call failed at once"
// (e.g. UNIMPLEMENTED) without waiting for the first event. client/instance_client.cc uses the
// same literal.
inline constexpr char kWatchSubscribedMetadataKey[] = "infrakit-watch";

struct InstanceServiceOptions {
  // Threads running core calls (they may block, so more than the cores).
  int worker_threads = 8;
  // Unary calls allowed to wait for a worker; beyond, calls fail with RESOURCE_EXHAUSTED.
  size_t max_queued_calls = 10000;
  // Events one Watch may buffer for a slow client; beyond, the stream ends with
  // RESOURCE_EXHAUSTED (the client then re-watches and gets a fresh initial set).
  size_t max_watch_backlog = 100000;
};

// The fingerprint of a Describe request's filters (tags, include_properties) that its page
// tokens carry (common/paging.h).
std::string DescribeFingerprint(const ::infrakit::instance::v1::DescribeRequest& request);

// One page of Describe: the core's DescribePaged (by default its full answer cut to the page
// `cursor` designates), with the next page's token. Errors: the core's.
absl::Status DescribePage(spi::instance::InstancePlugin& core,
                          const ::infrakit::instance::v1::DescribeRequest& request,
                          const common::PageCursor& cursor, absl::string_view fingerprint,
                          ::infrakit::instance::v1::DescribeResponse* response);

class InstanceService final : public ::infrakit::instance::v1::InstanceService::CallbackService {
 public:
  explicit InstanceService(std::shared_ptr<spi::instance::InstancePlugin> core,
                           InstanceServiceOptions options = InstanceServiceOptions());
  ~InstanceService() override;

  InstanceService(const InstanceService&) = delete;
  InstanceService& operator=(const InstanceService&) = delete;

  // Each unary method runs the core's method of the same name on the worker pool and answers
  // with its result; errors are the core's (UNIMPLEMENTED included), or RESOURCE_EXHAUSTED /
  // UNAVAILABLE from the pool, or CANCELLED for a call that ended while it waited.
  grpc::ServerUnaryReactor* Validate(grpc::CallbackServerContext* context,
                                     const ::infrakit::instance::v1::ValidateRequest* request,
                                     ::infrakit::instance::v1::ValidateResponse* response) override;
  grpc::ServerUnaryReactor* Provision(
      grpc::CallbackServerContext* context,
      const ::infrakit::instance::v1::ProvisionRequest* request,
      ::infrakit::instance::v1::ProvisionResponse* response) override;
  grpc::ServerUnaryReactor* Destroy(grpc::CallbackServerContext* context,
                                    const ::infrakit::instance::v1::DestroyRequest* request,
                                    ::infrakit::instance::v1::DestroyResponse* response) override;
  // Describe serves one page (DescribePage, common::kDefaultPageLimits): a bad page_size or
  // page_token is INVALID_ARGUMENT before the core is called. On gRPC's thread when the core's
  // DescribePagedNeverBlocks(), else on the worker pool.
  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* context,
                                     const ::infrakit::instance::v1::DescribeRequest* request,
                                     ::infrakit::instance::v1::DescribeResponse* response) override;
  grpc::ServerUnaryReactor* Label(grpc::CallbackServerContext* context,
                                  const ::infrakit::instance::v1::LabelRequest* request,
                                  ::infrakit::instance::v1::LabelResponse* response) override;

  // The batch methods refuse a batch of more than spi::kMaxBatchSize requests with
  // INVALID_ARGUMENT before it reaches the core (or the pool), whatever the core would do; else
  // they run the core's batch method on the worker pool like the unary ones. Per-item outcomes
  // travel in the response; the call's own status is only the whole call's.
  grpc::ServerUnaryReactor* BatchProvision(
      grpc::CallbackServerContext* context,
      const ::infrakit::instance::v1::BatchProvisionRequest* request,
      ::infrakit::instance::v1::BatchProvisionResponse* response) override;
  grpc::ServerUnaryReactor* BatchDestroy(
      grpc::CallbackServerContext* context,
      const ::infrakit::instance::v1::BatchDestroyRequest* request,
      ::infrakit::instance::v1::BatchDestroyResponse* response) override;

  // Subscribes on the core (on the worker pool) and streams its events in order. Sends the
  // kWatchSubscribedMetadataKey initial metadata once subscribed. Ends with the core's error
  // when it cannot watch (UNIMPLEMENTED...), with the core's status after the queued events when
  // the core ends the watch, with RESOURCE_EXHAUSTED when the client falls more than
  // max_watch_backlog events behind. Client cancellation (or server shutdown) releases the
  // core's WatchHandle.
  grpc::ServerWriteReactor<::infrakit::instance::v1::WatchResponse>* Watch(
      grpc::CallbackServerContext* context,
      const ::infrakit::instance::v1::WatchRequest* request) override;

 private:
  const std::shared_ptr<spi::instance::InstancePlugin> core_;
  const InstanceServiceOptions options_;
  // Describe's request and response on an arena per call: a page is up to 500 descriptions,
  // each with its tags (see common/arena_allocator.h).
  common::ArenaAllocator<::infrakit::instance::v1::DescribeRequest,
                         ::infrakit::instance::v1::DescribeResponse>
      describe_allocator_;
  // Declared last so that it is destroyed first: its remaining tasks still use core_.
  common::WorkerPool pool_;
};

}  // namespace infrakit::plugins::instance

#endif  // INFRAKIT_PLUGINS_INSTANCE_INSTANCE_SERVICE_H_
