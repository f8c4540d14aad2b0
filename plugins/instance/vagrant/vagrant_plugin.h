// instance-vagrant: every instance is a Vagrant machine in a directory of its own, by default a
// docker container made by Vagrant's docker provider.
//
// Provision creates `<dir>/<id>/` holding the Vagrantfile rendered from the template (see
// vagrantfile.h and properties.h), the spec's init as `init.sh` (also embedded in the
// Vagrantfile: the container's command runs it), and `instance.json` (the description: spec,
// tags, logical ID; written atomically), and returns at once with the instance PENDING. A
// background worker then runs `vagrant up --provider=<Provider>` there; when it succeeds the
// instance becomes RUNNING (a CHANGED event); when it fails the instance becomes TERMINATING
// with vagrant's error text in its runtime properties (`Error`; a CHANGED event), the machine is
// destroyed (`vagrant destroy -f`) and the instance is REMOVED. At most `max_parallel` vagrant
// commands run at once (Provision never waits for them), and only one at a time in any
// instance's directory (vagrant refuses a second: "another process is already executing an
// action").
//
// Destroy runs `vagrant destroy -f` (after the instance's `vagrant up`, if one runs) and deletes
// the directory. A container that stops or is removed behind the plugin's back (docker rm -f, a
// crash, its command exiting) is seen in Docker's events (docker_watcher.h): the instance is
// REMOVED at once and its machine destroyed and directory deleted afterwards (a `destroying`
// marker file in the directory makes a restarted plugin finish that). Containers are only
// watched for instances of the docker provider whose Vagrantfile gives the container the label
// infrakit.instance (the default template does: {{.CreateArgs}}).
//
// Runtime properties (Describe / Watch with include_properties): InstanceDir, Provider,
// VagrantState (pending, running, failed, destroying), ContainerID (once known, from
// `.vagrant/machines/default/docker/id`) and Error (after a failure).
//
// The machines outlive the plugin. A new VagrantPlugin over the same directory re-adopts every
// instance directory holding an instance.json: RUNNING when `.vagrant/machines/default/<provider>
// /id` names a machine, else PENDING; then `vagrant status --machine-readable` (in the
// background, bounded like the rest) decides: running -> RUNNING; not_created or preparing (an
// interrupted `vagrant up`) -> `vagrant up` again; anything else (stopped...) -> the instance
// died: destroyed and REMOVED. Directories without instance.json (an interrupted Provision) are
// deleted; those with the `destroying` marker are destroyed.
//
// IDs are "instance-<n>", n growing with time (microseconds since the epoch, or the last n + 1),
// so an ID is never reused, not even across restarts.
#ifndef INFRAKIT_PLUGINS_INSTANCE_VAGRANT_VAGRANT_PLUGIN_H_
#define INFRAKIT_PLUGINS_INSTANCE_VAGRANT_VAGRANT_PLUGIN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/worker_pool.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "plugins/instance/vagrant/docker_watcher.h"
#include "plugins/instance/vagrant/properties.h"
#include "plugins/instance/vagrant/subprocess.h"
#include "plugins/instance/watch_fanout.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::plugins::instance::vagrant {

namespace v1 = ::infrakit::instance::v1;

class VagrantPlugin : public spi::instance::InstancePlugin {
 public:
  struct Options {
    // Holds one directory per instance; created if missing.
    std::string dir;
    // The vagrant and docker executables (looked up on $PATH without a '/').
    std::string vagrant = "vagrant";
    std::string docker = "docker";
    // DOCKER_HOST given to vagrant and docker, e.g. unix:///run/engine.sock; "" keeps the
    // plugin's own environment.
    std::string docker_host;
    // The most vagrant commands running at once (>= 1).
    int max_parallel = 4;
    // Watch Docker's events for containers stopped or removed behind the plugin's back.
    bool watch_docker = true;
  };

  // Creates the directory if needed, re-adopts the instances found in it (see above) and starts
  // the workers and the Docker watcher. Errors: INVALID_ARGUMENT for max_parallel < 1; INTERNAL
  // when the directory cannot be created or read.
  static absl::StatusOr<std::unique_ptr<VagrantPlugin>> Create(Options options);

  // Stops the Docker watcher, drops the vagrant commands not started yet (a restarted plugin
  // resumes them), waits for those running, and ends open watches (OnDone UNAVAILABLE). The
  // machines keep running. No call may be in progress.
  ~VagrantPlugin() override;

  // Checks the properties (see properties.h). INVALID_ARGUMENT naming the field. Thread-safe.
  absl::Status Validate(const v1::ValidateRequest& request) override;

  // Writes the instance's directory and returns its ID at once, the instance PENDING, its
  // `vagrant up` queued (see above). With an idempotency key already used by a living
  // instance: that instance's ID and created = false, even across restarts; concurrent calls
  // with one key wait for the first. Errors: INVALID_ARGUMENT for bad properties or an empty tag
  // key; INTERNAL when the files cannot be written (nothing is left behind). Thread-safe; blocks
  // only for the file writes.
  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest& request) override;

  // Marks the instance TERMINATING (a CHANGED event), waits for a `vagrant up` under way in its
  // directory, runs `vagrant destroy -f`, deletes the directory and publishes REMOVED; blocks
  // meanwhile (seconds). A Destroy of an instance already being destroyed waits for that one.
  // Errors: NOT_FOUND for an unknown ID; INTERNAL with vagrant's error text when `vagrant
  // destroy` fails (the instance stays, in the state it had). Thread-safe.
  absl::Status Destroy(const v1::DestroyRequest& request) override;

  // Destroy for each request, up to max_parallel at once (on the calling thread and threads
  // started and joined within the call; vagrant commands stay bounded by max_parallel overall):
  // one status per request, in order. INVALID_ARGUMENT for more than spi::kMaxBatchSize
  // requests. Thread-safe; blocks until every destroy is done.
  absl::StatusOr<v1::BatchDestroyResponse> BatchDestroy(
      const v1::BatchDestroyRequest& request) override;

  // The instances having all the requested tags, ordered by ID: PENDING, RUNNING or
  // TERMINATING. With include_properties: the spec and the runtime properties. Never fails.
  // Thread-safe; does no I/O.
  absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest& request) override;

  // Merges labels into the instance's tags and saves them in instance.json (the machine does not
  // change). Returns the instance without spec and properties; a CHANGED event when a tag
  // changed. Errors: NOT_FOUND for an unknown ID; INVALID_ARGUMENT for an empty key; INTERNAL
  // when instance.json cannot be written (nothing changes). Thread-safe.
  absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest& request) override;

  // Streams the instances having the requested tags, then their changes (state changes
  // included). Never fails. Thread-safe; never blocks.
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const v1::WatchRequest& request, spi::instance::WatchSink* sink) override;

 private:
  struct Instance;
  using InstancePtr = std::shared_ptr<Instance>;

  explicit VagrantPlugin(Options options);

  absl::Status Load();
  // Creates the instance's directory with its Vagrantfile, init.sh and (last) instance.json.
  // INTERNAL / INVALID_ARGUMENT (a bad template); the caller deletes what was made.
  absl::Status WriteInstanceDir(const Instance& instance, const VagrantProperties& properties);
  // Re-adopts one instance directory (Load).
  void LoadOne(const std::string& id);
  // Workers' tasks; each holds the instance's action lock while its vagrant commands run.
  void Up(const InstancePtr& instance);
  void Adopt(const InstancePtr& instance);
  // Destroys the machine of an instance already erased from the books (or never listed) and
  // deletes its directory; a failure is logged (the marker stays for the next start).
  void Reap(const InstancePtr& instance);
  // Queues a task on the workers unless the plugin is stopping.
  void Submit(std::function<void()> task);
  // `vagrant <args>` in the instance's directory, waiting for one of the max_parallel slots.
  absl::StatusOr<CommandResult> RunVagrant(const Instance& instance, std::vector<std::string> args);
  // The container ID from .vagrant/machines/default/<provider>/id, "" when none.
  std::string MachineId(const Instance& instance) const;

  // Docker watcher callbacks.
  void OnGone(const std::string& id);
  void OnListing(const absl::flat_hash_set<std::string>& running, absl::Time taken_at);

  // With the instance's action lock held: reports the instance failed (TERMINATING with
  // `error`), destroys its machine, deletes its directory and erases it (REMOVED). Does
  // nothing when a Destroy owns the instance.
  void Fail(const InstancePtr& instance, const std::string& error);
  // With the instance's action lock held: `vagrant destroy -f` (unless no vagrant command ever
  // ran there), then deletes the directory. INTERNAL with vagrant's error text.
  absl::Status DestroyMachine(const InstancePtr& instance);
  // Sets state and runtime properties and publishes the change.
  void SetStateLocked(const InstancePtr& instance, v1::LifecycleState state,
                      const std::string& vagrant_state, const std::string& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(const InstancePtr& instance) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NextIdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string InstanceDir(const std::string& id) const;

  Options options_;               // dir absolute.
  std::vector<std::string> env_;  // Of vagrant and docker.

  absl::Mutex mu_;
  // Every instance by ID, including those being provisioned (not yet visible).
  std::map<std::string, InstancePtr> instances_ ABSL_GUARDED_BY(mu_);
  // Idempotency key -> ID of the living instance created with it.
  absl::flat_hash_map<std::string, std::string> ids_by_key_ ABSL_GUARDED_BY(mu_);
  // Keys whose first Provision is under way.
  absl::flat_hash_set<std::string> pending_keys_ ABSL_GUARDED_BY(mu_);
  int64_t last_id_number_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Free slots for vagrant commands.
  absl::Mutex slots_mu_;
  int free_slots_ ABSL_GUARDED_BY(slots_mu_);

  std::unique_ptr<WatchFanout> fanout_;
  std::unique_ptr<common::WorkerPool> workers_;
  std::unique_ptr<DockerWatcher> watcher_;
};

}  // namespace infrakit::plugins::instance::vagrant

#endif  // INFRAKIT_PLUGINS_INSTANCE_VAGRANT_VAGRANT_PLUGIN_H_
