// The one way InfraKit clients dial a plugin, so that every client (CLI, group service, tests)
// uses the same channel settings.
#ifndef INFRAKIT_CLIENT_DISCOVERY_CHANNEL_H_
#define INFRAKIT_CLIENT_DISCOVERY_CHANNEL_H_

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>

#include "absl/strings/string_view.h"

namespace infrakit::client::discovery {

// Largest message a client or server accepts (either direction). A Describe of 10,000 instances
// with properties is several MiB; gRPC's default receive limit of 4 MiB is too small.
inline constexpr int kMaxMessageBytes = 64 << 20;

// Channel arguments every InfraKit channel and server uses: message limits of kMaxMessageBytes,
// and a short reconnect backoff (plugins restart independently and a local socket reconnects
// at once; gRPC's default 1 s..120 s backoff would make a restarted plugin look down for long).
grpc::ChannelArguments PluginChannelArguments();

// An insecure channel to a plugin's unix socket with PluginChannelArguments(). `socket` is a
// socket path ("/run/infrakit/plugins/group.sock") or already an address ("unix:///..."). Does not
// connect until the first call; callers set a deadline on every call. Thread-safe; the channel is
// shareable across threads.
std::shared_ptr<grpc::Channel> MakePluginChannel(absl::string_view socket);

}  // namespace infrakit::client::discovery

#endif  // INFRAKIT_CLIENT_DISCOVERY_CHANNEL_H_
