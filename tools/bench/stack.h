// The benchmark's subject: the real plugin binaries (instance-file, flavor-vanilla, the group
// service) started as child processes in a fresh temporary plugins directory, with clients on
// their sockets.
#ifndef INFRAKIT_TOOLS_BENCH_STACK_H_
#define INFRAKIT_TOOLS_BENCH_STACK_H_

#include <grpcpp/channel.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/group_client.h"
#include "client/instance_client.h"
#include "infrakit/group/v1/group.pb.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::tools::bench {

// Where the binaries are: absolute paths.
struct Binaries {
  std::string instance_file;
  std::string flavor_vanilla;
  std::string group;
  std::string cli;
  // For the zookeeper scenario.
  std::string instance_process;
  std::string flavor_zookeeper;
  // For the swarm scenario.
  std::string flavor_swarm;
};

// Finds the binaries among the runfiles of the program at `argv0`: under $RUNFILES_DIR, next to
// argv0 ("<argv0>.runfiles/infrakit/..."), or relative to the working directory (where
// `bazel run` starts a program). With a `binaries_dir`, only there instead: a tree with the
// binaries at their Bazel package paths (a Bazel output tree such as `bazel info -c opt
// bazel-bin`), to measure binaries built otherwise. Errors: NOT_FOUND naming the first binary
// that is missing.
absl::StatusOr<Binaries> FindBinaries(const std::string& argv0,
                                      const std::string& binaries_dir = "");

struct StackOptions {
  // Extra flags for the group service, e.g. {"--max-parallel=32"}.
  std::vector<std::string> group_flags;
  // Extra flags for instance-file, e.g. {"--spare-files=0"}.
  std::vector<std::string> instance_file_flags;
  // Where instance-file's directory is made (a fresh "ik-instances-XXXXXX" in it, removed when
  // the benchmark ends: DeferRemoval); empty: /tmp. E.g. /dev/shm to take the disk's file
  // creation and fsync costs out of the figures.
  std::string instances_root;
  // Where the group service's --state-dir is made (a fresh "ik-state-XXXXXX" in it, removed at
  // the end); empty: "state" inside the plugins directory (under /tmp). The group fsyncs its
  // record (and the directory) before every Provision: e.g. /dev/shm to take that cost out.
  std::string state_root;
};

// Removes directory `dir` (with what is in it) when the benchmark exits rather than now:
// removing a scenario's thousands of instance files frees as many inodes, and on ext4 without
// a journal (/tmp here) the kernel's inode allocator then passes over each inode freed in the
// last 30 s or more for every file created: the next scenario's convergence would pay for this
// one's clean-up (docs/benchmarks.md). Thread-safe.
void DeferRemoval(const std::string& dir);

// Thread-compatible: start and stop from one thread (the main thread: the children are
// killed if the thread that started them exits). The clients are thread-safe.
class Stack {
 public:
  // Starts instance-file (instances in a fresh /tmp/ik-instances-XXXXXX, or under
  // options.instances_root),
  // flavor-vanilla and the group service
  // (state in <dir>/state) in a new /tmp/ik-XXXXXX plugins directory and waits until each
  // answers PluginService.Info. Errors: the failing process's, with its stderr.
  static absl::StatusOr<std::unique_ptr<Stack>> Start(const Binaries& binaries,
                                                      const StackOptions& options);

  // Stops the processes (SIGTERM, then SIGKILL after a grace period) and removes the plugins
  // directory; the instance directory's removal is deferred (DeferRemoval).
  ~Stack();

  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  const std::string& plugins_dir() const { return dir_->path(); }
  const std::string& instance_dir() const { return instance_dir_; }
  // A path for a socket of the benchmark's own inside the plugins directory.
  std::string Path(const std::string& name) const { return dir_->Join(name); }

  pid_t group_pid() const { return group_->pid(); }
  pid_t instance_pid() const { return instance_file_->pid(); }
  pid_t flavor_pid() const { return flavor_->pid(); }

  std::string group_socket() const { return dir_->Join("group.sock"); }
  std::string instance_socket() const { return dir_->Join("instance-file.sock"); }

  client::GroupClient& group() { return *group_client_; }
  client::InstanceClient& instances() { return *instance_client_; }
  const std::shared_ptr<grpc::Channel>& group_channel() const { return group_channel_; }

  // The last lines of each process's stderr, for error messages.
  std::string LogTails() const;

  // The status of group `id` from ListGroups (cheap: no members). NOT_FOUND when the group is
  // not listed, or the call's error.
  absl::StatusOr<infrakit::group::v1::GroupStatus> Status(const std::string& id);

  // Waits until group `id` reports converged with desired == actual == `size`, polling
  // ListGroups with a 1 ms pause, for at most `timeout`. Returns the time it was seen.
  // DEADLINE_EXCEEDED with the last status otherwise.
  absl::StatusOr<absl::Time> WaitConverged(const std::string& id, int64_t size,
                                           absl::Duration timeout);

 private:
  Stack() = default;
  // Starts `process` and waits for its socket.
  absl::Status StartProcess(testing::PluginProcess& process, const std::string& socket);

  std::unique_ptr<testing::TempDir> dir_;
  std::string instance_dir_;
  std::string own_state_dir_;  // Made under StackOptions::state_root; empty otherwise.
  std::unique_ptr<testing::PluginProcess> instance_file_;
  std::unique_ptr<testing::PluginProcess> flavor_;
  std::unique_ptr<testing::PluginProcess> group_;
  std::shared_ptr<grpc::Channel> group_channel_;
  std::unique_ptr<client::GroupClient> group_client_;
  std::unique_ptr<client::InstanceClient> instance_client_;
};

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_STACK_H_
