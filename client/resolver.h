// Finding instance and flavor plugins by name in the plugins directory, at the moment they are
// used: plugins restart on their own, and a group waits for one that is down.
#ifndef INFRAKIT_CLIENT_RESOLVER_H_
#define INFRAKIT_CLIENT_RESOLVER_H_

#include <grpcpp/channel.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
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
// name and replaces it when the socket file was replaced (the plugin restarted: another inode)
// or the channel has failed, so a restarted plugin is reached at once. A cached channel that is
// connected to the socket file now at the path is used without probing the socket (a probe is a
// connection the plugin must accept); any other case probes first.
//
// Errors: INVALID_ARGUMENT for an empty name or one containing '/'; NOT_FOUND "no plugin named X
// in DIR (is it running? start it with: ...)" when there is no such socket; UNAVAILABLE when
// the socket is stale ("plugin X at SOCK does not answer (it has stopped or crashed; start it
// with: ...)") or the plugin does not accept a connection within connect_timeout ("plugin X is
// not answering at SOCK"). The hints are client::StartHint's: the command that starts a bundled
// plugin in DIR. The clients returned know their plugin's name: their UNAVAILABLE and
// DEADLINE_EXCEEDED errors say which plugin (NamePlugin in unary_call.h). Thread-safe; blocks
// for at most about connect_timeout.
class SocketResolver final : public spi::PluginResolver {
 public:
  explicit SocketResolver(std::string plugins_dir,
                          SocketResolverOptions options = SocketResolverOptions());
  ~SocketResolver() override;

  // A client::InstanceClient on the plugin's channel, named `name` in its errors.
  absl::StatusOr<std::shared_ptr<spi::instance::InstancePlugin>> Instance(
      absl::string_view name) override;

  // A client::FlavorClient on the plugin's channel, named `name` in its errors.
  absl::StatusOr<std::shared_ptr<spi::flavor::FlavorPlugin>> Flavor(
      absl::string_view name) override;

  // The connected channel to plugin `name`, for other typed clients (GroupClient,
  // PluginClient). Same errors as above.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(absl::string_view name);

 private:
  struct CachedChannel {
    dev_t device = 0;
    ino_t inode = 0;
    std::shared_ptr<grpc::Channel> channel;
  };

  // NOT_FOUND for plugin `name`, which has no socket in the plugins directory.
  absl::Status NotRunning(absl::string_view name) const;

  // The cached channel of plugin `name` when it is connected (READY) to the socket file now at
  // its path (same device and inode); nullptr otherwise (the caller then probes and dials).
  std::shared_ptr<grpc::Channel> ReadyChannel(absl::string_view name);

  const std::string plugins_dir_;
  const SocketResolverOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, CachedChannel> channels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_RESOLVER_H_
