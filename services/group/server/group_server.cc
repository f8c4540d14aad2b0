#include "services/group/server/group_server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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
  const bool etcd = absl::StartsWith(options.store, "etcd://");
  if (!etcd && !options.store.empty() && options.store != "file") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--store: \"file\" or \"etcd://HOST:PORT[,HOST:PORT...]\", got \"", options.store, "\""));
  }
  if (!etcd && !options.peer_listen.empty()) {
    return absl::InvalidArgumentError("--peer-listen: only with --store etcd://...");
  }
  if (!etcd && options.state_dir.empty()) {
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
  ControllerOptions& controller_options = server->controller_options_;
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
  absl::Status started = etcd ? server->StartEtcdStore(options) : server->StartFileStore(options);
  if (!started.ok()) return started;
  LOG(INFO) << "group service: state in "
            << (etcd ? absl::StrCat(options.store, " under ", options.etcd_prefix)
                     : server->state_dir_)
            << ", plugins in " << options.plugins_dir << ", resync every "
            << absl::FormatDuration(options.resync_period) << ", max parallel "
            << options.max_parallel;
  return server;
}

absl::Status GroupServer::StartFileStore(const GroupServerOptions& options) {
  absl::StatusOr<std::unique_ptr<FileStore>> store = FileStore::Open(options.state_dir);
  if (!store.ok()) return store.status();
  store_ = *std::move(store);
  state_dir_ = store_->dir();
  absl::StatusOr<int> lock = LockStateDir(state_dir_);
  if (!lock.ok()) return lock.status();
  lock_fd_ = *lock;
  controller_ = std::make_unique<Controller>(controller_options_, resolver_.get(), store_.get(),
                                             clock_.get(), executor_.get());
  absl::Status started = controller_->Start();
  if (!started.ok()) {
    return absl::Status(started.code(), absl::StrCat("cannot resume the groups in ", state_dir_,
                                                     ": ", started.message()));
  }
  service_ = std::make_unique<GroupService>(controller_.get());
  if (metrics_ != nullptr) metrics_->SetController(controller_.get());
  return absl::OkStatus();
}

absl::Status GroupServer::StartEtcdStore(const GroupServerOptions& options) {
  if (options.etcd_prefix.empty() || options.etcd_prefix[0] != '/' ||
      absl::EndsWith(options.etcd_prefix, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--etcd-prefix: must start with '/' and not end with it, got \"",
                     options.etcd_prefix, "\""));
  }
  if (options.lease_ttl < absl::Seconds(1) || options.lease_ttl == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--etcd-lease-ttl: must be at least 1s, got ",
                                                   absl::FormatDuration(options.lease_ttl)));
  }
  if (absl::Status ok = ha::CheckIdentity(options.identity, "--advertise"); !ok.ok()) return ok;
  absl::StatusOr<std::unique_ptr<etcd::GrpcEtcdClient>> client =
      etcd::GrpcEtcdClient::Create(options.store);
  if (!client.ok())
    return absl::InvalidArgumentError(absl::StrCat("--store: ", client.status().message()));
  etcd_client_ = *std::move(client);
  metrics::CounterFamily* refused = nullptr;
  if (options.metrics != nullptr) {
    refused = options.metrics->AddCounter(
        "infrakit_group_store_writes_refused_total",
        "Writes to etcd this group service refused or had refused for want of leadership: by "
        "\"this_service\" (it knew it did not lead) or by \"etcd\" (the fence's compare failed: "
        "it still believed it led, and another had taken over).",
        {"by"});
  }
  etcd_store_ = std::make_unique<EtcdStore>(
      etcd_client_.get(), options.etcd_prefix, [refused](EtcdStore::Refusal why) {
        const bool by_etcd = why == EtcdStore::Refusal::kFenceFailed;
        // Not an error of this write alone: the service acted as leader after losing the lease.
        if (by_etcd) {
          LOG(WARNING) << "group service: a write was refused by etcd's fence (the leader key "
                          "changed hands while this service believed it led); nothing written";
        }
        if (refused != nullptr)
          refused->WithLabels({by_etcd ? "etcd" : "this_service"})->Increment();
      });
  leader_key_ = absl::StrCat(options.etcd_prefix, "/leader");
  gated_resolver_ =
      std::make_unique<ha::GatedResolver>(resolver_.get(), [this] { return MayAct(); });
  active_ = std::make_unique<ActiveController>([this] { return LeaderSeen().identity; },
                                               [this] { return HaStatus(); });
  forwarder_ = std::make_unique<LeaderForwarder>([this] { return ForwardTo(); });
  mirror_ = std::make_unique<ha::StoreMirror>(etcd_client_.get(), etcd_store_->RecordsPrefix());
  mirror_->Start();
  service_ = std::make_unique<GroupService>(active_.get(), forwarder_.get(), mirror_.get());
  ha::LeaderValue advertised{options.identity, ""};
  if (!options.peer_listen.empty()) {
    if (absl::Status listening = StartPeerServer(options.peer_listen); !listening.ok())
      return listening;
    advertised.peer_address =
        absl::StrCat(options.peer_listen.substr(0, options.peer_listen.rfind(':') + 1), peer_port_);
    LOG(INFO) << "group service: takes forwarded calls on " << advertised.peer_address;
  }

  ha::LeaderElectionOptions election_options;
  election_options.leader_key = leader_key_;
  election_options.identity = advertised.Encode();
  election_options.ttl = options.lease_ttl;
  ha::LeaderElectionCallbacks callbacks;
  callbacks.on_elected = [this](int64_t create_revision) { OnElected(create_revision); };
  callbacks.on_lost = [this](const absl::Status&) { OnLost(); };
  election_ = std::make_unique<ha::LeaderElection>(etcd_client_.get(), election_options, callbacks);
  leadership_thread_ = std::thread([this] { RunLeadership(); });
  {
    absl::MutexLock lock(&mu_);
    running_election_ = election_.get();
  }
  election_->Start();
  return absl::OkStatus();
}

absl::Status GroupServer::StartPeerServer(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--peer-listen: expected HOST:PORT (e.g. 10.0.0.5:7301), got \"", listen, "\""));
  }
  const std::string host = listen.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]" || host == "::") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--peer-listen: the host is what followers connect to, so it must name this machine, "
        "not every address; got \"",
        listen, "\""));
  }
  // Forwarded calls are served by the leader's Controller and never forwarded again.
  peer_service_ = std::make_unique<GroupService>(active_.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &peer_port_);
  builder.RegisterService(peer_service_.get());
  peer_server_ = builder.BuildAndStart();
  if (peer_server_ == nullptr || peer_port_ == 0) {
    return absl::UnavailableError(absl::StrCat("--peer-listen: cannot listen on ", listen));
  }
  return absl::OkStatus();
}

ha::LeaderValue GroupServer::LeaderSeen() {
  absl::MutexLock lock(&mu_);
  if (running_election_ == nullptr) return ha::LeaderValue();
  return ha::LeaderValue::Decode(running_election_->Leader());
}

absl::StatusOr<ha::LeaderValue> GroupServer::ForwardTo() {
  {
    absl::MutexLock lock(&mu_);
    if (want_leading_ && !term_error_.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "this group service leads but is not acting: cannot resume the groups in etcd "
          "(retrying): ",
          term_error_));
    }
  }
  return LeaderSeen();
}

absl::Status GroupServer::MayAct() {
  absl::Time valid_until;
  {
    absl::MutexLock lock(&mu_);
    if (running_election_ == nullptr) return absl::UnavailableError("not acting: stopping");
    valid_until = running_election_->LeadershipValidUntil();
  }
  if (absl::Now() < valid_until) return absl::OkStatus();
  return absl::UnavailableError(
      "not acting: this group service's leadership is not confirmed (its etcd lease's "
      "keepalive lapsed: etcd unreachable or without a majority, or the process was paused)");
}

std::string GroupServer::HaStatus() {
  absl::Status etcd_error;
  {
    absl::MutexLock lock(&mu_);
    if (running_election_ == nullptr) return "stopping";
    if (want_leading_ && !term_error_.empty()) {
      return absl::StrCat("leading, but not acting: cannot resume the groups in etcd (retrying): ",
                          term_error_);
    }
    etcd_error = running_election_->LastError();
  }
  const bool leads = !active_->Following();
  if (leads) {
    absl::Status may_act = MayAct();
    return may_act.ok() ? "leading" : std::string(may_act.message());
  }
  if (!etcd_error.ok()) {
    return absl::StrCat("not acting: etcd cannot be reached or has no majority: ",
                        etcd_error.message());
  }
  return "following";
}

void GroupServer::OnElected(int64_t create_revision) {
  etcd_store_->SetFence(leader_key_, create_revision);
  absl::MutexLock lock(&mu_);
  ++wanted_term_;
  want_leading_ = true;
}

void GroupServer::OnLost() {
  etcd_store_->ClearFence();  // at once: no write of this service succeeds from now on
  absl::MutexLock lock(&mu_);
  ++wanted_term_;
  want_leading_ = false;
}

void GroupServer::RunLeadership() {
  // A leader whose Controller could not start tries again this often while it leads.
  constexpr absl::Duration kRetryStart = absl::Seconds(1);
  int64_t term = 0;
  bool start_failed = false;
  for (;;) {
    bool leading;
    bool new_term;
    {
      absl::MutexLock lock(&mu_);
      auto changed = [this, term]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || wanted_term_ != term;
      };
      if (start_failed) {
        mu_.AwaitWithTimeout(absl::Condition(&changed), kRetryStart);
      } else {
        mu_.Await(absl::Condition(&changed));
      }
      if (stopping_) return;
      new_term = wanted_term_ != term;
      term = wanted_term_;
      leading = want_leading_;
      if (new_term) term_error_.clear();
    }
    if (new_term) EndTerm();  // a new term, led or not, never reuses the last term's Controller
    start_failed = leading && !StartTerm();
  }
}

bool GroupServer::StartTerm() {
  auto controller = std::make_shared<Controller>(controller_options_, gated_resolver_.get(),
                                                 etcd_store_.get(), clock_.get(), executor_.get());
  absl::Status started = controller->Start();
  if (!started.ok()) {
    // Not silently: ListGroups says so (HaStatus) and the term retries.
    LOG(ERROR) << "group service: leading, but not acting: cannot resume the groups in etcd "
                  "(retrying): "
               << started;
    controller->Shutdown();
    absl::MutexLock lock(&mu_);
    term_error_ = std::string(started.message());
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    term_error_.clear();
  }
  LOG(INFO) << "group service: leading; the groups in etcd are resumed";
  if (metrics_ != nullptr) metrics_->SetController(controller.get());
  active_->Lead(std::move(controller));
  return true;
}

void GroupServer::EndTerm() {
  std::shared_ptr<Controller> controller = active_->Follow();
  if (controller == nullptr) return;
  if (metrics_ != nullptr) metrics_->SetController(nullptr);
  controller->Shutdown();  // calls still holding it see UNAVAILABLE; it is destroyed with them
  LOG(INFO) << "group service: no longer leading; the groups are left to the leader";
}

GroupServer::~GroupServer() {
  // controller.h: shut down and destroy the Controller, then stop the executor and the clock,
  // then the rest. The service goes before the Controller: its pool may still cancel
  // subscriptions. Scrapes stop asking the Controller first. With the etcd store, the election
  // resigns first (a follower takes over at once), then the leadership thread stops.
  if (metrics_ != nullptr) metrics_->SetController(nullptr);
  {
    absl::MutexLock lock(&mu_);
    running_election_ = nullptr;  // calls still under way stop asking it who leads
  }
  election_.reset();
  // Forwarded calls end before the Controller goes (their service uses it).
  if (peer_server_ != nullptr)
    peer_server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  if (leadership_thread_.joinable()) {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    leadership_thread_.join();
  }
  std::shared_ptr<Controller> term = active_ != nullptr ? active_->Follow() : nullptr;
  if (term != nullptr) term->Shutdown();
  if (controller_ != nullptr) controller_->Shutdown();
  // Calls to plugins still under way end now: a plugin that hangs (stopped, overloaded) must
  // not hold the exit up to the call deadline (30 s). Nothing is lost: every change is in the
  // store, and a creation cut short is asked again, with its idempotency key, by the next run.
  if (resolver_ != nullptr) resolver_->CancelCalls();
  service_.reset();
  mirror_.reset();  // its watch ends before the client goes
  peer_server_.reset();
  peer_service_.reset();
  forwarder_.reset();
  term.reset();
  controller_.reset();
  executor_.reset();
  clock_.reset();
  store_.reset();
  etcd_store_.reset();
  active_.reset();
  etcd_client_.reset();
  gated_resolver_.reset();
  resolver_.reset();
  metrics_.reset();  // the Controller, which reported to it, is gone
  if (lock_fd_ >= 0) close(lock_fd_);
}

}  // namespace infrakit::services::group::server
