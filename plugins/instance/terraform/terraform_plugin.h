// instance-terraform: every instance is one Terraform resource, in a `<id>.tf.json` file of its
// own in the plugin's working directory (see tf_file.h for the file, properties.h for the
// properties and how tags and init are merged into the resource).
//
// Provision writes the file and returns at once: the instance is PENDING. Terraform runs in the
// background (`init` once, then `apply -auto-approve`, then `show -json`), one run at a time,
// debounced and coalesced (apply_loop.h): a burst of Provisions is one apply. Destroy removes the
// file: the instance is TERMINATING until an apply has taken the resource out of Terraform's
// state (at once REMOVED when it never got there). After each run, `terraform show -json` says
// which resources exist:
//   file, in the state          -> RUNNING
//   file, not in the state      -> PENDING, or FAILED when the run failed for it
//   no file, in the state       -> TERMINATING
//   no file, not in the state   -> gone (REMOVED)
// A failed apply's errors go on the instances they name ("with <address>,"), and the whole error
// text on the other instances the run failed to create or destroy: the runtime property `Error`
// (Describe with properties, Watch), with the state FAILED for an instance not created. Failed
// runs are retried on the next change, or after a backoff. Every change of state is a CHANGED
// event on Watch.
//
// Runtime properties: Address ("<type>.<id>"), File (while the file is there), Error (after a
// failure concerning the instance, until a run succeeds for it), Values (the resource's
// attributes in Terraform's state, while it is there).
//
// A new TerraformPlugin over the same directory re-adopts every instance whose file it finds
// (PENDING until the first run, which it starts at once). IDs are "instance-<n>", n growing with
// time (microseconds since the epoch, or the last n + 1, above every file's), never reused.
#ifndef INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_TERRAFORM_PLUGIN_H_
#define INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_TERRAFORM_PLUGIN_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/struct.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "plugins/instance/terraform/apply_loop.h"
#include "plugins/instance/terraform/command_runner.h"
#include "plugins/instance/watch_fanout.h"
#include "services/group/clock.h"
#include "services/group/executor.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::plugins::instance::terraform {

namespace v1 = ::infrakit::instance::v1;

struct TerraformPluginOptions {
  // The Terraform working directory; created if missing.
  std::string dir;
  // Runs terraform in `dir`. Required.
  std::shared_ptr<CommandRunner> runner;
  // When runs happen. Null: a real clock and a thread of the plugin's own; tests inject fakes.
  // Injected ones must outlive the plugin.
  services::group::Clock* clock = nullptr;
  services::group::Executor* executor = nullptr;
  ApplyLoop::Options loop;
};

class TerraformPlugin : public spi::instance::InstancePlugin {
 public:
  // Creates the directory if needed, re-adopts the instances of the files found there and
  // schedules a run when there are any. Errors: INVALID_ARGUMENT without a runner; INTERNAL when
  // the directory cannot be created or read.
  static absl::StatusOr<std::unique_ptr<TerraformPlugin>> Create(TerraformPluginOptions options);

  // Interrupts the terraform command under way (SIGINT) and waits for the run to end, then ends
  // open watches (OnDone UNAVAILABLE). Files and resources stay, for the next plugin. No call may
  // be in progress.
  ~TerraformPlugin() override;

  // Checks the properties (properties.h). INVALID_ARGUMENT naming the field. Thread-safe.
  absl::Status Validate(const v1::ValidateRequest& request) override;

  // Writes the instance's file and schedules a run; returns at once with the instance PENDING.
  // With an idempotency key already used by an instance (even across restarts): its ID and
  // created = false; concurrent calls with one key wait for the first. Errors: INVALID_ARGUMENT
  // for bad properties, an empty tag key, or a body the tags or init cannot be merged into;
  // INTERNAL when the file cannot be written (nothing is left). Thread-safe; never waits for
  // terraform.
  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest& request) override;

  // Removes the instance's file and schedules a run: TERMINATING until the resource has left
  // Terraform's state, or REMOVED at once when it never got there. Destroying an instance being
  // destroyed is OK. Errors: NOT_FOUND for an unknown ID; INTERNAL when the file cannot be removed
  // (the instance stays). Thread-safe; never waits for terraform.
  absl::Status Destroy(const v1::DestroyRequest& request) override;

  // The instances having all the requested tags, ordered by ID, in the states above. With
  // include_properties: the spec and the runtime properties. Never fails. Thread-safe.
  absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest& request) override;

  // Merges labels into the instance's tags and rewrites its file (for the resource types whose
  // body carries tags, a run follows to apply them). A CHANGED event when a tag changed. Errors:
  // NOT_FOUND for an unknown ID or one being destroyed; INVALID_ARGUMENT for an empty key;
  // INTERNAL when the file cannot be written (nothing changes). Thread-safe.
  absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest& request) override;

  // Streams the instances having the requested tags, then their changes. Never fails.
  // Thread-safe.
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const v1::WatchRequest& request, spi::instance::WatchSink* sink) override;

  // Runs started so far (each: init the first time, apply, show). Thread-safe.
  int64_t runs() { return loop_->runs(); }

 private:
  struct Instance;
  using InstancePtr = std::shared_ptr<Instance>;
  // What a run learnt: the resources in Terraform's state (when known) and the errors.
  struct RunOutcome;

  explicit TerraformPlugin(TerraformPluginOptions options);

  absl::Status Load();
  // One run: init (once), apply, show; then Reconcile. True when every command succeeded.
  bool Run();
  // Runs `args`; the failure text ("" when it succeeded) goes to *failure.
  absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& args,
                                           std::string* failure);
  // Brings every instance's state, error and values in line with a run's outcome; `attempted`
  // are the IDs whose file existed when the run began.
  void Reconcile(const std::set<std::string>& attempted, const RunOutcome& outcome);
  // Recomputes an instance's state and runtime properties and publishes the change from
  // `previous` (default: the description before this call; a new instance has no state yet and
  // is ADDED); erases it (REMOVED) when it is gone.
  void UpdateLocked(const InstancePtr& instance, const v1::Description* previous = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteFile(const v1::Description& record);
  std::string FilePath(const std::string& id) const;
  std::string NextIdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TerraformPluginOptions options_;
  const std::string dir_;  // Absolute, no trailing slash.

  absl::Mutex mu_;
  std::map<std::string, InstancePtr> instances_ ABSL_GUARDED_BY(mu_);
  // Idempotency key -> ID of the instance created with it.
  absl::flat_hash_map<std::string, std::string> ids_by_key_ ABSL_GUARDED_BY(mu_);
  // Keys whose first Provision is under way.
  absl::flat_hash_set<std::string> pending_keys_ ABSL_GUARDED_BY(mu_);
  int64_t last_id_number_ ABSL_GUARDED_BY(mu_) = 0;
  // Only the run touches it (runs never overlap).
  bool initialized_ = false;
  std::atomic<bool> stopping_{false};

  std::unique_ptr<WatchFanout> fanout_;
  std::unique_ptr<services::group::Clock> own_clock_;
  std::unique_ptr<services::group::Executor> own_executor_;
  std::unique_ptr<ApplyLoop> loop_;
};

}  // namespace infrakit::plugins::instance::terraform

#endif  // INFRAKIT_PLUGINS_INSTANCE_TERRAFORM_TERRAFORM_PLUGIN_H_
