#include "plugins/instance/instance_service.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/paging/paging.h"
#include "common/pooled_unary.h"
#include "common/stream_writer.h"
#include "glog/logging.h"
#include "spi/item_status.h"
#include "spi/request_limits.h"

namespace infrakit::plugins::instance {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::common::Fill;
using ::infrakit::common::FinishIfError;
using ::infrakit::common::FinishOnPool;

// The most bytes of events packed into one Watch message (WatchRequest.max_events_per_response).
constexpr size_t kMaxPackedBytes = 1 << 20;

// The core's side of one Watch stream: the WatchSink the core calls, which feeds the stream,
// and the core's WatchHandle. Destroying it destroys the handle first, which waits for a sink
// call in progress, so the sink outlives every call.
class CoreWatch final : public common::StreamSubscription, public spi::instance::WatchSink {
 public:
  // Starts a watch on `core` feeding `feed`; the core's error when it refuses (it may have
  // delivered the initial set to the feed already).
  static absl::StatusOr<std::unique_ptr<common::StreamSubscription>> Subscribe(
      spi::instance::InstancePlugin& core, const v1::WatchRequest& request,
      common::StreamFeed<v1::WatchResponse> feed) {
    std::unique_ptr<CoreWatch> watch(new CoreWatch(std::move(feed)));
    absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> handle =
        core.Watch(request, watch.get());
    if (!handle.ok()) return handle.status();
    watch->handle_ = *std::move(handle);
    return watch;
  }

  ~CoreWatch() override { handle_.reset(); }

  // WatchSink: called by the core, one call at a time; never blocks.
  void OnEvent(const v1::WatchResponse& event) override { feed_.Push(event); }
  void OnDone(const absl::Status& status) override {
    VLOG(1) << "Watch ended by the plugin: " << status;
    feed_.End(status);
  }

 private:
  explicit CoreWatch(common::StreamFeed<v1::WatchResponse> feed) : feed_(std::move(feed)) {}

  const common::StreamFeed<v1::WatchResponse> feed_;
  std::unique_ptr<spi::instance::WatchHandle> handle_;
};

// What each request may carry (spi/request_limits.h), checked before any work: OK or
// INVALID_ARGUMENT naming the field.
absl::Status Limits(const v1::ValidateRequest& request) {
  return spi::CheckPropertiesSize(request.properties(), "properties");
}
absl::Status Limits(const v1::ProvisionRequest& request) {
  return spi::CheckSpecSize(request.spec(), "spec");
}
absl::Status Limits(const v1::DestroyRequest& request) {
  return spi::CheckIdSize(request.id(), "id");
}
absl::Status Limits(const v1::DescribeRequest& request) {
  return spi::CheckTagsSize(request.tags(), "tags");
}
absl::Status Limits(const v1::LabelRequest& request) {
  if (absl::Status s = spi::CheckIdSize(request.id(), "id"); !s.ok()) return s;
  return spi::CheckTagsSize(request.labels(), "labels");
}
absl::Status Limits(const v1::BatchProvisionRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.requests_size(), "requests"); !s.ok()) return s;
  for (int i = 0; i < request.requests_size(); ++i) {
    absl::Status s =
        spi::CheckSpecSize(request.requests(i).spec(), absl::StrCat("requests[", i, "].spec"));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}
absl::Status Limits(const v1::BatchDestroyRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.requests_size(), "requests"); !s.ok()) return s;
  for (int i = 0; i < request.requests_size(); ++i) {
    absl::Status s =
        spi::CheckIdSize(request.requests(i).id(), absl::StrCat("requests[", i, "].id"));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

std::string DescribeFingerprint(const v1::DescribeRequest& request) {
  // Map iteration order is unspecified: the tags are sorted first.
  std::vector<std::string> parts;
  parts.reserve(request.tags_size() * 2 + 1);
  std::vector<std::pair<std::string, std::string>> tags(request.tags().begin(),
                                                        request.tags().end());
  std::sort(tags.begin(), tags.end());
  for (auto& [key, value] : tags) {
    parts.push_back(std::move(key));
    parts.push_back(std::move(value));
  }
  parts.push_back(request.include_properties() ? "properties" : "");
  return common::PageFingerprint("InstanceService.Describe", parts);
}

absl::Status DescribePage(spi::instance::InstancePlugin& core, const v1::DescribeRequest& request,
                          const common::PageCursor& cursor, absl::string_view fingerprint,
                          v1::DescribeResponse* response) {
  return core.DescribePaged(request, cursor, fingerprint, response);
}

InstanceService::InstanceService(std::shared_ptr<spi::instance::InstancePlugin> core,
                                 InstanceServiceOptions options)
    : core_(std::move(core)),
      options_(options),
      pool_(options.worker_threads, options.max_queued_calls) {
  SetMessageAllocatorFor_Describe(&describe_allocator_);
}

InstanceService::~InstanceService() = default;

grpc::ServerUnaryReactor* InstanceService::Validate(grpc::CallbackServerContext* context,
                                                    const v1::ValidateRequest* request,
                                                    v1::ValidateResponse* /*response*/) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request] { return core_->Validate(*request); });
}

grpc::ServerUnaryReactor* InstanceService::Provision(grpc::CallbackServerContext* context,
                                                     const v1::ProvisionRequest* request,
                                                     v1::ProvisionResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->Provision(*request), response);
  });
}

grpc::ServerUnaryReactor* InstanceService::Destroy(grpc::CallbackServerContext* context,
                                                   const v1::DestroyRequest* request,
                                                   v1::DestroyResponse* /*response*/) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request] { return core_->Destroy(*request); });
}

grpc::ServerUnaryReactor* InstanceService::Describe(grpc::CallbackServerContext* context,
                                                    const v1::DescribeRequest* request,
                                                    v1::DescribeResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  // A bad page_size or page_token is refused before it takes a worker or reaches the core.
  const std::string fingerprint = DescribeFingerprint(*request);
  absl::StatusOr<common::PageCursor> cursor =
      common::StartPage(request->page_size(), request->page_token(), fingerprint);
  if (auto* refused = FinishIfError(context, cursor.status())) return refused;
  if (core_->DescribePagedNeverBlocks()) {
    // Nothing to wait for: answered here rather than queued behind calls that block.
    return common::FinishInline(
        context, [&] { return DescribePage(*core_, *request, *cursor, fingerprint, response); });
  }
  return FinishOnPool(pool_, context,
                      [this, request, response, cursor = *std::move(cursor), fingerprint] {
                        return DescribePage(*core_, *request, cursor, fingerprint, response);
                      });
}

grpc::ServerUnaryReactor* InstanceService::Label(grpc::CallbackServerContext* context,
                                                 const v1::LabelRequest* request,
                                                 v1::LabelResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context,
                      [this, request, response] { return Fill(core_->Label(*request), response); });
}

grpc::ServerUnaryReactor* InstanceService::BatchProvision(grpc::CallbackServerContext* context,
                                                          const v1::BatchProvisionRequest* request,
                                                          v1::BatchProvisionResponse* response) {
  // Checked here, before the pool, so that no core (nor a core's override forgetting the
  // check) ever sees an oversized batch or item, and such a call takes no worker.
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchProvision(*request), response);
  });
}

grpc::ServerUnaryReactor* InstanceService::BatchDestroy(grpc::CallbackServerContext* context,
                                                        const v1::BatchDestroyRequest* request,
                                                        v1::BatchDestroyResponse* response) {
  if (auto* refused = FinishIfError(context, Limits(*request))) return refused;
  return FinishOnPool(pool_, context, [this, request, response] {
    return Fill(core_->BatchDestroy(*request), response);
  });
}

grpc::ServerWriteReactor<v1::WatchResponse>* InstanceService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  common::StreamWriterOptions options;
  options.subscribed_metadata_key = kWatchSubscribedMetadataKey;
  options.max_backlog = options_.max_watch_backlog;
  options.name = "watch";
  options.items = "events";
  options.overflow_hint = "; watch again";
  // Above one event per message, everything waiting goes in one message (see
  // WatchRequest.max_events_per_response): while a write is in flight, a burst of events piles
  // up and then costs one. Bounded in bytes too, far below the client's receive limit.
  common::StreamPacking<v1::WatchResponse> packing;
  packing.max_items = request->max_events_per_response();
  packing.max_bytes = kMaxPackedBytes;
  packing.pack = [](v1::WatchResponse event, v1::WatchResponse* packed) {
    *packed->add_events() = std::move(event);
  };
  // The request is copied: gRPC frees its own once the call is finished.
  return common::StreamWriter<v1::WatchResponse>::Start(
      context, &pool_, std::move(options), std::move(packing),
      [core = core_, request = *request](common::StreamFeed<v1::WatchResponse> feed) {
        return CoreWatch::Subscribe(*core, request, std::move(feed));
      });
}

}  // namespace infrakit::plugins::instance
