#include "tools/bench/stack.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/discovery/channel.h"

namespace infrakit::tools::bench {
namespace {

// How long a plugin may take to answer its first Info.
constexpr absl::Duration kStartDeadline = absl::Seconds(30);
// How long a plugin may take to exit after SIGTERM before it is killed.
constexpr absl::Duration kStopGrace = absl::Seconds(10);
// Pause between two ListGroups while waiting for convergence.
constexpr absl::Duration kStatusPollPause = absl::Milliseconds(1);

constexpr char kWorkspace[] = "infrakit";

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string Absolute(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return path;
  std::string out(resolved);
  free(resolved);
  return out;
}

absl::StatusOr<std::string> FindBinary(const std::string& argv0, const std::string& binaries_dir,
                                       const std::string& relative) {
  std::vector<std::string> candidates;
  if (!binaries_dir.empty()) {
    candidates.push_back(absl::StrCat(binaries_dir, "/", relative));
  } else if (const char* runfiles = getenv("RUNFILES_DIR");
             runfiles != nullptr && *runfiles != '\0') {
    candidates.push_back(absl::StrCat(runfiles, "/", kWorkspace, "/", relative));
  }
  if (binaries_dir.empty()) {
    candidates.push_back(absl::StrCat(argv0, ".runfiles/", kWorkspace, "/", relative));
    candidates.push_back(relative);
  }
  for (const std::string& candidate : candidates) {
    if (IsExecutable(candidate)) return Absolute(candidate);
  }
  return absl::NotFoundError(absl::StrCat("cannot find ", relative, " (tried ",
                                          absl::StrJoin(candidates, ", "),
                                          "); run the benchmark with bazel run"));
}

std::string Tail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> all = absl::StrSplit(ss.str(), '\n', absl::SkipEmpty());
  if (static_cast<int>(all.size()) > lines) all.erase(all.begin(), all.end() - lines);
  return absl::StrJoin(all, "\n");
}

void Stop(testing::PluginProcess* process) {
  if (process == nullptr || process->pid() <= 0 || process->Exited()) return;
  if (process->Signal(SIGTERM).ok() && process->Wait(kStopGrace).ok()) return;
  process->Kill();
}

}  // namespace

absl::StatusOr<Binaries> FindBinaries(const std::string& argv0, const std::string& binaries_dir) {
  Binaries binaries;
  struct Wanted {
    std::string* out;
    const char* relative;
  };
  for (const Wanted& wanted : {
           Wanted{&binaries.instance_file, "plugins/instance/file/infrakit-instance-file"},
           Wanted{&binaries.flavor_vanilla, "plugins/flavor/vanilla/infrakit-flavor-vanilla"},
           Wanted{&binaries.group, "services/group/server/infrakit-group"},
           Wanted{&binaries.cli, "tools/infrakitctl/infrakitctl"},
           Wanted{&binaries.instance_process, "plugins/instance/process/infrakit-instance-process"},
           Wanted{&binaries.flavor_zookeeper, "plugins/flavor/zookeeper/infrakit-flavor-zookeeper"},
           Wanted{&binaries.flavor_swarm, "plugins/flavor/swarm/infrakit-flavor-swarm"},
       }) {
    absl::StatusOr<std::string> path = FindBinary(argv0, binaries_dir, wanted.relative);
    if (!path.ok()) return path.status();
    *wanted.out = *std::move(path);
  }
  return binaries;
}

namespace {

absl::Mutex deferred_mu(absl::kConstInit);
std::vector<std::string>* deferred_dirs ABSL_GUARDED_BY(deferred_mu) = nullptr;

// Run at exit: removes the directories DeferRemoval was given.
void RemoveDeferredDirectories() {
  std::vector<std::string> dirs;
  {
    absl::MutexLock lock(&deferred_mu);
    if (deferred_dirs != nullptr) dirs.swap(*deferred_dirs);
  }
  for (const std::string& dir : dirs) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

}  // namespace

void DeferRemoval(const std::string& dir) {
  absl::MutexLock lock(&deferred_mu);
  if (deferred_dirs == nullptr) {
    deferred_dirs = new std::vector<std::string>();
    std::atexit(RemoveDeferredDirectories);
  }
  deferred_dirs->push_back(dir);
}

absl::StatusOr<std::unique_ptr<Stack>> Stack::Start(const Binaries& binaries,
                                                    const StackOptions& options) {
  std::unique_ptr<Stack> stack(new Stack());
  stack->dir_ = std::make_unique<testing::TempDir>();
  const std::string& dir = stack->dir_->path();
  {
    // Outside the plugins directory, so that its removal can wait (DeferRemoval).
    const std::string root = options.instances_root.empty() ? "/tmp" : options.instances_root;
    std::string pattern = absl::StrCat(root, "/ik-instances-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdtemp ", pattern));
    }
    stack->instance_dir_ = std::move(pattern);
  }

  std::vector<std::string> instance_args = {"--plugins-dir", dir, "--dir", stack->instance_dir()};
  instance_args.insert(instance_args.end(), options.instance_file_flags.begin(),
                       options.instance_file_flags.end());
  stack->instance_file_ =
      std::make_unique<testing::PluginProcess>(binaries.instance_file, instance_args, dir);
  stack->flavor_ = std::make_unique<testing::PluginProcess>(
      binaries.flavor_vanilla, std::vector<std::string>{"--plugins-dir", dir}, dir);
  std::string state_dir = stack->dir_->Join("state");
  if (!options.state_root.empty()) {
    std::string pattern = absl::StrCat(options.state_root, "/ik-state-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdtemp ", pattern));
    }
    state_dir = stack->own_state_dir_ = std::move(pattern);
  }
  std::vector<std::string> group_args = {"--plugins-dir", dir, "--state-dir", state_dir};
  group_args.insert(group_args.end(), options.group_flags.begin(), options.group_flags.end());
  stack->group_ = std::make_unique<testing::PluginProcess>(binaries.group, group_args, dir);

  if (absl::Status s = stack->StartProcess(*stack->instance_file_, stack->instance_socket());
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          stack->StartProcess(*stack->flavor_, stack->dir_->Join("flavor-vanilla.sock"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = stack->StartProcess(*stack->group_, stack->group_socket()); !s.ok()) {
    return s;
  }
  stack->group_channel_ = client::discovery::MakePluginChannel(stack->group_socket());
  stack->group_client_ = std::make_unique<client::GroupClient>(stack->group_channel_);
  stack->instance_client_ = std::make_unique<client::InstanceClient>(
      client::discovery::MakePluginChannel(stack->instance_socket()));
  return stack;
}

absl::Status Stack::StartProcess(testing::PluginProcess& process, const std::string& socket) {
  if (absl::Status s = process.Start(); !s.ok()) return s;
  return process.WaitReady(socket, kStartDeadline);
}

Stack::~Stack() {
  // Clients first (they hold channels to the sockets), then the group service before the
  // plugins it calls.
  instance_client_.reset();
  group_client_.reset();
  group_channel_.reset();
  Stop(group_.get());
  Stop(flavor_.get());
  Stop(instance_file_.get());
  DeferRemoval(instance_dir_);
  if (!own_state_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(own_state_dir_, ignored);
  }
}

std::string Stack::LogTails() const {
  std::string out;
  for (const testing::PluginProcess* process :
       {instance_file_.get(), flavor_.get(), group_.get()}) {
    if (process == nullptr || process->stderr_path().empty()) continue;
    absl::StrAppend(&out, "\n--- ", process->stderr_path(), " (last lines) ---\n",
                    Tail(process->stderr_path(), 15));
  }
  return out;
}

absl::StatusOr<infrakit::group::v1::GroupStatus> Stack::Status(const std::string& id) {
  absl::StatusOr<infrakit::group::v1::ListGroupsResponse> groups =
      group_client_->ListGroups(infrakit::group::v1::ListGroupsRequest());
  if (!groups.ok()) return groups.status();
  for (const infrakit::group::v1::GroupSummary& summary : groups->groups()) {
    if (summary.spec().id() == id) return summary.status();
  }
  return absl::NotFoundError(absl::StrCat("group ", id, " is not listed"));
}

absl::StatusOr<absl::Time> Stack::WaitConverged(const std::string& id, int64_t size,
                                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no status yet";
  for (;;) {
    absl::StatusOr<infrakit::group::v1::GroupStatus> status = Status(id);
    const absl::Time now = absl::Now();
    if (status.ok()) {
      if (status->converged() && status->desired() == size && status->actual() == size) {
        return now;
      }
      last = status->ShortDebugString();
    } else {
      last = status.status().ToString();
    }
    if (now >= deadline) break;
    absl::SleepFor(kStatusPollPause);
  }
  return absl::DeadlineExceededError(absl::StrCat("group ", id, " not converged on ", size,
                                                  " within ", absl::FormatDuration(timeout),
                                                  "; last status: ", last));
}

}  // namespace infrakit::tools::bench
