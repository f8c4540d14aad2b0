#include "services/runtime/plugin_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/discovery/channel.h"
#include "client/discovery/unix_socket.h"
#include "glog/logging.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.pb.h"
#include "services/runtime/plugin_info_service.h"
#include "tools/version/version_info.h"

ABSL_FLAG(std::string, name, "",
          "Name of the plugin: its socket is <plugins-dir>/<name>.sock (default: the plugin's "
          "usual name, e.g. instance-file)");
ABSL_FLAG(std::string, plugins_dir, "",
          "Directory of the plugins' sockets (--plugins-dir; default: $INFRAKIT_PLUGINS_DIR, "
          "else /run/infrakit/plugins when writable, else $XDG_RUNTIME_DIR/infrakit/plugins, "
          "else ~/.infrakit/plugins)");
ABSL_FLAG(std::string, metrics_listen, "",
          "Serve Prometheus metrics at http://HOST:PORT/metrics (--metrics-listen, e.g. "
          "127.0.0.1:9101; default: off)");
ABSL_FLAG(std::vector<std::string>, allow_uid, {},
          "Also let these users (uids or names, comma-separated) talk to the plugin (--allow-uid; "
          "default: only root and the plugin's own uid). Makes the socket file 0666: the "
          "connecting process's credentials are what is checked");
ABSL_FLAG(std::vector<std::string>, allow_gid, {},
          "Also let processes of these primary groups (gids or names, comma-separated) talk to "
          "the plugin (--allow-gid); as --allow-uid");
ABSL_FLAG(int, log, 0,
          "Log verbosity: 0 logs lifecycle (INFO) and problems; 1 and more add detail (VLOG)");

namespace infrakit::services::runtime {
namespace {

using ::infrakit::client::discovery::ProbeSocket;
using ::infrakit::client::discovery::SocketAddress;
using ::infrakit::client::discovery::SocketState;

// A JSON string literal for `s`, escaped by protobuf's JSON printer.
std::string JsonString(absl::string_view s) {
  google::protobuf::Value value;
  value.set_string_value(std::string(s));
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(value, &out).ok()) return "\"\"";
  return out;
}

// Abseil flag names are C identifiers, but InfraKit's documented flags are spelled with dashes
// (--plugins-dir). Rewrites "--a-b[=v]" to "--a_b[=v]" (and "--no-a-b" to "--noa_b") when that
// names a registered flag, so every binary's own flags accept both spellings.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;  // everything after "--" is positional
    if (arg.size() < 2 || arg[0] != '-') continue;
    const size_t start = arg[1] == '-' ? 2 : 1;
    size_t end = arg.find('=', start);
    if (end == std::string::npos) end = arg.size();
    const std::string flag = arg.substr(start, end - start);
    if (flag.find('-') == std::string::npos) continue;
    const std::string underscored = absl::StrReplaceAll(flag, {{"-", "_"}});
    if (absl::FindCommandLineFlag(underscored) != nullptr) {
      arg.replace(start, end - start, underscored);
    } else if (absl::StartsWith(underscored, "no_") &&
               absl::FindCommandLineFlag(underscored.substr(3)) != nullptr) {
      arg.replace(start, end - start, absl::StrCat("no", underscored.substr(3)));
    }
  }
  return args;
}

std::string AbsoluteDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(dir, ec);
  std::string out = ec ? dir : abs.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// mkdir -p, creating missing directories owner-only (0700).
absl::Status MakeDirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    const std::string prefix = path.substr(0, i);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot create plugins directory ", prefix));
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot use plugins directory ", path));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("plugins directory ", path, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

// An exclusive flock on a directory, held while a server checks and puts (or removes) its socket
// there. Released when destroyed (closing the fd drops the lock).
class DirLock {
 public:
  static absl::StatusOr<std::unique_ptr<DirLock>> Acquire(const std::string& dir) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", dir));
    int rc;
    do {
      rc = flock(fd, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      int err = errno;
      close(fd);
      return absl::ErrnoToStatus(err, absl::StrCat("cannot lock ", dir));
    }
    return std::unique_ptr<DirLock>(new DirLock(fd));
  }
  ~DirLock() { close(fd_); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  const int fd_;
};

constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

// Write end of Run()'s self-pipe; -1 when no Run() is waiting. Atomic so that the signal handler
// reads it safely.
std::atomic<int> g_signal_write_fd{-1};

void OnTerminationSignal(int signo) {
  const int saved_errno = errno;
  const int fd = g_signal_write_fd.load();
  if (fd >= 0) {
    const unsigned char byte = static_cast<unsigned char>(signo);
    ssize_t ignored = write(fd, &byte, 1);
    (void)ignored;
  }
  errno = saved_errno;
}

}  // namespace

std::string VersionJson(const PluginIdentity& identity) {
  const std::string& name = identity.binary.empty() ? identity.default_name : identity.binary;
  return absl::StrCat("{\n    \"name\": ", JsonString(name),
                      ",\n    \"revision\": ", JsonString(tools::version::Revision()),
                      ",\n    \"type\": ", JsonString(identity.type),
                      ",\n    \"version\": ", JsonString(tools::version::Version()), "\n}\n");
}

std::vector<std::string> InitPlugin(int argc, char** argv, const PluginIdentity& identity) {
  // Debian builds Abseil without NDEBUG, which leaves Mutex deadlock detection on: every lock
  // taken while another is held, and every Mutex destroyed, then updates one process-wide graph
  // under a global lock (GraphCycles was 2-4% of each plugin's CPU in tools/bench profiles, and
  // a point of contention between threads). Tests keep detection; a served plugin does not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // glibc gives each thread that allocates concurrently its own arena, up to 8 per core; a
  // plugin's many mostly idle gRPC and pool threads then keep many partly used arenas resident.
  // Two arenas are plenty for the cores plugins get (tools/bench: the group service's RSS at
  // 1,000 instances 30.1 -> 26.4 MiB).
  mallopt(M_ARENA_MAX, 2);
  // A plugin may hold many descriptors at once (instance-file keeps a batch's unnamed files
  // open until they are linked; instance-process a pidfd per process): the soft limit, often
  // 1024, is raised to the hard one, as servers do.
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  absl::SetProgramUsageMessage(absl::StrCat(
      "InfraKit ", identity.type, " plugin, serving on <plugins-dir>/", identity.default_name,
      ".sock.\nUsage: ", identity.binary, " [flags] | version"));
  absl::FlagsUsageConfig usage;
  usage.version_string = [identity] { return VersionJson(identity); };
  // --help lists InfraKit's flags (the runtime's and the binary's own), not Abseil's internals.
  auto ours = [](absl::string_view file) { return !absl::StrContains(file, "absl/"); };
  usage.contains_help_flags = ours;
  usage.contains_helpshort_flags = ours;
  absl::SetFlagsUsageConfig(usage);

  std::vector<std::string> normalized = NormalizeFlagNames(argc, argv);
  std::vector<char*> normalized_argv;
  for (std::string& arg : normalized) normalized_argv.push_back(arg.data());
  normalized_argv.push_back(nullptr);
  // Exits on --version (printing usage.version_string), --help, and bad flags.
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(normalized.size()), normalized_argv.data());
  std::vector<std::string> args(positional.begin(), positional.end());
  if (args.size() > 1 && args[1] == "version") {
    std::cout << VersionJson(identity) << std::flush;
    std::exit(0);
  }

  FLAGS_logtostderr = true;
  FLAGS_v = absl::GetFlag(FLAGS_log);
  if (!google::IsGoogleLoggingInitialized()) google::InitGoogleLogging(argv[0]);
  return args;
}

PluginServer::PluginServer(PluginIdentity identity)
    : PluginServer(std::move(identity), absl::GetFlag(FLAGS_name),
                   absl::GetFlag(FLAGS_plugins_dir)) {}

PluginServer::PluginServer(PluginIdentity identity, std::string name, std::string plugins_dir)
    : identity_(std::move(identity)),
      name_(name.empty() ? identity_.default_name : std::move(name)),
      plugins_dir_(AbsoluteDir(ResolvePluginsDir(plugins_dir))),
      socket_path_(absl::StrCat(plugins_dir_, "/", name_, ".sock")) {
  const std::string listen = absl::GetFlag(FLAGS_metrics_listen);
  if (!listen.empty()) EnableMetrics(listen);
  peer_policy_ =
      PeerPolicy::FromFlags(absl::GetFlag(FLAGS_allow_uid), absl::GetFlag(FLAGS_allow_gid));
}

void PluginServer::SetPeerPolicy(PeerPolicy policy) { peer_policy_ = std::move(policy); }

int64_t PluginServer::refused_connections() const {
  absl::MutexLock lock(&gate_mu_);
  return refused_before_ + (gate_ != nullptr ? gate_->refused() : 0);
}

PluginServer::~PluginServer() { Shutdown(); }

void PluginServer::AddService(grpc::Service* service) { services_.push_back(service); }

void PluginServer::EnableMetrics(std::string listen) {
  metrics_listen_ = std::move(listen);
  if (metrics_ != nullptr) return;
  metrics_ = std::make_unique<metrics::Registry>();
  rpc_metrics_ = std::make_unique<RpcMetrics>(metrics_.get());
  metrics_
      ->AddGauge("infrakit_plugin_info", "The plugin serving these metrics (always 1).",
                 {"name", "binary", "type", "version", "revision"})
      ->WithLabels({name_, identity_.binary, identity_.type, std::string(tools::version::Version()),
                    std::string(tools::version::Revision())})
      ->Set(1);
}

int PluginServer::metrics_port() const {
  return metrics_server_ == nullptr ? 0 : metrics_server_->port();
}

std::string PluginServer::socket_path() const { return socket_path_; }

std::string PluginServer::name() const { return name_; }

std::string PluginServer::plugins_dir() const { return plugins_dir_; }

infrakit::plugin::v1::InfoResponse PluginServer::Info() const {
  infrakit::plugin::v1::InfoResponse info;
  info.set_name(name_);
  info.set_kind(identity_.kind);
  info.set_type(identity_.type);
  for (const auto& [service, version] : identity_.implements) {
    infrakit::plugin::v1::Implementation* impl = info.add_implements();
    impl->set_service(service);
    impl->set_version(version);
  }
  info.set_version(std::string(tools::version::Version()));
  info.set_revision(std::string(tools::version::Revision()));
  info.set_binary(identity_.binary);
  info.set_pid(getpid());
  return info;
}

absl::Status PluginServer::Start() {
  if (server_ != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("plugin ", name_, " already started"));
  }
  if (name_.empty() || name_ == "." || name_ == ".." ||
      name_.find_first_of(std::string("/\0", 2)) != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--name \"", name_, "\" must be non-empty and contain no '/'"));
  }
  if (socket_path_.size() > kMaxSocketPath) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path ", socket_path_, " is ", socket_path_.size(),
                     " bytes long; unix sockets allow ", kMaxSocketPath,
                     ": use a shorter --plugins-dir or --name"));
  }
  if (!peer_policy_.ok()) return peer_policy_.status();
  if (metrics_ != nullptr) {
    if (absl::Status s = metrics::ValidateListenAddress(metrics_listen_); !s.ok()) return s;
    metrics::Registry* registry = metrics_.get();
    absl::StatusOr<std::unique_ptr<metrics::MetricsHttpServer>> http =
        metrics::MetricsHttpServer::Start(metrics_listen_,
                                          [registry] { return registry->Render(); });
    if (!http.ok()) return http.status();
    metrics_server_ = *std::move(http);
  }
  absl::Status status = ClaimSocketAndServe();
  if (!status.ok()) {
    metrics_server_.reset();
  } else if (metrics_server_ != nullptr) {
    LOG(INFO) << "Serving metrics on " << metrics_server_->url();
  }
  return status;
}

absl::Status PluginServer::ClaimSocketAndServe() {
  if (absl::Status s = MakeDirs(plugins_dir_); !s.ok()) return s;

  absl::StatusOr<std::unique_ptr<DirLock>> lock = DirLock::Acquire(plugins_dir_);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<SocketState> state = ProbeSocket(socket_path_);
  if (!state.ok()) return state.status();
  switch (*state) {
    case SocketState::kLive:
      return absl::AlreadyExistsError(absl::StrCat(
          "another server owns ", socket_path_,
          " (a live server answers on it): stop it, or start this one with another --name"));
    case SocketState::kNotSocket:
      return absl::FailedPreconditionError(absl::StrCat(
          socket_path_, " exists and is not a socket; not replacing it (remove it by hand)"));
    case SocketState::kStale:
      LOG(INFO) << "Replacing stale socket " << socket_path_ << " (its server is gone)";
      break;
    case SocketState::kMissing:
      break;
  }
  return TakeSocketAndServe(plugins_dir_);
}

// The socket must be owner-only from the moment anyone can reach it (or, with a widened
// PeerPolicy, reachable by everyone, the gate checking who connects). A bound socket gets mode
// 0777 & ~umask, and changing the process-wide umask around the bind would also affect files
// other threads create meanwhile. So the socket is bound inside a fresh mkdtemp directory
// (0700: nobody else can reach it there), chmod'ed, then rename()d to <name>.sock. rename is
// atomic and replaces a stale socket in one step; connections resolve the path to the socket's
// inode, so the listener keeps working under its new name.
//
// The server listens on no port of its own: the PeerGate accepts on the socket, checks each
// peer's credentials and hands the allowed connections to gRPC (AddInsecureChannelFromFd).
absl::Status PluginServer::TakeSocketAndServe(const std::string& bind_dir) {
  std::string tmpl = absl::StrCat(bind_dir, "/.ik-bind-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create a directory in ", bind_dir));
  }
  const std::string tmp_dir = tmpl;
  const std::string bind_path = absl::StrCat(tmp_dir, "/s");
  auto cleanup_tmp = [&] {
    unlink(bind_path.c_str());
    rmdir(tmp_dir.c_str());
  };
  absl::StatusOr<int> listen_fd = ListenOn(bind_path);
  if (!listen_fd.ok()) {
    cleanup_tmp();
    return listen_fd.status();
  }
  if (absl::Status built = BuildServer(); !built.ok()) {
    close(*listen_fd);
    cleanup_tmp();
    return built;
  }

  absl::Status status;
  struct stat st;
  const mode_t mode = peer_policy_->widened() ? 0666 : 0600;
  if (chmod(bind_path.c_str(), mode) != 0) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("cannot chmod ", bind_path));
  } else if (rename(bind_path.c_str(), socket_path_.c_str()) != 0) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("cannot put the socket at ", socket_path_));
  } else if (lstat(socket_path_.c_str(), &st) != 0) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("cannot stat ", socket_path_));
  }
  cleanup_tmp();
  if (status.ok()) status = StartGate(*listen_fd);  // the gate owns listen_fd once started
  if (!status.ok()) {
    close(*listen_fd);
    server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_.reset();
    info_service_.reset();
    return status;
  }
  socket_dev_ = st.st_dev;
  socket_ino_ = st.st_ino;

  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(infrakit::plugin::v1::PluginService::service_full_name(), true);
    for (const auto& [service, version] : identity_.implements) {
      health->SetServingStatus(service, true);
    }
  }
  LOG(INFO) << "Listening on: " << SocketAddress(socket_path_)
            << " (allowed: " << peer_policy_->Describe() << ")";
  return absl::OkStatus();
}

absl::StatusOr<int> PluginServer::ListenOn(const std::string& bind_path) const {
  if (bind_path.size() > kMaxSocketPath) {
    return absl::InvalidArgumentError(
        absl::StrCat("plugins directory ", plugins_dir_, " is too long for a unix socket path (",
                     kMaxSocketPath, " bytes): use a shorter --plugins-dir"));
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "cannot create a unix socket");
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, bind_path.data(), bind_path.size());
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", bind_path, " for ", socket_path_, ": ", strerror(error)));
  }
  return fd;
}

absl::Status PluginServer::BuildServer() {
  // Reflection resolves a service by finding its .proto in the generated descriptor pool. gRPC's
  // default health service is built on upb and does not put grpc/health/v1/health.proto there;
  // referencing our compiled copy links it in and registers it.
  CHECK(grpc::health::v1::HealthCheckRequest::descriptor() != nullptr);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  info_service_ = std::make_unique<PluginInfoService>(Info());
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(client::discovery::kMaxMessageBytes);
  builder.SetMaxSendMessageSize(client::discovery::kMaxMessageBytes);
  builder.RegisterService(info_service_.get());
  for (grpc::Service* service : services_) builder.RegisterService(service);
  if (rpc_metrics_ != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(rpc_metrics_->NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    info_service_.reset();
    return absl::UnavailableError(absl::StrCat("cannot start the gRPC server for ", socket_path_));
  }
  return absl::OkStatus();
}

absl::Status PluginServer::StartGate(int listen_fd) {
  grpc::Server* server = server_.get();
  absl::StatusOr<std::unique_ptr<PeerGate>> gate = PeerGate::Start(
      listen_fd, *peer_policy_, socket_path_,
      [server](int fd, const Peer&) { grpc::AddInsecureChannelFromFd(server, fd); });
  if (!gate.ok()) return gate.status();
  absl::MutexLock lock(&gate_mu_);
  gate_ = *std::move(gate);
  return absl::OkStatus();
}

void PluginServer::Shutdown() {
  if (server_ == nullptr) return;
  // Remove the socket first so that no new client connects and a successor can start at once;
  // under the directory lock, and only if the file is still ours. The lock is dropped before
  // waiting on in-flight calls.
  {
    absl::StatusOr<std::unique_ptr<DirLock>> lock = DirLock::Acquire(plugins_dir_);
    if (!lock.ok()) LOG(WARNING) << lock.status();
    struct stat st;
    if (lstat(socket_path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
        st.st_ino == socket_ino_ && unlink(socket_path_.c_str()) != 0) {
      PLOG(WARNING) << "cannot remove " << socket_path_;
    }
  }

  // No new connection from now on; those admitted end with the server.
  std::unique_ptr<PeerGate> gate;
  {
    absl::MutexLock lock(&gate_mu_);
    gate = std::move(gate_);
    if (gate != nullptr) refused_before_ += gate->refused();
  }
  if (gate != nullptr) gate->Stop();  // joins its thread: outside gate_mu_
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->Shutdown();
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + kShutdownGrace));
  server_->Wait();
  server_.reset();
  info_service_.reset();
  metrics_server_.reset();
  LOG(INFO) << "Stopped serving on " << SocketAddress(socket_path_);
}

int PluginServer::Run() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    PLOG(ERROR) << "Cannot start plugin " << name_ << ": pipe";
    return 1;
  }
  fcntl(fds[1], F_SETFL, O_NONBLOCK);  // a flood of signals must never block the handler
  g_signal_write_fd.store(fds[1]);
  struct sigaction action = {};
  action.sa_handler = &OnTerminationSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  struct sigaction old_int = {};
  struct sigaction old_term = {};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  sigset_t termination;
  sigemptyset(&termination);
  sigaddset(&termination, SIGINT);
  sigaddset(&termination, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &termination, nullptr);

  auto restore = [&] {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    g_signal_write_fd.store(-1);
    close(fds[0]);
    close(fds[1]);
  };

  if (absl::Status status = Start(); !status.ok()) {
    restore();
    LOG(ERROR) << "Cannot start plugin " << name_ << ": " << status;
    return 1;
  }
  unsigned char signo = 0;
  ssize_t n;
  do {
    n = read(fds[0], &signo, 1);
  } while (n < 0 && errno == EINTR);
  // A second signal during a slow shutdown gets the previous (default: terminate) behaviour.
  restore();
  LOG(INFO) << "Received " << (n == 1 ? strsignal(signo) : "end of signal pipe")
            << ", shutting down";
  Shutdown();
  return 0;
}

}  // namespace infrakit::services::runtime
