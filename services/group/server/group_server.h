// The wiring of the infrakit-group binary, kept out of main.cc so that it is tested: the
// plugin resolver over the plugins directory, the state directory (file store, locked against a
// second group service), the real clock, the thread-pool executor, the Controller and the
// GroupService adapter, created and destroyed in the order controller.h requires.
#ifndef INFRAKIT_SERVICES_GROUP_SERVER_GROUP_SERVER_H_
#define INFRAKIT_SERVICES_GROUP_SERVER_GROUP_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/resolver.h"
#include "common/etcd/grpc_etcd_client.h"
#include "common/metrics.h"
#include "services/group/controller.h"
#include "services/group/etcd_store.h"
#include "services/group/file_store.h"
#include "services/group/ha/gated_resolver.h"
#include "services/group/ha/leader_election.h"
#include "services/group/ha/leader_value.h"
#include "services/group/ha/store_mirror.h"
#include "services/group/real_clock.h"
#include "services/group/server/active_controller.h"
#include "services/group/server/group_metrics.h"
#include "services/group/server/group_service.h"
#include "services/group/server/leader_forwarder.h"
#include "services/group/thread_pool_executor.h"

namespace infrakit::services::group::server {

struct GroupServerOptions {
  // Where instance and flavor plugins' sockets are (the group service's own plugins dir).
  std::string plugins_dir;
  // The state directory (created 0700 if missing): one record per group. Required with the
  // file store.
  std::string state_dir;
  // Flag --store: "" or "file" for the state directory; "etcd://HOST:PORT[,HOST:PORT...]" to
  // keep the groups in etcd, shared by every group service on the same --etcd-prefix, of which
  // the elected leader alone manages them.
  std::string store;
  // Flag --etcd-prefix: the records are "<prefix>/groups/<id>", the leader key "<prefix>/leader".
  std::string etcd_prefix = "/infrakit";
  // Flag --etcd-lease-ttl: how long a dead leader keeps leadership (whole seconds, >= 1).
  absl::Duration lease_ttl = absl::Seconds(3);
  // This service's advertised identity, the leader key's value while it leads (etcd store); one
  // line, not empty.
  std::string identity;
  // Flag --peer-listen (etcd store): HOST:PORT where this service takes the calls other group
  // services forward to it while it leads, advertised in the leader key (port 0: one is chosen;
  // the host is what followers connect to, so not 0.0.0.0). Plaintext TCP, for group services
  // only: give it an address only they can reach. "": this service takes no forwarded calls
  // (followers then refuse calls, naming it) but still forwards its own.
  std::string peer_listen;
  // Flag --resync-period; > 0.
  absl::Duration resync_period = absl::Seconds(10);
  // Flag --max-parallel: per group, creation and destruction calls (batches) under way at
  // once; >= 1. 4 measured best on 2 cores (tools/bench: 8 was slower and used 8 more threads).
  int max_parallel = 4;
  // Where the Controller's counts and the groups' sizes are reported (group_metrics.h); not
  // owned, must outlive the GroupServer. nullptr: metrics are off.
  metrics::Registry* metrics = nullptr;
};

// The state directory of group service `name` when --state-dir is not given:
// "<InfraKit home>/group/<name>", so that two group services under different names never share
// (or fight over) state.
std::string DefaultStateDir(absl::string_view infrakit_home, absl::string_view name);

// Threads of the Controller's executor for `max_parallel`: enough for every group's creations
// and destructions under way plus health checks and reconciles, which are plugin calls that
// block.
int ExecutorThreads(int max_parallel);

// Owns everything the group service runs on. Not thread-safe itself (create, use service(),
// destroy from one thread); the service it exposes is.
class GroupServer {
 public:
  // Checks the options, opens and locks the state directory, and starts the Controller, which
  // resumes every stored group. Errors (nothing is left running): INVALID_ARGUMENT naming the
  // flag (--state-dir, --resync-period, --max-parallel); the store's errors naming the path;
  // FAILED_PRECONDITION when another group service holds the state directory; the Controller's
  // Start error for a corrupt or unreadable record, naming it (the service must refuse to start
  // rather than forget a group).
  //
  // With the etcd store (options.store "etcd://..."), no state directory is used: Create starts
  // the leader election and returns at once; while this service leads it runs a Controller
  // resuming every group in etcd (a Controller that cannot start is logged and the service
  // serves as a follower until the next election), and while it follows the service refuses
  // calls (group_service.h). INVALID_ARGUMENT for a bad --store, --etcd-prefix,
  // --etcd-lease-ttl, --advertise or --peer-listen; UNAVAILABLE when it cannot listen there.
  //
  // With the etcd store, a leader acts (calls plugins) only while its lease is confirmed
  // (ha::GatedResolver); a leader whose Controller cannot resume the groups reports it in
  // ListGroups and the log and tries again every second while it leads; a follower lists the
  // groups from its copy of the records in etcd (ha::StoreMirror, kept by every service) and
  // forwards every other call to the leader (leader_forwarder.h). Writes the store refuses for
  // want of leadership are counted in infrakit_group_store_writes_refused_total{by} (metrics on).
  static absl::StatusOr<std::unique_ptr<GroupServer>> Create(GroupServerOptions options);

  // Shuts the Controller down (streams end UNAVAILABLE), destroys the service (its pool
  // finishes releasing subscriptions), the Controller, then stops the executor and the clock.
  // Call after the gRPC server has shut down. Instances are left as they are. Calls to plugins
  // still under way are cancelled (SocketResolver::CancelCalls), so a plugin that hangs does not
  // hold the exit up to the call deadline.
  ~GroupServer();

  GroupServer(const GroupServer&) = delete;
  GroupServer& operator=(const GroupServer&) = delete;

  // The GroupService to register with the gRPC server.
  GroupService* service() { return service_.get(); }
  // The Controller (for tests); null with the etcd store.
  Controller* controller() { return controller_.get(); }
  // Whether this service runs the Controller: always with the file store; while it leads with
  // the etcd store.
  bool Leads() const { return active_ == nullptr || !active_->Following(); }
  const std::string& state_dir() const { return state_dir_; }
  // The port of --peer-listen (the chosen one for port 0); 0 when not listening.
  int peer_port() const { return peer_port_; }

 private:
  GroupServer() = default;
  absl::Status StartFileStore(const GroupServerOptions& options);
  absl::Status StartEtcdStore(const GroupServerOptions& options);
  // The election's callbacks: fence (or unfence) the store at once, and hand the Controller's
  // start (or stop) to the leadership thread, which may block.
  void OnElected(int64_t create_revision);
  void OnLost();
  // The leadership thread: starts a Controller for each term this service leads, shuts it down
  // when the term ends.
  void RunLeadership();
  // Starts this term's Controller; false (reported) when it cannot resume the groups.
  bool StartTerm();
  void EndTerm();
  // Listens on --peer-listen with a GroupService that never forwards.
  absl::Status StartPeerServer(const std::string& listen);
  // ListGroupsResponse.status (active_controller.h).
  std::string HaStatus();
  // OK while this service may call plugins: it leads and its lease is confirmed.
  absl::Status MayAct();
  // The leader as the election last saw it, decoded; empty when none or stopping.
  ha::LeaderValue LeaderSeen();
  // Where a call this service cannot serve goes: the leader, or UNAVAILABLE when this service
  // leads but its Controller cannot start.
  absl::StatusOr<ha::LeaderValue> ForwardTo();

  std::string state_dir_;
  // The flock'ed "<state_dir>/.lock" (hidden, so the store ignores it); -1 when not held.
  int lock_fd_ = -1;
  // Declared in construction order; destroyed explicitly in ~GroupServer.
  std::unique_ptr<GroupMetrics> metrics_;  // null when metrics are off
  std::unique_ptr<client::SocketResolver> resolver_;
  std::unique_ptr<FileStore> store_;
  ControllerOptions controller_options_;
  // The etcd store's: client, store, the leader key, election and leadership thread.
  std::unique_ptr<etcd::GrpcEtcdClient> etcd_client_;
  std::unique_ptr<EtcdStore> etcd_store_;
  // The copy of the groups a follower answers ListGroups from; kept while leading too, so that
  // a service that steps down answers at once.
  std::unique_ptr<ha::StoreMirror> mirror_;
  std::string leader_key_;
  std::unique_ptr<ha::LeaderElection> election_;
  std::unique_ptr<ha::GatedResolver> gated_resolver_;
  std::unique_ptr<LeaderForwarder> forwarder_;
  std::unique_ptr<GroupService> peer_service_;
  std::unique_ptr<grpc::Server> peer_server_;
  int peer_port_ = 0;
  std::thread leadership_thread_;
  absl::Mutex mu_;
  int64_t wanted_term_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by each OnElected and OnLost
  bool want_leading_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Why this term's Controller could not start ("" when it runs or no term is led).
  std::string term_error_ ABSL_GUARDED_BY(mu_);
  // election_ while it may be asked who leads (ActiveController's errors); null once stopping.
  // Asked under mu_ (the election's callbacks never hold its own lock, so no lock order issue).
  ha::LeaderElection* running_election_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::unique_ptr<RealClock> clock_;
  std::unique_ptr<ThreadPoolExecutor> executor_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<ActiveController> active_;  // etcd store only
  std::unique_ptr<GroupService> service_;
};

}  // namespace infrakit::services::group::server

#endif  // INFRAKIT_SERVICES_GROUP_SERVER_GROUP_SERVER_H_
