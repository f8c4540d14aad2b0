// infrakit-group: the default group service (see services/group/controller.h).
//
//   infrakit-group [--name group] [--plugins-dir DIR] [--state-dir DIR] [--resync-period 10s]
//                  [--max-parallel 4] [--metrics-listen 127.0.0.1:9101] [--log 5]
//                  [--store file|etcd://HOST:PORT[,HOST:PORT...]] [--etcd-prefix /infrakit]
//                  [--etcd-lease-ttl 3s] [--advertise IDENTITY] [--peer-listen HOST:PORT]
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "services/group/server/group_server.h"
#include "services/runtime/plugin_server.h"

ABSL_FLAG(std::string, state_dir, "",
          "Directory keeping each group's spec and update progress; created if missing "
          "(default: <InfraKit home>/group/<name>)");
ABSL_FLAG(absl::Duration, resync_period, absl::Seconds(10),
          "Safety-net resync of every group (health, listing where Watch is unavailable, "
          "retries), e.g. 10s");
ABSL_FLAG(int, max_parallel, 4,
          "Per group, creation and destruction calls under way at once (each a batch of up to "
          "128 instances)");

ABSL_FLAG(std::string, store, "file",
          "Where the groups are kept: \"file\" (the state directory) or "
          "\"etcd://HOST:PORT[,HOST:PORT...]\" (shared by the group services on the same "
          "--etcd-prefix; the elected leader alone manages the groups)");
ABSL_FLAG(std::string, etcd_prefix, "/infrakit",
          "With --store etcd://: the key prefix (records <prefix>/groups/<id>, leader key "
          "<prefix>/leader)");
ABSL_FLAG(absl::Duration, etcd_lease_ttl, absl::Seconds(3),
          "With --store etcd://: how long a dead leader keeps leadership (whole seconds)");
ABSL_FLAG(std::string, advertise, "",
          "With --store etcd://: this service's identity as the leader key shows it, named in "
          "followers' errors (default: <hostname> <plugins dir>/<name> pid <pid>)");

ABSL_FLAG(std::string, peer_listen, "",
          "With --store etcd://: HOST:PORT where this service takes the calls other group "
          "services forward to it while it leads (advertised to them through etcd; plaintext "
          "TCP, give it an address only the group services reach). Port 0 picks one. Without "
          "it, followers refuse calls rather than forward them here");

namespace {

// The default --advertise: the host, the socket, and the process.
std::string DefaultIdentity(const std::string& plugins_dir, const std::string& name) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return absl::StrCat(host, " ", plugins_dir, "/", name, " pid ", getpid());
}

}  // namespace

int main(int argc, char** argv) {
  namespace runtime = ::infrakit::services::runtime;
  namespace server = ::infrakit::services::group::server;
  runtime::PluginIdentity identity;
  identity.default_name = "group";
  identity.kind = infrakit::plugin::v1::PLUGIN_KIND_GROUP;
  identity.type = "infrakit.GroupPlugin/1.0";
  identity.binary = "infrakit-group";
  identity.implements = {{"infrakit.group.v1.GroupService", "v1"}};

  const std::vector<std::string> args = runtime::InitPlugin(argc, argv, identity);
  if (args.size() > 1) {
    LOG(ERROR) << "unexpected arguments: " << absl::StrJoin(args.begin() + 1, args.end(), " ");
    return 1;
  }
  runtime::PluginServer plugin_server(identity);

  server::GroupServerOptions options;
  options.plugins_dir = plugin_server.plugins_dir();
  options.state_dir = absl::GetFlag(FLAGS_state_dir);
  if (options.state_dir.empty()) {
    options.state_dir = server::DefaultStateDir(runtime::InfrakitHome(), plugin_server.name());
  }
  options.resync_period = absl::GetFlag(FLAGS_resync_period);
  options.max_parallel = absl::GetFlag(FLAGS_max_parallel);
  options.metrics = plugin_server.metrics();
  options.store = absl::GetFlag(FLAGS_store);
  options.etcd_prefix = absl::GetFlag(FLAGS_etcd_prefix);
  options.lease_ttl = absl::GetFlag(FLAGS_etcd_lease_ttl);
  options.identity = absl::GetFlag(FLAGS_advertise);
  options.peer_listen = absl::GetFlag(FLAGS_peer_listen);
  if (options.identity.empty()) {
    options.identity = DefaultIdentity(plugin_server.plugins_dir(), plugin_server.name());
  }  // nullptr unless --metrics-listen is given

  absl::StatusOr<std::unique_ptr<server::GroupServer>> group = server::GroupServer::Create(options);
  if (!group.ok()) {
    LOG(ERROR) << "group: " << group.status();
    return 1;
  }
  plugin_server.AddService((*group)->service());
  const int code = plugin_server.Run();
  // The gRPC server is down; now the Controller, then its executor (see group_server.h).
  group->reset();
  return code;
}
