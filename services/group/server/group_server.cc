#include "services/group/server/group_server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace infrakit::services::group::server {
namespace {

// Health check calls a group may have under way besides its creations and destructions (the
// Controller's default max_parallel_health_checks; each is a BatchHealthy of many members).
const int kHealthCheckThreads = ControllerOptions().max_parallel_health_checks;

// Takes an exclusive, non-blocking flock on "<dir>/.lock". The kernel drops it when the process
// dies (kill -9 included), so a crash never leaves the directory locked.
absl::StatusOr<int> LockStateDir(const std::string& dir) {
  const std::string path = dir + "/.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    return absl::ErrnoToStatus(err, absl::StrCat("cannot open ", path));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("state directory ", dir, " is in use by another group service (it holds ",
                       path, "); give this one another --state-dir"));
    }
    return absl::ErrnoToStatus(err, absl::StrCat("cannot lock ", path));
  }
  return fd;
}

}  // namespace

std::string DefaultStateDir(absl::string_view infrakit_home, absl::string_view name) {
  return absl::StrCat(infrakit_home, "/group/", name);
}

int ExecutorThreads(int max_parallel) { return 2 * max_parallel + kHealthCheckThreads; }

absl::StatusOr<std::unique_ptr<GroupServer>> GroupServer::Create(GroupServerOptions options) {
  if (options.state_dir.empty()) {
    return absl::InvalidArgumentError("--state-dir: must not be empty");
  }
  if (options.resync_period <= absl::ZeroDuration() ||
      options.resync_period == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resync-period: must be a positive duration, got ",
                     absl::FormatDuration(options.resync_period)));
  }
  if (options.max_parallel < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-parallel: must be >= 1, got ", options.max_parallel));
  }

  std::unique_ptr<GroupServer> server(new GroupServer());
  absl::StatusOr<std::unique_ptr<FileStore>> store = FileStore::Open(options.state_dir);
  if (!store.ok()) return store.status();
  server->store_ = *std::move(store);
  server->state_dir_ = server->store_->dir();
  absl::StatusOr<int> lock = LockStateDir(server->state_dir_);
  if (!lock.ok()) return lock.status();
  server->lock_fd_ = *lock;

  ControllerOptions controller_options;
  controller_options.resync_period = options.resync_period;
  controller_options.max_parallel_provisions = options.max_parallel;
  controller_options.max_parallel_destroys = options.max_parallel;
  // A burst (creating 10,000 instances, a rolling update) leaves freed memory in malloc's free
  // lists, resident: give it back once the work runs out (measured: ~1 MiB of a group service's
  // 7 MiB of its own memory at 1,000 instances). Cheap: it walks malloc's free lists once.
  controller_options.on_quiet = [] { malloc_trim(0); };
  if (options.metrics != nullptr) {
    server->metrics_ = std::make_unique<GroupMetrics>(options.metrics);
    controller_options.metrics = server->metrics_.get();
  }

  server->resolver_ = std::make_unique<client::SocketResolver>(options.plugins_dir);
  server->clock_ = std::make_unique<RealClock>();
  server->executor_ = std::make_unique<ThreadPoolExecutor>(ExecutorThreads(options.max_parallel));
  server->controller_ = std::make_unique<Controller>(controller_options, server->resolver_.get(),
                                                     server->store_.get(), server->clock_.get(),
                                                     server->executor_.get());
  absl::Status started = server->controller_->Start();
  if (!started.ok()) {
    return absl::Status(started.code(), absl::StrCat("cannot resume the groups in ",
                                                     server->state_dir_, ": ", started.message()));
  }
  server->service_ = std::make_unique<GroupService>(server->controller_.get());
  if (server->metrics_ != nullptr) server->metrics_->SetController(server->controller_.get());
  LOG(INFO) << "group service: state in " << server->state_dir_ << ", plugins in "
            << options.plugins_dir << ", resync every "
            << absl::FormatDuration(options.resync_period) << ", max parallel "
            << options.max_parallel;
  return server;
}

GroupServer::~GroupServer() {
  // controller.h: shut down and destroy the Controller, then stop the executor and the clock,
  // then the rest. The service goes before the Controller: its pool may still cancel
  // subscriptions. Scrapes stop asking the Controller first.
  if (metrics_ != nullptr) metrics_->SetController(nullptr);
  if (controller_ != nullptr) controller_->Shutdown();
  service_.reset();
  controller_.reset();
  executor_.reset();
  clock_.reset();
  store_.reset();
  resolver_.reset();
  metrics_.reset();  // the Controller, which reported to it, is gone
  if (lock_fd_ >= 0) close(lock_fd_);
}

}  // namespace infrakit::services::group::server
