#include "client/resolver.h"

#include <grpc/grpc.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/discovery/channel.h"
#include "client/discovery/discovery.h"
#include "client/discovery/unix_socket.h"
#include "client/start_hint.h"
#include "glog/logging.h"

namespace infrakit::client {
namespace {

// Waits until `channel` is connected. Fails as soon as the connection attempt fails (a unix
// connect fails at once) or at `timeout`.
bool WaitConnected(grpc::Channel& channel, absl::Duration timeout) {
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return false;
    if (!channel.WaitForStateChange(state, deadline)) return false;
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return true;
}

// A plugin channel (discovery::PluginChannelArguments) whose connection attempts may take
// `connect_timeout`. gRPC takes its minimum connect timeout from "min reconnect backoff"; a short
// one makes a healthy but busy plugin look down. The last value of a key wins.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& socket,
                                          absl::Duration connect_timeout) {
  grpc::ChannelArguments args = discovery::PluginChannelArguments();
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(connect_timeout)));
  return grpc::CreateCustomChannel(discovery::SocketAddress(socket),
                                   grpc::InsecureChannelCredentials(), args);
}

}  // namespace

SocketResolver::SocketResolver(std::string plugins_dir, SocketResolverOptions options)
    : plugins_dir_(std::move(plugins_dir)), options_(options) {}

SocketResolver::~SocketResolver() = default;

absl::StatusOr<std::shared_ptr<grpc::Channel>> SocketResolver::Channel(absl::string_view name) {
  // The common case, every plugin call of a busy group service: a cached channel, connected, to
  // the socket file that is there now. It is used as it is. Probing the socket first (as
  // discovery::Find does, by connecting to it) would make the plugin accept, set up and tear
  // down a whole connection per call, which cost the plugin more CPU than the call itself
  // (tools/bench: ~200 us per call). A plugin that has died is no longer READY (its end of the
  // connection closed), so it takes the slow path below and is reported as such.
  if (std::shared_ptr<grpc::Channel> ready = ReadyChannel(name)) return ready;

  // NOT_FOUND / UNAVAILABLE (stale socket) / INVALID_ARGUMENT, decided by discovery. The user
  // reads these through the group service: say how to start the plugin.
  absl::StatusOr<std::string> socket = discovery::Find(plugins_dir_, name);
  if (absl::IsNotFound(socket.status())) {
    // A name from the original InfraKit's configs ("zookeeper", "swarm", "terraform") served by
    // its bundled plugin when no plugin runs under the name itself.
    const std::string alias = OriginalNameAlias(name);
    if (!alias.empty() && discovery::Find(plugins_dir_, alias).ok()) return Channel(alias);
    return NotRunning(name);
  }
  if (absl::IsUnavailable(socket.status())) {
    return absl::UnavailableError(absl::StrCat(socket.status().message(),
                                               " (it has stopped or crashed; ",
                                               StartHint(name, plugins_dir_), ")"));
  }
  if (!socket.ok()) return socket.status();

  struct stat st;
  if (stat(socket->c_str(), &st) != 0) {
    // Removed since Find looked: the plugin just stopped.
    if (errno == ENOENT) return NotRunning(name);
    return absl::InternalError(absl::StrCat("stat ", *socket, ": ", std::strerror(errno)));
  }

  const SocketIdentity identity = SocketIdentity::Of(st);
  std::shared_ptr<grpc::Channel> channel;
  {
    absl::MutexLock lock(&mu_);
    CachedPlugin& cached = plugins_[std::string(name)];
    bool usable = cached.channel != nullptr && cached.socket == identity;
    if (usable) {
      grpc_connectivity_state state = cached.channel->GetState(/*try_to_connect=*/false);
      // A failed channel would wait out its reconnect backoff; a fresh one dials at once.
      usable = state != GRPC_CHANNEL_TRANSIENT_FAILURE && state != GRPC_CHANNEL_SHUTDOWN;
    }
    if (!usable) {
      VLOG(1) << "New channel to plugin " << name << " at " << *socket;
      // The clients of the old channel go with it: a new plugin is asked afresh what it serves.
      cached = CachedPlugin{identity, NewChannel(*socket, options_.connect_timeout)};
    }
    channel = cached.channel;
  }

  if (!WaitConnected(*channel, options_.connect_timeout)) {
    return absl::UnavailableError(absl::StrCat("plugin ", name, " is not answering at ", *socket));
  }
  return channel;
}

absl::Status SocketResolver::NotRunning(absl::string_view name) const {
  return absl::NotFoundError(absl::StrCat("no plugin named ", name, " in ", plugins_dir_,
                                          " (is it running? ", StartHint(name, plugins_dir_), ")"));
}

std::shared_ptr<grpc::Channel> SocketResolver::ReadyChannel(absl::string_view name) {
  if (name.empty() || name.find('/') != absl::string_view::npos) return nullptr;
  const std::string socket = absl::StrCat(plugins_dir_, "/", name, ".sock");
  struct stat st;
  if (stat(socket.c_str(), &st) != 0) return nullptr;
  absl::MutexLock lock(&mu_);
  auto it = plugins_.find(name);
  if (it == plugins_.end() || it->second.channel == nullptr ||
      !(it->second.socket == SocketIdentity::Of(st))) {
    return nullptr;
  }
  if (it->second.channel->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY) {
    return nullptr;
  }
  return it->second.channel;
}

SocketResolver::SocketIdentity SocketResolver::SocketIdentity::Of(const struct stat& st) {
  return SocketIdentity{st.st_dev, st.st_ino, static_cast<int64_t>(st.st_mtim.tv_sec),
                        static_cast<int64_t>(st.st_mtim.tv_nsec)};
}

bool SocketResolver::SocketIdentity::operator==(const SocketIdentity& other) const {
  return device == other.device && inode == other.inode && mtime_seconds == other.mtime_seconds &&
         mtime_nanos == other.mtime_nanos;
}

template <typename Client>
std::shared_ptr<Client> SocketResolver::ClientOn(absl::string_view name,
                                                 const std::shared_ptr<grpc::Channel>& channel,
                                                 std::shared_ptr<Client> CachedPlugin::*slot) {
  absl::MutexLock lock(&mu_);
  auto it = plugins_.find(name);
  if (it == plugins_.end() || it->second.channel != channel) {
    return std::make_shared<Client>(channel, options_.call_deadline, std::string(name), canceller_);
  }
  std::shared_ptr<Client>& client = it->second.*slot;
  if (client == nullptr) {
    client =
        std::make_shared<Client>(channel, options_.call_deadline, std::string(name), canceller_);
  }
  return client;
}

absl::StatusOr<std::shared_ptr<spi::instance::InstancePlugin>> SocketResolver::Instance(
    absl::string_view name) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(name);
  if (!channel.ok()) return channel.status();
  return ClientOn(name, *channel, &CachedPlugin::instance);
}

absl::StatusOr<std::shared_ptr<spi::flavor::FlavorPlugin>> SocketResolver::Flavor(
    absl::string_view name) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(name);
  if (!channel.ok()) return channel.status();
  return ClientOn(name, *channel, &CachedPlugin::flavor);
}

void SocketResolver::CancelCalls() { canceller_->CancelAll(); }

}  // namespace infrakit::client
