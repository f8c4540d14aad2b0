// An in-memory instance plugin for tests, programmable with listing lag, failures and downtime,
// and recording what the group controller does to it.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_FAKE_INSTANCE_PLUGIN_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_FAKE_INSTANCE_PLUGIN_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/group/clock.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::services::group::testing {

namespace iv1 = ::infrakit::instance::v1;

// Instances live in a map (the ground truth). IDs are "inst-0001", "inst-0002", ... in creation
// order. Watch events are delivered synchronously on the thread making the change (or, for a
// lagging listing, on the clock's thread when the instance becomes visible).
class FakeInstancePlugin : public spi::instance::InstancePlugin {
 public:
  // `clock` times the listing lag; it must outlive the plugin.
  explicit FakeInstancePlugin(Clock* clock);
  ~FakeInstancePlugin() override;

  // The SPI.
  absl::Status Validate(const iv1::ValidateRequest& request) override;
  absl::StatusOr<iv1::ProvisionResponse> Provision(const iv1::ProvisionRequest& request) override;
  absl::Status Destroy(const iv1::DestroyRequest& request) override;
  absl::StatusOr<iv1::DescribeResponse> Describe(const iv1::DescribeRequest& request) override;
  absl::StatusOr<iv1::LabelResponse> Label(const iv1::LabelRequest& request) override;
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const iv1::WatchRequest& request, spi::instance::WatchSink* sink) override;
  // Records the batch's size, then the SPI default: each item through Provision / Destroy, so
  // every programmed failure applies per item.
  absl::StatusOr<iv1::BatchProvisionResponse> BatchProvision(
      const iv1::BatchProvisionRequest& request) override;
  absl::StatusOr<iv1::BatchDestroyResponse> BatchDestroy(
      const iv1::BatchDestroyRequest& request) override;

  // --- Programming. ---
  // Watch answers UNIMPLEMENTED when false (callers then poll Describe).
  void set_watch_supported(bool supported);
  // A provisioned instance exists at once but is listed (Describe, Watch) only `lag` later.
  void set_listing_lag(absl::Duration lag);
  // The next `n` Provision calls fail with `status` (before creating anything).
  void FailProvisions(int n, absl::Status status);
  // The next `n` Provision calls create their instance and then fail with `status`, as a call
  // that timed out after the work was done.
  void FailProvisionsAfterCreate(int n, absl::Status status);
  // Every Provision fails with `status` while it is not OK.
  void set_provision_error(absl::Status status);
  // Every Destroy fails with `status` while it is not OK.
  void set_destroy_error(absl::Status status);
  // While set, a new Watch sends its initial set but not SYNCED (until ReleaseSynced).
  void set_withhold_synced(bool withhold);
  // Sends SYNCED on every watch that has not had it.
  void ReleaseSynced();
  // Down: every call fails UNAVAILABLE and running watches end with OnDone(UNAVAILABLE).
  void set_down(bool down);
  // Validate fails with `status` while it is not OK.
  void set_validate_error(absl::Status status);

  // --- Outside interference. ---
  // Creates an instance behind the controller's back (listed at once). Returns its ID.
  std::string AddExternal(const std::map<std::string, std::string>& tags,
                          const std::string& logical_id = "");
  // Removes an instance behind the controller's back (like `rm` of an instance file).
  void RemoveExternal(const std::string& id);
  // Ends every running watch with OnDone(`status`), as a lost connection would.
  void BreakWatches(absl::Status status);

  // --- Ground truth and records. ---
  // Every instance, listed or not, ordered by ID.
  std::vector<iv1::Description> Instances();
  int Count();
  // Instances having tag key=value.
  int CountWithTag(const std::string& key, const std::string& value);
  bool Exists(const std::string& id);
  // Provision calls that created an instance.
  int created();
  // Provision calls, including failed and repeated ones.
  int provision_calls();
  // Destroy calls per ID (any outcome).
  std::map<std::string, int> destroy_calls();
  // Destroy calls per ID made after a Destroy of that ID was answered OK.
  std::map<std::string, int> destroy_calls_after_ok();
  // IDs destroyed, in order.
  std::vector<std::string> destroyed_order();
  // The sizes of the BatchProvision / BatchDestroy calls, in order.
  std::vector<int> provision_batches();
  std::vector<int> destroy_batches();
  int describe_calls();
  int watch_calls();
  int active_watches();
  // The specs provisioned, in order.
  std::vector<iv1::Spec> provisioned_specs();

  // Called (without the plugin's lock) before a Provision creates an instance, with the number
  // of instances existing then, and before a Destroy removes one. For invariant checks.
  void set_on_provision(std::function<void(const iv1::Spec&, int existing)> fn);
  void set_on_destroy(std::function<void(const iv1::Description&)> fn);
  // Called (without the plugin's lock) after a Provision created and announced its instance,
  // before the call returns: lets a test run other work in that window.
  void set_after_create(std::function<void()> fn);

 private:
  struct Entry {
    iv1::Description description;
    absl::Time visible_at;
  };
  struct WatchEntry {
    std::map<std::string, std::string> tags;
    spi::instance::WatchSink* sink;
    bool synced = false;
  };
  class Handle;
  using Delivery = std::vector<std::pair<int, iv1::WatchResponse>>;

  bool Matches(const iv1::Description& d, const std::map<std::string, std::string>& tags);
  void CollectLocked(iv1::EventType type, const iv1::Description& d, Delivery* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Deliver(const Delivery& events);
  void RemoveWatch(int id);
  void MakeVisible(const std::string& id);
  std::string NewIdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  // Serialises deliveries with watch removal, so that a destroyed handle's sink is never called.
  absl::Mutex deliver_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  std::map<std::string, Entry> instances_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> keys_ ABSL_GUARDED_BY(mu_);
  std::map<int, WatchEntry> watches_ ABSL_GUARDED_BY(mu_);
  int next_watch_ ABSL_GUARDED_BY(mu_) = 1;
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool watch_supported_ ABSL_GUARDED_BY(mu_) = true;
  bool withhold_synced_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration lag_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  int fail_provisions_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status fail_provisions_status_ ABSL_GUARDED_BY(mu_);
  absl::Status provision_error_ ABSL_GUARDED_BY(mu_);
  int fail_after_create_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status fail_after_create_status_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> destroyed_order_ ABSL_GUARDED_BY(mu_);
  absl::Status destroy_error_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> destroyed_ok_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> destroy_calls_after_ok_ ABSL_GUARDED_BY(mu_);
  absl::Status validate_error_ ABSL_GUARDED_BY(mu_);
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  int created_ ABSL_GUARDED_BY(mu_) = 0;
  int provision_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> provision_batches_ ABSL_GUARDED_BY(mu_);
  std::vector<int> destroy_batches_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> destroy_calls_ ABSL_GUARDED_BY(mu_);
  int describe_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int watch_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<iv1::Spec> provisioned_ ABSL_GUARDED_BY(mu_);
  std::vector<TimerId> timers_ ABSL_GUARDED_BY(mu_);
  std::function<void(const iv1::Spec&, int)> on_provision_;
  std::function<void(const iv1::Description&)> on_destroy_;
  std::function<void()> after_create_;
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_FAKE_INSTANCE_PLUGIN_H_
