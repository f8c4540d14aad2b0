// The Instance SPI: what an instance plugin's core implements, in plain C++.
//
// The same interface is implemented by plugin cores (plugins/instance/<name>/), by the gRPC
// client (client/instance_client.h) and by test fakes, so the group controller talks to any of
// them alike. Messages are the v1 protobuf contract (proto/infrakit/instance/v1); errors are
// absl::Status with the codes the contract names.
#ifndef INFRAKIT_SPI_INSTANCE_INSTANCE_PLUGIN_H_
#define INFRAKIT_SPI_INSTANCE_INSTANCE_PLUGIN_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/paging/paging.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "spi/item_status.h"

namespace infrakit::spi::instance {

namespace v1 = ::infrakit::instance::v1;

// Receives the events of one Watch.
//
// Threading: called from a thread of the plugin (or of the gRPC client), one call at a time per
// watch. Implementations must not block and must not call back into the plugin: they queue the
// event and return.
class WatchSink {
 public:
  virtual ~WatchSink() = default;

  // One event: ADDED for each instance of the initial set, then SYNCED once, then ADDED /
  // CHANGED / REMOVED as things change.
  virtual void OnEvent(const v1::WatchResponse& event) = 0;

  // The watch ended (plugin stopping, connection lost, ...); no call follows. Not called when
  // the watch is ended by destroying its WatchHandle.
  virtual void OnDone(const absl::Status& status) = 0;
};

// A running watch. Destroying it cancels the watch; once the destructor returns the sink is
// called no more, so the sink may be destroyed right after.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

// An instance plugin. All methods are thread-safe and may block (they do I/O); callers must not
// call them while holding a lock they need elsewhere.
class InstancePlugin {
 public:
  virtual ~InstancePlugin() = default;

  // Checks instance properties. INVALID_ARGUMENT naming the field when they are bad.
  virtual absl::Status Validate(const v1::ValidateRequest& request) = 0;

  // Creates one instance. With spec.idempotency_key set, a repeat returns the first instance's ID
  // with created = false. INVALID_ARGUMENT for a bad spec.
  virtual absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest& request) = 0;

  // Destroys an instance. NOT_FOUND when there is no such instance.
  virtual absl::Status Destroy(const v1::DestroyRequest& request) = 0;

  // Lists the instances having all the requested tags, ordered by ID: every one of them. A core
  // ignores page_size and page_token (the gRPC adapter, plugins/instance/instance_service, cuts
  // its answer into pages); the gRPC client follows the pages and returns them all too.
  virtual absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest& request) = 0;

  // One page of Describe: the matching instances whose IDs come after cursor.after_key, at most
  // what the page may hold (common/paging/paging.h, kDefaultPageLimits), with the next page's
  // token for `fingerprint` (empty after the last page). What the gRPC adapter serves. The
  // default cuts Describe's full answer; a core that keeps its instances sorted overrides it to
  // copy only the page (instance-file). Built in `out` (empty, perhaps on the arena of the
  // gRPC call that answers it); on an error `out` may hold part of a page and is not sent.
  // Errors: Describe's.
  virtual absl::Status DescribePaged(const v1::DescribeRequest& request,
                                     const common::PageCursor& cursor,
                                     absl::string_view fingerprint, v1::DescribeResponse* out);
  // True when DescribePaged never blocks (no I/O, no lock held across anything slow): the gRPC
  // adapter then answers on gRPC's own thread instead of queueing the call for a worker, where
  // it would wait behind calls that do block (a batch of provisions writing to disk). Default:
  // false.
  virtual bool DescribePagedNeverBlocks() const { return false; }

  // Merges tags into an instance's tags. NOT_FOUND when there is no such instance.
  virtual absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest& request) = 0;

  // Starts a watch delivering events to `sink` (which must outlive the returned handle).
  // UNIMPLEMENTED when the plugin cannot watch; callers then poll Describe.
  virtual absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(const v1::WatchRequest& request,
                                                             WatchSink* sink) = 0;

  // Creates several instances: one result per request, in order, each what Provision would
  // have returned (not atomic). Fails as a whole only with INVALID_ARGUMENT for more than
  // spi::kMaxBatchSize requests (and, for remote plugins, when the call cannot be made). The
  // default calls Provision for each request in turn; plugins override it when creating many at
  // once is cheaper (one fsync, one cloud API call, ...).
  virtual absl::StatusOr<v1::BatchProvisionResponse> BatchProvision(
      const v1::BatchProvisionRequest& request);

  // Destroys several instances: one status per request, in order, each what Destroy would have
  // returned. Same whole-call errors and default as BatchProvision.
  virtual absl::StatusOr<v1::BatchDestroyResponse> BatchDestroy(
      const v1::BatchDestroyRequest& request);
};

}  // namespace infrakit::spi::instance

#endif  // INFRAKIT_SPI_INSTANCE_INSTANCE_PLUGIN_H_
