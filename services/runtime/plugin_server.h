// The runtime every InfraKit plugin binary is built on (docs/design.md): command line, logging,
// `--version`, the plugins directory, the owner-only unix socket named after the plugin, gRPC
// reflection + health + PluginService, and a clean exit on SIGINT / SIGTERM.
//
// A plugin's main.cc is a few lines:
//
//   int main(int argc, char** argv) {
//     const PluginIdentity identity = {...};
//     InitPlugin(argc, argv, identity);
//     MyCore core(...);
//     MyGrpcAdapter service(&core);
//     PluginServer server(identity);
//     server.AddService(&service);
//     return server.Run();
//   }
#ifndef INFRAKIT_SERVICES_RUNTIME_PLUGIN_SERVER_H_
#define INFRAKIT_SERVICES_RUNTIME_PLUGIN_SERVER_H_

#include <grpcpp/impl/service_type.h>
#include <grpcpp/server.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "common/metrics_http_server.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "services/runtime/paths.h"  // IWYU pragma: export (ResolvePluginsDir, InfrakitHome)
#include "services/runtime/peer_gate.h"
#include "services/runtime/rpc_metrics.h"

namespace infrakit::services::runtime {

// What a plugin binary is. Reported by PluginService.Info and `--version`.
struct PluginIdentity {
  std::string default_name;  // socket name when --name is not given, e.g. "instance-file"
  infrakit::plugin::v1::PluginKind kind = infrakit::plugin::v1::PLUGIN_KIND_UNSPECIFIED;
  std::string type;    // the original InfraKit's type string, e.g. "infrakit.InstancePlugin/1.0"
  std::string binary;  // the executable's name, e.g. "infrakit-instance-file"
  // The services it serves besides PluginService / health / reflection, with contract versions,
  // e.g. {"infrakit.instance.v1.InstanceService", "v1"}.
  std::vector<std::pair<std::string, std::string>> implements;
};

// How long Shutdown lets in-flight calls finish before cancelling them (Watch streams never
// finish on their own).
inline constexpr absl::Duration kShutdownGrace = absl::Seconds(1);

// Parses the command line with Abseil flags: the runtime's --name, --plugins-dir (also spelled
// --plugins_dir: "-" in a flag name is read as "_" for every flag the binary defines), --log N
// (glog verbosity: sets FLAGS_v, so VLOG(1) detail shows from --log=1 on; the original InfraKit's
// --log=5 still means "debug"), plus any ABSL_FLAG the binary defines. `--version`, or `version` as
// the first positional argument, prints VersionJson(identity) to stdout and exits 0. Unknown flags
// print an error and exit 1 (Abseil's behaviour). --metrics-listen HOST:PORT (off by default)
// makes the PluginServer serve Prometheus metrics (see PluginServer::EnableMetrics). Initialises
// glog to log to stderr. Tunes the process for serving: Abseil Mutex deadlock detection off
// (Debian's Abseil enables it) and at most two malloc arenas. Returns the positional arguments,
// argv[0] first. Call once, first thing in main().
std::vector<std::string> InitPlugin(int argc, char** argv, const PluginIdentity& identity);

// The original InfraKit's version JSON, e.g.
//   {
//       "name": "infrakit-group",
//       "revision": "75d7f4dbc17dbc48aadb9a4abfd87d57fbd7e1f8",
//       "type": "infrakit.GroupPlugin/1.0",
//       "version": "75d7f4d.m"
//   }
// name = identity.binary (default_name if empty), revision / version stamped at build time (see
// //tools/version). Ends with a newline. Thread-safe (pure).
std::string VersionJson(const PluginIdentity& identity);

// One plugin's gRPC server on `unix://<plugins-dir>/<name>.sock`.
//
// Who may connect: the server accepts connections itself (services/runtime/peer_gate.h) and
// gives gRPC only those of root, its own uid, and the uids / gids of --allow-uid / --allow-gid
// (SO_PEERCRED); the others are closed before any call is read, and logged. The socket file is
// 0600, or 0666 when the policy is widened (the credentials check being the gate then).
//
// Socket ownership: Start() holds an flock on the plugins directory while it checks the socket
// path and puts its own socket there, and Shutdown() holds it while it removes the socket, so
// two servers starting under the same name at once cannot both win, and a server shutting down
// never removes a successor's socket.
//
// Thread-compatible: call Start / Shutdown / Run from one thread. name() and socket_path() are
// fixed at construction and safe to call from any thread.
class PluginServer {
 public:
  // Name from --name (identity.default_name when unset) and directory from --plugins-dir
  // (resolved by ResolvePluginsDir); metrics enabled when --metrics-listen is set. Call after
  // InitPlugin.
  explicit PluginServer(PluginIdentity identity);
  // Explicit name and directory (tests, embedding). An empty `name` means
  // identity.default_name; an empty `plugins_dir` means ResolvePluginsDir("").
  PluginServer(PluginIdentity identity, std::string name, std::string plugins_dir);
  // Shuts down if still serving.
  ~PluginServer();
  PluginServer(const PluginServer&) = delete;
  PluginServer& operator=(const PluginServer&) = delete;

  // Registers a service to serve besides PluginService, health and reflection. Not owned: it
  // must outlive the server. Call before Start().
  void AddService(grpc::Service* service);

  // Who may connect (instead of the one from --allow-uid / --allow-gid). Call before Start().
  void SetPeerPolicy(PeerPolicy policy);
  // How many connections were refused for their credentials since the server was made.
  // Thread-safe.
  int64_t refused_connections() const ABSL_LOCKS_EXCLUDED(gate_mu_);

  // Makes Start() serve the Prometheus text exposition of metrics() at
  // http://`listen`/metrics (see common/metrics_http_server.h), with the metrics of every gRPC
  // call (services/runtime/rpc_metrics.h) and infrakit_plugin_info. Call before Start(); the
  // address is checked by Start().
  void EnableMetrics(std::string listen);
  // The registry the plugin adds its own metrics to (before Start()); nullptr when metrics are
  // off. Lives as long as the server; nothing reads it after Shutdown().
  metrics::Registry* metrics() { return metrics_.get(); }
  // The port metrics are served on (the chosen one for port 0); 0 when not serving them.
  int metrics_port() const;

  // Creates the plugins directory (0700) if missing, takes the socket, registers the services
  // and starts serving (and serving metrics, when enabled). A stale socket (connect refused: its
  // server died) is replaced. Errors: INVALID_ARGUMENT for a bad name (empty, "/" in it) or a
  // socket path longer than a unix socket allows (107 bytes); ALREADY_EXISTS "another server owns
  // SOCK" when a live server answers on the socket; FAILED_PRECONDITION when the socket path holds
  // something that is not a socket (it is left alone) or the server was already started;
  // INVALID_ARGUMENT naming the flag for a bad --allow-uid / --allow-gid; the errno
  // status (PERMISSION_DENIED...) naming the path when the directory or socket cannot be made;
  // UNAVAILABLE when gRPC cannot listen; for metrics, INVALID_ARGUMENT for a bad address and the
  // errno status when it cannot listen on it. On error nothing is left behind but the directory.
  absl::Status Start();

  // Stops serving: removes the socket (only if it is still ours), marks health NOT_SERVING,
  // lets in-flight calls finish for up to kShutdownGrace, then cancels the rest (streams), and
  // stops serving metrics.
  // Returns once every call has ended: a callback-API stream reactor must answer OnCancel()
  // with Finish(), or Shutdown waits for it. Idempotent; no-op if not started.
  void Shutdown();

  // Start(); then blocks until SIGINT or SIGTERM; then Shutdown(). Returns 0 after a signal, or
  // 1 when Start() failed (after logging its error, which names the socket). The signal
  // handlers write to a self-pipe that this thread reads, so waiting costs no CPU; the previous
  // handlers are restored on return. One Run() per process at a time.
  int Run();

  // "<plugins-dir>/<name>.sock" (absolute).
  std::string socket_path() const;
  // The plugin's name (the socket's file name without ".sock").
  std::string name() const;
  // The absolute plugins directory.
  std::string plugins_dir() const;
  // The InfoResponse this server answers with (valid at any time).
  infrakit::plugin::v1::InfoResponse Info() const;

 private:
  absl::Status ClaimSocketAndServe();
  absl::Status TakeSocketAndServe(const std::string& bind_dir);
  // A listening, non-blocking unix socket bound at `bind_path`. Errors: INVALID_ARGUMENT for a
  // path too long, UNAVAILABLE naming the path.
  absl::StatusOr<int> ListenOn(const std::string& bind_path) const;
  // Builds and starts server_ (no port: connections come from the gate). UNAVAILABLE on failure.
  absl::Status BuildServer();
  // Starts the gate on `listen_fd`, which it then owns (the caller still does on error).
  absl::Status StartGate(int listen_fd) ABSL_LOCKS_EXCLUDED(gate_mu_);

  const PluginIdentity identity_;
  const std::string name_;
  const std::string plugins_dir_;
  const std::string socket_path_;
  std::vector<grpc::Service*> services_;
  // Declared before server_ so that the registry outlives the interceptors that write to it.
  std::unique_ptr<metrics::Registry> metrics_;
  std::string metrics_listen_;
  std::unique_ptr<metrics::MetricsHttpServer> metrics_server_;
  std::unique_ptr<RpcMetrics> rpc_metrics_;
  std::unique_ptr<grpc::Service> info_service_;
  std::unique_ptr<grpc::Server> server_;
  // From --allow-uid / --allow-gid, or SetPeerPolicy; an error fails Start().
  absl::StatusOr<PeerPolicy> peer_policy_ = PeerPolicy::Default();
  mutable absl::Mutex gate_mu_;
  std::unique_ptr<PeerGate> gate_ ABSL_GUARDED_BY(gate_mu_);
  int64_t refused_before_ ABSL_GUARDED_BY(gate_mu_) = 0;  // by gates already stopped
  // The socket file we put in place, to remove only ours.
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
};

}  // namespace infrakit::services::runtime

#endif  // INFRAKIT_SERVICES_RUNTIME_PLUGIN_SERVER_H_
