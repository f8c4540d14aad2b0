#include "tools/infrakitctl/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/discovery/channel.h"
#include "client/discovery/unix_socket.h"
#include "common/grpc_status.h"
#include "infrakit/plugin/v1/plugin.grpc.pb.h"

namespace infrakit::tools::infrakitctl {

namespace {

using ::infrakit::client::discovery::ProbeSocket;
using ::infrakit::client::discovery::SocketAddress;
using ::infrakit::client::discovery::SocketState;

// Lines of a plugin's output kept to explain a failed start.
constexpr size_t kTailLines = 20;
// A line longer than this (a plugin writing without newlines) is emitted in pieces.
constexpr size_t kMaxLine = 64 * 1024;

absl::Status ErrnoError(absl::string_view what) {
  const int saved = errno;
  return absl::InternalError(absl::StrCat(what, ": ", strerror(saved)));
}

// mkdir -p with mode 0700 for the directories it creates.
absl::Status MakeDirs(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("empty directory path");
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty()) {
      if (prefix.empty()) prefix = "/";
      continue;
    }
    if (!prefix.empty() && prefix.back() != '/') prefix.push_back('/');
    absl::StrAppend(&prefix, part);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoError(absl::StrCat("cannot create directory ", prefix));
    }
  }
  return absl::OkStatus();
}

int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<double>(std::ceil(absl::ToDoubleMilliseconds(left)), 1 << 30));
}

void WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // a full disk must not stop supervision; the copy on stdout goes on
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return absl::StrCat("killed by signal ", sig, " (", strsignal(sig), ")");
  }
  return absl::StrCat("stopped (wait status ", wait_status, ")");
}

// A readiness check in flight: one Info call with wait_for_ready on its own thread.
struct Launcher::Probe {
  absl::Mutex mu;
  grpc::ClientContext* context ABSL_GUARDED_BY(mu) = nullptr;
  bool cancelled ABSL_GUARDED_BY(mu) = false;
  std::thread thread;

  void Cancel() {
    absl::MutexLock lock(&mu);
    cancelled = true;
    if (context != nullptr) context->TryCancel();
  }
};

struct Launcher::Child {
  enum class State { kIdle, kStarting, kReady, kBackoff };

  size_t index = 0;
  LaunchSpec spec;
  std::string socket_path;
  std::string log_path;
  pid_t pid = -1;
  int pidfd = -1;
  int out_read = -1;
  int out_write = -1;
  int log_fd = -1;
  std::string partial;
  std::deque<std::string> tail;
  State state = State::kIdle;
  bool ever_ready = false;
  int generation = 0;
  absl::Time started_at;
  absl::Time restart_at = absl::InfiniteFuture();
  absl::Duration backoff;
  std::unique_ptr<Probe> probe;
};

Launcher::Launcher(std::vector<LaunchSpec> plugins, LauncherOptions options, std::ostream* out,
                   std::ostream* err)
    : options_(std::move(options)), out_(out), err_(err) {
  for (LaunchSpec& spec : plugins) {
    auto child = std::make_unique<Child>();
    child->index = children_.size();
    child->socket_path = absl::StrCat(options_.plugins_dir, "/", spec.name, ".sock");
    child->log_path = absl::StrCat(options_.log_dir, "/", spec.name, ".log");
    child->backoff = options_.initial_backoff;
    child->spec = std::move(spec);
    children_.push_back(std::move(child));
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    wake_read_ = fds[0];
    wake_write_ = fds[1];
  }
}

Launcher::~Launcher() {
  // Run() stops everything before it returns; this covers a Run() that never returned normally.
  if (std::any_of(children_.begin(), children_.end(),
                  [](const auto& c) { return c->pid > 0 || c->probe != nullptr; })) {
    StopAll();
  }
  for (auto& child : children_) {
    for (int fd : {child->out_read, child->out_write, child->log_fd}) {
      if (fd >= 0) close(fd);
    }
  }
  for (int fd : {wake_read_, wake_write_, dev_null_}) {
    if (fd >= 0) close(fd);
  }
}

void Launcher::Wake() {
  if (wake_write_ < 0) return;
  const char byte = 1;
  // A full pipe already guarantees a wake-up: EAGAIN is fine.
  (void)!write(wake_write_, &byte, 1);
}

void Launcher::Stop() {
  stop_requested_.store(true);
  Wake();
}

pid_t Launcher::Pid(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = pids_.find(name);
  return it == pids_.end() ? -1 : it->second;
}

int Launcher::Restarts(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = restarts_.find(name);
  return it == restarts_.end() ? 0 : it->second;
}

bool Launcher::AllReady() const {
  absl::MutexLock lock(&mu_);
  return all_ready_;
}

absl::Status Launcher::Prepare() {
  if (wake_read_ < 0) return absl::InternalError("cannot create the launcher's wake-up pipe");
  if (children_.empty()) return absl::InvalidArgumentError("no plugins to start");
  for (size_t i = 0; i < children_.size(); ++i) {
    const std::string& name = children_[i]->spec.name;
    if (name.empty() || name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad plugin name \"", name, "\""));
    }
    for (size_t j = 0; j < i; ++j) {
      if (children_[j]->spec.name == name) {
        return absl::InvalidArgumentError(absl::StrCat("plugin ", name, " is named twice"));
      }
    }
    absl::StatusOr<SocketState> state = ProbeSocket(children_[i]->socket_path);
    if (!state.ok()) return state.status();
    if (*state == SocketState::kLive) {
      return absl::AlreadyExistsError(absl::StrCat(
          "plugin ", name, " already runs at ", SocketAddress(children_[i]->socket_path),
          "; stop it first, or start this one under another name"));
    }
  }
  if (absl::Status s = MakeDirs(options_.plugins_dir); !s.ok()) return s;
  if (absl::Status s = MakeDirs(options_.log_dir); !s.ok()) return s;
  dev_null_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null_ < 0) return ErrnoError("cannot open /dev/null");
  for (auto& child : children_) {
    child->log_fd = open(child->log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (child->log_fd < 0) return ErrnoError(absl::StrCat("cannot open ", child->log_path));
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("cannot create a pipe");
    child->out_read = fds[0];
    child->out_write = fds[1];
    fcntl(child->out_read, F_SETFL, fcntl(child->out_read, F_GETFL) | O_NONBLOCK);
  }
  return absl::OkStatus();
}

void Launcher::Note(Child& child, const std::string& text) {
  const std::string line =
      absl::StrCat("--- infrakitctl ",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", absl::Now(), absl::LocalTimeZone()),
                   ": ", text, " ---\n");
  if (child.log_fd >= 0) WriteAll(child.log_fd, line);
}

void Launcher::EmitLine(Child& child, const std::string& line) {
  if (child.log_fd >= 0) WriteAll(child.log_fd, absl::StrCat(line, "\n"));
  child.tail.push_back(line);
  if (child.tail.size() > kTailLines) child.tail.pop_front();
  if (options_.copy_logs) {
    *out_ << absl::StrFormat("%-16s | %s\n", child.spec.name, line) << std::flush;
  }
}

void Launcher::ReadOutput(Child& child, bool flush) {
  if (child.out_read >= 0) {
    char buffer[8192];
    while (true) {
      const ssize_t n = read(child.out_read, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      child.partial.append(buffer, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = child.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
        EmitLine(child, child.partial.substr(start, nl - start));
      }
      child.partial.erase(0, start);
      if (child.partial.size() > kMaxLine) {
        EmitLine(child, child.partial);
        child.partial.clear();
      }
    }
  }
  if (flush && !child.partial.empty()) {
    EmitLine(child, child.partial);
    child.partial.clear();
  }
}

std::string Launcher::Tail(const Child& child) const {
  if (child.tail.empty()) return absl::StrCat("(no output; log: ", child.log_path, ")");
  return absl::StrCat("its last output:\n  ", absl::StrJoin(child.tail, "\n  "),
                      "\n(full log: ", child.log_path, ")");
}

absl::Status Launcher::StartChild(Child& child) {
  std::vector<std::string> args = {child.spec.binary, absl::StrCat("--name=", child.spec.name),
                                   absl::StrCat("--plugins-dir=", options_.plugins_dir)};
  args.insert(args.end(), child.spec.args.begin(), child.spec.args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string exec_error = absl::StrCat("infrakitctl: cannot run ", child.spec.binary, "\n");

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    // The child: async-signal-safe calls only until exec.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD}) sigaction(sig, &dfl, nullptr);
    // Its own process group: a Ctrl-C in the terminal reaches the launcher only, which then
    // stops the plugins itself (rather than seeing them exit and restarting them).
    setpgid(0, 0);
    // ...and if the launcher dies without stopping it, it stops too.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    dup2(dev_null_, STDIN_FILENO);
    dup2(child.out_write, STDOUT_FILENO);
    dup2(child.out_write, STDERR_FILENO);
    execv(argv[0], argv.data());
    (void)!write(STDERR_FILENO, exec_error.data(), exec_error.size());
    _exit(127);
  }
  // Through syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    absl::Status error = ErrnoError("pidfd_open");
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return error;
  }
  child.pid = pid;
  child.pidfd = pidfd;
  child.state = Child::State::kStarting;
  child.started_at = absl::Now();
  child.restart_at = absl::InfiniteFuture();
  ++child.generation;
  {
    absl::MutexLock lock(&mu_);
    pids_[child.spec.name] = pid;
  }
  Note(child, absl::StrCat("started pid ", pid, ": ", absl::StrJoin(args, " ")));
  StartProbe(child);
  return absl::OkStatus();
}

void Launcher::StartProbe(Child& child) {
  FinishProbe(child);
  child.probe = std::make_unique<Probe>();
  Probe* probe = child.probe.get();
  const size_t index = child.index;
  const int generation = child.generation;
  const std::string socket = child.socket_path;
  const absl::Time deadline = absl::Now() + options_.ready_timeout;
  const pid_t expected_pid = child.pid;
  probe->thread = std::thread([this, probe, index, generation, socket, deadline, expected_pid] {
    auto stub =
        infrakit::plugin::v1::PluginService::NewStub(client::discovery::MakePluginChannel(socket));
    grpc::ClientContext context;
    // Waits through "no such socket yet" and "connection refused" until the plugin listens.
    context.set_wait_for_ready(true);
    context.set_deadline(absl::ToChronoTime(deadline));
    absl::Status result;
    bool cancelled;
    {
      absl::MutexLock lock(&probe->mu);
      cancelled = probe->cancelled;
      if (!cancelled) probe->context = &context;
    }
    if (cancelled) {
      result = absl::CancelledError("stopped");
    } else {
      infrakit::plugin::v1::InfoResponse info;
      result = common::FromGrpcStatus(stub->Info(&context, {}, &info));
      {
        absl::MutexLock lock(&probe->mu);
        probe->context = nullptr;
      }
      if (result.ok() && info.pid() != 0 && info.pid() != expected_pid) {
        result = absl::FailedPreconditionError(
            absl::StrCat("another process (pid ", info.pid(), ") answers on ", socket));
      } else if (result.code() == absl::StatusCode::kDeadlineExceeded) {
        result = absl::DeadlineExceededError(
            absl::StrCat("it did not answer on ", SocketAddress(socket), " within ",
                         absl::FormatDuration(options_.ready_timeout)));
      }
    }
    {
      absl::MutexLock lock(&mu_);
      probe_results_.push_back({index, generation, std::move(result)});
    }
    Wake();
  });
}

void Launcher::FinishProbe(Child& child) {
  if (child.probe == nullptr) return;
  child.probe->Cancel();
  if (child.probe->thread.joinable()) child.probe->thread.join();
  child.probe.reset();
}

void Launcher::OnExit(Child& child, int wait_status) {
  ReadOutput(child, /*flush=*/true);
  close(child.pidfd);
  child.pidfd = -1;
  child.pid = -1;
  {
    absl::MutexLock lock(&mu_);
    pids_[child.spec.name] = -1;
  }
  FinishProbe(child);
  const absl::Duration ran = absl::Now() - child.started_at;
  Note(child, absl::StrCat(DescribeWaitStatus(wait_status), " after ", absl::FormatDuration(ran)));
  if (stop_requested_.load() || !child.ever_ready) {
    child.state = Child::State::kIdle;
    return;
  }
  if (ran >= options_.stable_after) child.backoff = options_.initial_backoff;
  const absl::Duration delay = child.backoff;
  child.backoff = std::min(child.backoff * 2, options_.max_backoff);
  child.state = Child::State::kBackoff;
  child.restart_at = absl::Now() + delay;
  *err_ << "infrakitctl: plugin " << child.spec.name << " " << DescribeWaitStatus(wait_status)
        << " after " << absl::FormatDuration(absl::Trunc(ran, absl::Milliseconds(1)))
        << "; restarting it in " << absl::FormatDuration(delay) << " (log: " << child.log_path
        << ")" << std::endl;
}

absl::Status Launcher::WaitForEvents() {
  absl::Time next_restart = absl::InfiniteFuture();
  for (auto& child : children_) {
    if (child->state == Child::State::kBackoff) {
      next_restart = std::min(next_restart, child->restart_at);
    }
  }
  std::vector<pollfd> fds;
  fds.push_back({wake_read_, POLLIN, 0});
  for (auto& child : children_) {
    fds.push_back({child->out_read, POLLIN, 0});
    fds.push_back({child->pidfd, POLLIN, 0});  // -1 is ignored by poll
  }
  if (poll(fds.data(), fds.size(), PollTimeoutMs(next_restart)) < 0 && errno != EINTR) {
    return ErrnoError("poll");
  }
  if (fds[0].revents != 0) {
    char drain[256];
    while (read(wake_read_, drain, sizeof(drain)) > 0) {
    }
  }
  return HandleExits(fds);
}

absl::Status Launcher::HandleExits(const std::vector<pollfd>& fds) {
  for (auto& child : children_) {
    const pollfd& out = fds[1 + 2 * child->index];
    const pollfd& exit = fds[2 + 2 * child->index];
    if (out.revents != 0) ReadOutput(*child, /*flush=*/false);
    if (exit.fd < 0 || exit.revents == 0) continue;
    int status = 0;
    if (waitpid(child->pid, &status, WNOHANG) != child->pid) continue;
    OnExit(*child, status);
    if (!child->ever_ready && !stop_requested_.load()) {
      return absl::FailedPreconditionError(absl::StrCat("plugin ", child->spec.name, " ",
                                                        DescribeWaitStatus(status),
                                                        " before answering; ", Tail(*child)));
    }
  }
  return absl::OkStatus();
}

absl::Status Launcher::HandleProbeResults(bool announced) {
  std::vector<ProbeResult> results;
  {
    absl::MutexLock lock(&mu_);
    results.swap(probe_results_);
  }
  for (ProbeResult& result : results) {
    Child& child = *children_[result.child];
    if (result.generation != child.generation || child.state != Child::State::kStarting) {
      continue;  // about a process that has exited since
    }
    FinishProbe(child);
    if (result.status.ok()) {
      child.state = Child::State::kReady;
      Note(child, absl::StrCat("ready at ", SocketAddress(child.socket_path)));
      if (child.ever_ready) {
        *out_ << "plugin " << child.spec.name << " restarted (pid " << child.pid << ") at "
              << SocketAddress(child.socket_path) << std::endl;
      }
      child.ever_ready = true;
      continue;
    }
    if (!announced) {
      return absl::FailedPreconditionError(absl::StrCat("plugin ", child.spec.name,
                                                        " did not start: ", result.status.message(),
                                                        "; ", Tail(child)));
    }
    // A restarted plugin that does not answer is as good as dead: kill it, and its exit
    // schedules the next attempt.
    *err_ << "infrakitctl: plugin " << child.spec.name << " (pid " << child.pid
          << ") did not answer after its restart: " << result.status.message() << "; killing it"
          << std::endl;
    kill(child.pid, SIGKILL);
  }
  return absl::OkStatus();
}

void Launcher::RestartDue() {
  const absl::Time now = absl::Now();
  for (auto& child : children_) {
    if (child->state != Child::State::kBackoff || child->restart_at > now) continue;
    {
      absl::MutexLock lock(&mu_);
      ++restarts_[child->spec.name];
    }
    if (absl::Status s = StartChild(*child); !s.ok()) {
      *err_ << "infrakitctl: cannot restart plugin " << child->spec.name << ": " << s.message()
            << std::endl;
      child->state = Child::State::kBackoff;
      child->restart_at = now + child->backoff;
      child->backoff = std::min(child->backoff * 2, options_.max_backoff);
    }
  }
}

void Launcher::AnnounceIfAllReady(bool* announced) {
  if (*announced || !std::all_of(children_.begin(), children_.end(),
                                 [](const auto& c) { return c->ever_ready; })) {
    return;
  }
  *announced = true;
  std::vector<const Child*> sorted;
  for (auto& child : children_) sorted.push_back(child.get());
  std::sort(sorted.begin(), sorted.end(),
            [](const Child* a, const Child* b) { return a->spec.name < b->spec.name; });
  std::string table = "Plugins:\n";
  absl::StrAppend(&table, absl::StrFormat("%-20s\t%-s\n", "NAME", "LISTEN"));
  for (const Child* c : sorted) {
    absl::StrAppend(&table,
                    absl::StrFormat("%-20s\t%-s\n", c->spec.name, SocketAddress(c->socket_path)));
  }
  *out_ << table << "Logs are in " << options_.log_dir << ". Press Ctrl-C to stop the plugins."
        << std::endl;
  absl::MutexLock lock(&mu_);
  all_ready_ = true;
}

absl::Status Launcher::Run() {
  absl::Status failure = Prepare();
  if (failure.ok()) {
    for (auto& child : children_) {
      failure = StartChild(*child);
      if (!failure.ok()) break;
    }
  }
  bool announced = false;
  while (failure.ok() && !stop_requested_.load()) {
    failure = WaitForEvents();
    if (failure.ok()) failure = HandleProbeResults(announced);
    if (!failure.ok()) break;
    RestartDue();
    AnnounceIfAllReady(&announced);
  }
  StopAll();
  return failure;
}

void Launcher::StopAll() {
  stop_requested_.store(true);
  for (auto& child : children_) {
    if (child->probe != nullptr) child->probe->Cancel();
  }
  for (auto& child : children_) FinishProbe(*child);
  bool any_running = false;
  for (auto& child : children_) {
    if (child->pid > 0) {
      Note(*child, "stopping (SIGTERM)");
      kill(child->pid, SIGTERM);
      any_running = true;
    }
  }
  const absl::Time deadline = absl::Now() + options_.stop_grace;
  while (any_running && absl::Now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<Child*> owners;
    for (auto& child : children_) {
      if (child->pid <= 0) continue;
      fds.push_back({child->pidfd, POLLIN, 0});
      owners.push_back(child.get());
      fds.push_back({child->out_read, POLLIN, 0});
      owners.push_back(child.get());
    }
    if (poll(fds.data(), fds.size(), PollTimeoutMs(deadline)) < 0 && errno != EINTR) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Child& child = *owners[i];
      if (fds[i].fd == child.out_read) {
        ReadOutput(child, /*flush=*/false);
        continue;
      }
      int status = 0;
      if (child.pid > 0 && waitpid(child.pid, &status, WNOHANG) == child.pid) {
        OnExit(child, status);
      }
    }
    any_running =
        std::any_of(children_.begin(), children_.end(), [](const auto& c) { return c->pid > 0; });
  }
  for (auto& child : children_) {
    if (child->pid <= 0) continue;
    *err_ << "infrakitctl: plugin " << child->spec.name << " did not stop within "
          << absl::FormatDuration(options_.stop_grace) << "; killing it" << std::endl;
    kill(child->pid, SIGKILL);
    int status = 0;
    while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
    }
    OnExit(*child, status);
  }
  for (auto& child : children_) {
    ReadOutput(*child, /*flush=*/true);
    // A plugin removes its socket when it stops cleanly; one that was killed leaves it behind.
    absl::StatusOr<SocketState> state = ProbeSocket(child->socket_path);
    if (state.ok() && *state == SocketState::kStale && unlink(child->socket_path.c_str()) == 0) {
      Note(*child, absl::StrCat("removed its stale socket ", child->socket_path));
    }
  }
}

}  // namespace infrakit::tools::infrakitctl
