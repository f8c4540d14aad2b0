// An in-memory instance plugin for tests of anything that talks to the Instance SPI (the gRPC
// adapter and client, the group controller). Behaves as the contract says: ordered IDs, tag
// filters, idempotency keys, NOT_FOUND / INVALID_ARGUMENT, and Watch with the initial set, SYNCED
// and live events. Test controls can make calls block, refuse Watch, or end the watches.
#ifndef INFRAKIT_CLIENT_TESTING_FAKE_INSTANCE_PLUGIN_H_
#define INFRAKIT_CLIENT_TESTING_FAKE_INSTANCE_PLUGIN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::client::testing {

// Thread-safe. Sinks are called with the plugin's mutex held (so every watch sees events in
// the same order as the changes), which the WatchSink contract allows since sinks never block
// nor call back. The plugin must outlive the handles it returns.
class FakeInstancePlugin final : public spi::instance::InstancePlugin {
 public:
  FakeInstancePlugin() = default;
  ~FakeInstancePlugin() override = default;

  // Validate and Provision reject properties whose "image" field is present and not a string:
  // INVALID_ARGUMENT "properties.image: must be a string".
  absl::Status Validate(const spi::instance::v1::ValidateRequest& request) override;
  // IDs are "instance-000001", "instance-000002"... (ordered as created). State RUNNING.
  absl::StatusOr<spi::instance::v1::ProvisionResponse> Provision(
      const spi::instance::v1::ProvisionRequest& request) override;
  absl::Status Destroy(const spi::instance::v1::DestroyRequest& request) override;
  absl::StatusOr<spi::instance::v1::DescribeResponse> Describe(
      const spi::instance::v1::DescribeRequest& request) override;
  absl::StatusOr<spi::instance::v1::LabelResponse> Label(
      const spi::instance::v1::LabelRequest& request) override;
  // Sends the initial set and SYNCED from inside this call, then live events from the threads
  // that change things. UNIMPLEMENTED after SetWatchSupported(false).
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const spi::instance::v1::WatchRequest& request, spi::instance::WatchSink* sink) override;
  // The SPI's default loops (each item is one Provision / Destroy call, with everything above:
  // gating, counting, bad properties, FailNthProvision), counted by batch_*_calls(). A batch
  // refused as a whole (too large) is counted too but reaches no item.
  absl::StatusOr<spi::instance::v1::BatchProvisionResponse> BatchProvision(
      const spi::instance::v1::BatchProvisionRequest& request) override;
  absl::StatusOr<spi::instance::v1::BatchDestroyResponse> BatchDestroy(
      const spi::instance::v1::BatchDestroyRequest& request) override;

  // Test controls.

  // Whether Watch works (default true).
  void SetWatchSupported(bool supported);
  // While blocked, every SPI call waits inside the plugin (counted by blocked_calls()).
  void BlockCalls();
  void UnblockCalls();
  int blocked_calls() const;
  // SPI calls that reached the plugin so far (each item of a batch counts as one call).
  int calls() const;
  // Provision / Destroy calls so far, items of batches included.
  int provision_calls() const;
  int destroy_calls() const;
  // BatchProvision / BatchDestroy calls so far.
  int batch_provision_calls() const;
  int batch_destroy_calls() const;
  // The `n`-th Provision from now (1 = the next one; items of a batch count one each) fails
  // with `status` before creating anything, e.g. FailNthProvision(2, ...) before a batch of 5
  // makes its second item fail. One failure is pending at a time: a new call replaces it.
  void FailNthProvision(int n, absl::Status status);
  // Watches currently subscribed, and handles destroyed so far.
  int open_watches() const;
  int destroyed_handles() const;
  // Ends every open watch with sink->OnDone(status), as a plugin that stops would.
  void EndWatches(const absl::Status& status);

 private:
  class Handle;
  struct Watcher {
    spi::instance::v1::WatchRequest request;
    spi::instance::WatchSink* sink;
  };

  void Gate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unwatch(int64_t id);
  // Sends what changed for `id` (before: its description before, or null) to every watch.
  void Notify(const spi::instance::v1::Description* before,
              const spi::instance::v1::Description* after) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Unblocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !blocked_; }

  mutable absl::Mutex mu_;
  std::map<std::string, spi::instance::v1::Description> instances_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> by_idempotency_key_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, Watcher> watchers_ ABSL_GUARDED_BY(mu_);
  int64_t next_watch_ ABSL_GUARDED_BY(mu_) = 1;
  bool watch_supported_ ABSL_GUARDED_BY(mu_) = true;
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;
  int blocked_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int provision_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int destroy_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int batch_provision_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int batch_destroy_calls_ ABSL_GUARDED_BY(mu_) = 0;
  // Provisions still to pass before the injected failure (0: none pending).
  int fail_in_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status fail_status_ ABSL_GUARDED_BY(mu_);
  int destroyed_handles_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace infrakit::client::testing

#endif  // INFRAKIT_CLIENT_TESTING_FAKE_INSTANCE_PLUGIN_H_
