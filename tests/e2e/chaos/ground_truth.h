// What really exists, read behind the plugins' backs: the instances of a group as the process
// table shows them (instance-process) or as the instance files show them (instance-file). The
// chaos test's sampler judges the invariants on these readings, never on what a plugin or the
// group service says, since those are the processes being killed and stopped.
#ifndef INFRAKIT_TESTS_E2E_CHAOS_GROUND_TRUTH_H_
#define INFRAKIT_TESTS_E2E_CHAOS_GROUND_TRUTH_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace infrakit::testing {

// One live instance of the group.
struct LiveInstance {
  std::string id;
  // Empty for cattle.
  std::string logical_id;
  // Its infrakit.config_sha.
  std::string config_sha;
  // Whether the group's health probe passes for it now (the probe and this reading test the
  // same ready marker, which only ever appears: once true, true until the instance is gone).
  bool healthy = false;
};

// One reading: the group's live instances by ID.
using Reading = std::map<std::string, LiveInstance>;

// Reads the instances of one group. Implementations are called from the sampler's thread only.
class GroundTruth {
 public:
  virtual ~GroundTruth() = default;
  // The group's live instances now: those found by a scan (which takes milliseconds) and still
  // alive at its end, so all alive at once then (an instance destroyed during the scan and its
  // successor are never judged together); each healthy as its probe would say at the end.
  virtual Reading Read() = 0;
  // The shell test the flavor's health probe runs (with $INFRAKIT_INSTANCE_ID set): it passes
  // exactly when Read() reports the instance healthy.
  virtual std::string ProbeCommand() const = 0;
};

// The processes whose environment has INFRAKIT_INSTANCE_DIR under `instances_dir` (every
// process of every instance of instance-process there, whatever its group).
std::vector<pid_t> InstancePids(const std::string& instances_dir);

// instance-process: the processes whose environment has INFRAKIT_INSTANCE_DIR under
// `instances_dir` and INFRAKIT_GROUP = `group` (zombies have no environment and do not count),
// one instance per INFRAKIT_INSTANCE_ID; config_sha and logical ID from the environment the
// plugin gave them. Healthy: the instance wrote `<instances_dir>/<id>/ready` (its init script
// does, after a pause: see the scenario's config).
class ProcessTableTruth : public GroundTruth {
 public:
  ProcessTableTruth(std::string instances_dir, std::string group);
  Reading Read() override;
  std::string ProbeCommand() const override;

 private:
  const std::string instances_dir_;
  const std::string group_;
};

// instance-file: the files of `instances_dir` whose infrakit.group tag is `group` (dot files
// are the plugin's temporaries; a file read half-way through a replacement is taken as the
// previous reading had it). The instances "boot": Read() writes the ready marker
// `<ready_dir>/<id>` once an instance has been seen for `boot_time`; healthy = the marker
// exists.
class InstanceFilesTruth : public GroundTruth {
 public:
  InstanceFilesTruth(std::string instances_dir, std::string ready_dir, std::string group,
                     absl::Duration boot_time);
  Reading Read() override;
  std::string ProbeCommand() const override;

 private:
  const std::string instances_dir_;
  const std::string ready_dir_;
  const std::string group_;
  const absl::Duration boot_time_;
  // When each instance was first seen; the previous reading (for files caught mid-write).
  std::map<std::string, absl::Time> first_seen_;
  Reading previous_;
};

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_E2E_CHAOS_GROUND_TRUTH_H_
