// instance-process: every instance is a real, supervised OS process on this machine.
//
// Provision creates `<dir>/<id>/`, writes the spec's init script there as `init.sh` and starts
// `/bin/sh <dir>/<id>/init.sh` (then the `Command` property, see properties.h; with a Command
// and an init script of blanks, the Command alone and no init.sh) as the leader
// of a new session, in `<dir>/<id>/` (or the `Dir` property), with stdout and stderr appended
// to `<dir>/<id>/output.log` and this environment: the plugin's own, then one
// INFRAKIT_TAG_<KEY> per tag (the key upper-cased, every character other than a letter or a
// digit replaced by '_': infrakit.group -> INFRAKIT_TAG_INFRAKIT_GROUP; tags are those of the
// spec, labels added later do not reach a running process), then INFRAKIT_INSTANCE_ID,
// INFRAKIT_LOGICAL_ID, INFRAKIT_GROUP (the infrakit.group tag), INFRAKIT_INSTANCE_DIR, PWD (the
// working directory), then the `Env` property.
//
// The process's death is the instance's death, whatever the cause (it exits, crashes, is
// killed): a REMOVED event goes to every Watch at once, the rest of its process group is
// killed, the instance disappears from Describe and its directory is deleted (the exit status
// and the end of its output are logged first). So an init script must stay in the foreground
// (`exec server`, not `server &`); an empty one is an instance that dies at once.
//
// Destroy sends the stop signal (StopSignal, default TERM) to the process group, waits up to
// StopGraceSeconds (default 10) for all of it to exit, then SIGKILLs what is left, and deletes
// the directory. Descendants that moved to another session or group escape it.
//
// State lives on disk: `<dir>/<id>/instance.json` is the instance's description (spec, tags,
// and runtime properties Pid, StartTime, InstanceDir, LogFile, WorkingDir, BootId; the spec
// carries the idempotency key), written atomically but not fsynced (a crash of the machine ends
// the processes it describes). Processes outlive the plugin. A new ProcessPlugin over the same
// directory re-adopts each instance whose process is alive and is the same process (pid exists,
// not a zombie, same start time: pids get reused), and deletes the others (their leftovers are
// killed unless the pid belongs to another process now; nothing is signalled for an instance
// recorded in another boot of the machine). A directory
// without a usable instance.json (a Provision interrupted by the plugin's death) is deleted,
// and a process already started for it, found by the INFRAKIT_INSTANCE_DIR of its
// environment, is killed with its process group.
//
// IDs are "instance-<n>", n growing with time (microseconds since the epoch, or the last n +
// 1), so an ID is never reused, not even across restarts.
#ifndef INFRAKIT_PLUGINS_INSTANCE_PROCESS_PROCESS_PLUGIN_H_
#define INFRAKIT_PLUGINS_INSTANCE_PROCESS_PROCESS_PLUGIN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "plugins/instance/process/supervisor.h"
#include "plugins/instance/watch_fanout.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::plugins::instance::process {

namespace v1 = ::infrakit::instance::v1;

class ProcessPlugin : public spi::instance::InstancePlugin {
 public:
  // Creates `dir` if needed (the instances' directories go there), re-adopts the living
  // instances found in it, deletes the dead ones, and starts supervising. Errors: INTERNAL
  // when the directory cannot be created or read or the kernel lacks pidfds (Linux < 5.3).
  static absl::StatusOr<std::unique_ptr<ProcessPlugin>> Create(const std::string& dir);

  // Stops supervising and ends open watches (OnDone UNAVAILABLE). The processes keep running,
  // for the next ProcessPlugin to re-adopt. No call may be in progress.
  ~ProcessPlugin() override;

  // Checks the properties (see properties.h). INVALID_ARGUMENT naming the field.
  absl::Status Validate(const v1::ValidateRequest& request) override;

  // Starts an instance (see above) and returns once its process runs. With an idempotency key
  // already used by a living instance: that instance's ID and created = false, even across
  // restarts; concurrent calls with one key wait for the first. Errors: INVALID_ARGUMENT for
  // bad properties, a Dir that is not a directory or an empty tag key; INTERNAL when the directory,
  // files or process cannot be created (nothing is left behind).
  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest& request) override;

  // Stops the instance's process group (stop signal, grace, SIGKILL) and deletes its
  // directory; blocks meanwhile (up to StopGraceSeconds and a few seconds). The instance is
  // TERMINATING (a CHANGED event) during the stop, then REMOVED. A Destroy of an instance
  // already being destroyed waits for that one. Errors: NOT_FOUND for an unknown ID;
  // DEADLINE_EXCEEDED / PERMISSION_DENIED when the processes cannot be stopped (the instance
  // stays).
  absl::Status Destroy(const v1::DestroyRequest& request) override;

  // The living instances having all the requested tags, ordered by ID, RUNNING (or
  // TERMINATING during a Destroy). With include_properties: the spec and the runtime
  // properties Pid, StartTime, InstanceDir, LogFile, WorkingDir.
  absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest& request) override;

  // Merges labels into the instance's tags and saves them (the running process's environment
  // does not change). Returns the instance without spec and properties; a CHANGED event when
  // a tag changed. Errors: NOT_FOUND for an unknown ID; INVALID_ARGUMENT for an empty key;
  // INTERNAL when the state file cannot be written (nothing changes).
  absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest& request) override;

  // Streams the living instances having the requested tags, then their changes. Never fails.
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const v1::WatchRequest& request, spi::instance::WatchSink* sink) override;

 private:
  struct Instance;

  explicit ProcessPlugin(std::string dir);

  absl::Status Load();
  // Marks a started (or adopted) instance visible; handles a process that died meanwhile.
  void FinishStart(const std::shared_ptr<Instance>& instance);
  // The supervisor's exit callback.
  void OnExit(const std::string& id, const ExitStatus& status);
  // Takes an instance out of the books and publishes REMOVED.
  void EraseLocked(const std::shared_ptr<Instance>& instance) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stops supervising a removed instance and deletes its directory.
  void CleanUp(const std::shared_ptr<Instance>& instance);
  std::string NextIdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // For a Provision with idempotency key `key` (empty: none): waits until no other Provision of
  // the key is under way, then returns the ID of the living instance made with it, or nullopt
  // after marking the key pending (the caller provisions, then FinishStart or a failure releases
  // it).
  std::optional<std::string> ClaimKey(const std::string& key);
  // Makes the directory of a new instance under a fresh ID and returns the ID. INTERNAL when it
  // cannot be made.
  absl::StatusOr<std::string> MakeInstanceDir();
  std::string InstanceDir(const std::string& id) const;

  const std::string dir_;  // Absolute.
  // This boot's ID (ReadBootId), recorded with each instance; empty when unreadable.
  std::string boot_id_;

  absl::Mutex mu_;
  // Every instance by ID, including those being started (not yet visible).
  std::map<std::string, std::shared_ptr<Instance>> instances_ ABSL_GUARDED_BY(mu_);
  // Idempotency key -> ID of the living instance created with it.
  absl::flat_hash_map<std::string, std::string> ids_by_key_ ABSL_GUARDED_BY(mu_);
  // Keys whose first Provision is under way.
  absl::flat_hash_set<std::string> pending_keys_ ABSL_GUARDED_BY(mu_);
  int64_t last_id_number_ ABSL_GUARDED_BY(mu_) = 0;

  std::unique_ptr<WatchFanout> fanout_;
  std::unique_ptr<Supervisor> supervisor_;
};

}  // namespace infrakit::plugins::instance::process

#endif  // INFRAKIT_PLUGINS_INSTANCE_PROCESS_PROCESS_PLUGIN_H_
