// A deterministic rig for the group controller's tests: a Controller over a fake clock, a
// manual executor, an in-memory store and fake plugins, with invariant checks on every
// Provision and Destroy and after every task.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_HARNESS_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_HARNESS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "infrakit/group/v1/group.pb.h"
#include "services/group/controller.h"
#include "services/group/testing/fake_clock.h"
#include "services/group/testing/fake_flavor_plugin.h"
#include "services/group/testing/fake_instance_plugin.h"
#include "services/group/testing/fake_resolver.h"
#include "services/group/testing/manual_executor.h"
#include "services/group/testing/memory_store.h"

namespace infrakit::services::group::testing {

namespace gv1 = ::infrakit::group::v1;

inline constexpr char kInstancePlugin[] = "instance-fake";
inline constexpr char kFlavorPlugin[] = "flavor-fake";

// Collects an update's progress stream.
struct UpdateLog {
  std::vector<gv1::UpdateGroupResponse> messages;
  bool ended = false;
  absl::Status end;
  // The phase of the last message; UNSPECIFIED when none.
  gv1::UpdatePhase last_phase() const {
    return messages.empty() ? gv1::UPDATE_PHASE_UNSPECIFIED : messages.back().phase();
  }
};

// Collects a group's event stream.
struct EventLog {
  std::vector<gv1::GroupEvent> events;
  bool ended = false;
  absl::Status end;
  int Count(gv1::GroupEventType type) const;
  bool Has(gv1::GroupEventType type, const std::string& message_part) const;
};

class Harness {
 public:
  explicit Harness(ControllerOptions options = DefaultOptions());
  ~Harness();

  // Resync 10 s, update health 1 s, parallelism 8, backoff 1 s .. 60 s, grace 30 s.
  static ControllerOptions DefaultOptions();

  // A spec for the fake plugins: cattle of `size` (or pets with `logical_ids`), instance
  // properties {"Note": note}.
  static gv1::GroupSpec Cattle(const std::string& id, int64_t size, const std::string& note = "v1");
  static gv1::GroupSpec Pets(const std::string& id, const std::vector<std::string>& logical_ids,
                             const std::string& note = "v1");

  // Shuts the current controller down (if any) and starts a new one over the same store,
  // plugins, clock and executor: a restart. Returns Start()'s status.
  absl::Status Restart();
  // Restart without settling: the new controller's work is queued and none of it has run, so
  // a test can act before the restarted controller has listed or sent anything.
  absl::Status RestartUnsettled();

  // Watches `spec` (asserting success) and settles.
  void Watch(const gv1::GroupSpec& spec);

  // Runs queued tasks until none is left, checking the invariants after each.
  void Settle();
  // Moves time forward by `d` (firing timers on the way) and settles.
  void Advance(absl::Duration d);
  // Settles, then moves time from timer to timer (settling after each) until `done` holds or
  // `limit` of simulated time has passed. Returns whether `done` held.
  bool RunUntil(const std::function<bool()>& done, absl::Duration limit = absl::Minutes(30));

  // Starts an update, asserting success; progress goes to the returned log.
  std::shared_ptr<UpdateLog> Update(const gv1::GroupSpec& spec);
  // Subscribes to the group's events.
  std::shared_ptr<EventLog> Events(const std::string& id);

  gv1::InspectGroupResponse Inspect(const std::string& id);
  gv1::GroupStatus Status(const std::string& id) { return Inspect(id).status(); }

  // Instances of group `id` in the fake plugin (the ground truth), and those of them carrying
  // config_sha `sha`.
  int Count(const std::string& id);
  int CountSha(const std::string& id, const std::string& sha);

  // --- Invariants, checked on every Provision / Destroy of group `group` and after every task.
  // Recorded as failures of the running test. ---
  // Group under check.
  std::string group = "cattle";
  // A Provision may not make more than this many instances of the group (-1: no limit).
  int max_instances = -1;
  // A Destroy may not leave fewer HEALTHY instances (per the fake flavor) than this, nor may
  // there be fewer after any task (-1: none): the floor of an update (size - max unavailable)
  // or a stop.
  int min_healthy = -1;
  // While set, no instance on the group's current config_sha (as InspectGroup says at that
  // moment) may be destroyed while an instance on another config remains.
  bool check_current_config = false;

  // --- Records of the group's instances. ---
  // The most instances there were at once (after a Provision), and the fewest (after a Destroy).
  int peak = 0;
  int trough = 1 << 30;
  // The config_sha of each instance destroyed, and when, in order.
  std::vector<std::string> destroyed_shas;
  std::vector<absl::Time> destroy_times;
  std::vector<absl::Time> provision_times;

  FakeClock clock;
  ManualExecutor executor;
  MemoryStore store;
  FakeResolver resolver;
  std::shared_ptr<FakeInstancePlugin> instance;
  std::shared_ptr<FakeFlavorPlugin> flavor;
  std::unique_ptr<Controller> controller;
  ControllerOptions options;
  // Subscriptions kept alive for the logs.
  std::vector<std::unique_ptr<Subscription>> subscriptions;

 private:
  void CheckStep();
  void OnProvision(const iv1::Spec& spec, int existing);
  void OnDestroy(const iv1::Description& victim);
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_HARNESS_H_
