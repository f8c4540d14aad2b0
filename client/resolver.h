// Finding instance and flavor plugins by name in the plugins directory, at the moment they are
// used: plugins restart on their own, and a group waits for one that is down.
#ifndef INFRAKIT_CLIENT_RESOLVER_H_
#define INFRAKIT_CLIENT_RESOLVER_H_

#include <grpcpp/channel.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/call_canceller.h"
#include "client/flavor_client.h"
#include "client/instance_client.h"
#include "client/unary_call.h"
#include "spi/plugin_resolver.h"

namespace infrakit::client {

struct SocketResolverOptions {
  // How long a plugin's socket may take to accept a gRPC connection before the plugin counts as
  // not answering. A local socket connects at once, so this only matters for a hung plugin.
  absl::Duration connect_timeout = absl::Seconds(2);
  // The deadline of every unary call made through the returned clients.
  absl::Duration call_deadline = kDefaultCallDeadline;
};

// Resolves "<plugins_dir>/<name>.sock" each time a plugin is asked for. Keeps one channel per
// name, and on it one InstanceClient and one FlavorClient (made on first use), so that what a
// client learns about its plugin (that it answers a batch RPC UNIMPLEMENTED, so unary calls
// serve it) holds for every later lookup instead of costing a round trip per lookup. The
// channel and its clients are replaced together when the socket file was replaced (the plugin
// restarted: another device, inode or modification time, which a restarted plugin may change
// in what it serves) or the channel has failed, so a restarted plugin is reached at once and
// asked afresh. A cached channel that is connected to the socket file now at the path is used
// without probing the socket (a probe is a connection the plugin must accept); any other case
// probes first.
//
// Errors: INVALID_ARGUMENT for an empty name or one containing '/'; NOT_FOUND "no plugin named X
// in DIR (is it running? start it with: ...)" when there is no such socket; UNAVAILABLE when
// the socket is stale ("plugin X at SOCK does not answer (it has stopped or crashed; start it
// with: ...)") or the plugin does not accept a connection within connect_timeout ("plugin X is
// not answering at SOCK"). The hints are client::StartHint's: the command that starts a bundled
// plugin in DIR. The clients returned know their plugin's name: their UNAVAILABLE and
// DEADLINE_EXCEEDED errors say which plugin (NamePlugin in unary_call.h). Thread-safe (the
// clients returned are shared between callers, and are thread-safe themselves); blocks for at
// most about connect_timeout.
class SocketResolver final : public spi::PluginResolver {
 public:
  explicit SocketResolver(std::string plugins_dir,
                          SocketResolverOptions options = SocketResolverOptions());
  ~SocketResolver() override;

  // The client::InstanceClient on the plugin's channel, named `name` in its errors: the same
  // object for every lookup while the channel stays.
  absl::StatusOr<std::shared_ptr<spi::instance::InstancePlugin>> Instance(
      absl::string_view name) override;

  // The client::FlavorClient on the plugin's channel, named `name` in its errors: the same
  // object for every lookup while the channel stays.
  absl::StatusOr<std::shared_ptr<spi::flavor::FlavorPlugin>> Flavor(
      absl::string_view name) override;

  // The connected channel to plugin `name`, for other typed clients (GroupClient,
  // PluginClient). Same errors as above.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(absl::string_view name);

  // Ends the unary calls under way on every InstanceClient and FlavorClient this resolver
  // returned (they end with CANCELLED at once, whatever the plugin does) and makes their later
  // calls fail the same way: for a service shutting down, which must not wait out the deadline
  // of a call to a plugin that hangs. Watches are not touched (their handles end them).
  // Idempotent.
  void CancelCalls();

 private:
  // The socket file a channel was dialled to. A plugin that restarts binds a new file: another
  // inode, or the same inode number reused with another modification time.
  struct SocketIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    int64_t mtime_seconds = 0;
    int64_t mtime_nanos = 0;

    static SocketIdentity Of(const struct stat& st);
    bool operator==(const SocketIdentity& other) const;
  };

  // One plugin's channel and the typed clients made on it; the clients go with the channel.
  struct CachedPlugin {
    SocketIdentity socket;
    std::shared_ptr<grpc::Channel> channel;
    std::shared_ptr<InstanceClient> instance;  // Made by the first Instance() on `channel`.
    std::shared_ptr<FlavorClient> flavor;      // Made by the first Flavor() on `channel`.
  };

  // NOT_FOUND for plugin `name`, which has no socket in the plugins directory.
  absl::Status NotRunning(absl::string_view name) const;

  // The cached channel of plugin `name` when it is connected (READY) to the socket file now at
  // its path (the same SocketIdentity); nullptr otherwise (the caller then probes and dials).
  std::shared_ptr<grpc::Channel> ReadyChannel(absl::string_view name);

  // The client in `slot` of plugin `name`'s cache entry when that entry still holds `channel`,
  // made there if missing. When the entry has moved on to another channel since `channel` was
  // resolved (the plugin restarted meanwhile), a new client on `channel` that is not kept.
  template <typename Client>
  std::shared_ptr<Client> ClientOn(absl::string_view name,
                                   const std::shared_ptr<grpc::Channel>& channel,
                                   std::shared_ptr<Client> CachedPlugin::*slot);

  const std::string plugins_dir_;
  const SocketResolverOptions options_;
  // Shared by the clients, which may outlive the resolver.
  const std::shared_ptr<CallCanceller> canceller_ = std::make_shared<CallCanceller>();
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, CachedPlugin> plugins_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_RESOLVER_H_
