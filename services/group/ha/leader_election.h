// Leader election among group services sharing one etcd: a leader key held by a lease.
#ifndef INFRAKIT_SERVICES_GROUP_HA_LEADER_ELECTION_H_
#define INFRAKIT_SERVICES_GROUP_HA_LEADER_ELECTION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/etcd/etcd_client.h"

namespace infrakit::services::group::ha {

struct LeaderElectionOptions {
  // The leader key, "<prefix>/leader". Required.
  std::string leader_key;
  // This service's advertised identity, the leader key's value while it leads. Required.
  std::string identity;
  // The lease's TTL (whole seconds, >= 1): how long a dead leader keeps the key.
  absl::Duration ttl = absl::Seconds(3);
  // Pause before trying again after etcd failed a call.
  absl::Duration retry_pause = absl::Milliseconds(500);
};

// What the owner is told, from the election's own thread, one call at a time and never while
// the election holds a lock. The callbacks must not destroy the election.
struct LeaderElectionCallbacks {
  // This service now leads; `create_revision` is the leader key's, to fence writes on
  // (EtcdStore::SetFence) before acting.
  std::function<void(int64_t create_revision)> on_elected;
  // This service no longer leads (the lease was lost, the leader key vanished or changed hands,
  // or the election is stopping: CANCELLED). Stop acting at once (EtcdStore::ClearFence). Only
  // called after on_elected.
  std::function<void(const absl::Status& why)> on_lost;
};

// Campaigns for leadership: grants a lease of `ttl` kept alive by the client, then creates the
// leader key in a transaction comparing its create_revision with 0 (absent), attached to the
// lease. The winner watches its key and loses leadership when the lease is lost or the key is
// deleted or re-created; a loser (a follower) watches the key and campaigns again when it is
// deleted (the leader's lease expired or was revoked). A campaign whose transaction timed out
// but was applied is recognised (the key carries this service's lease). etcd errors are retried
// after `retry_pause`, forever: the election never gives up.
//
// Stopping (the destructor) tells a leader's owner on_lost(CANCELLED), then revokes the lease so
// that a follower takes over at once rather than after the TTL.
//
// Threading: thread-safe; runs on one thread of its own between Start and the destructor.
class LeaderElection {
 public:
  // `client` is not owned and must outlive the election.
  LeaderElection(etcd::Client* client, LeaderElectionOptions options,
                 LeaderElectionCallbacks callbacks);
  // Stops campaigning or leading (see above) and joins the thread. Do not call from a callback.
  ~LeaderElection();
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  // Starts campaigning. Call once.
  void Start();

  // Whether this service leads now (on_elected was called, on_lost not yet).
  bool IsLeader() const;
  // The identity of the leader as last seen ("" when not known yet or the key is vacant).
  std::string Leader() const;
  // Until when this service's leadership is surely still held (KeepAliveHandle::ValidUntil of
  // its lease); InfinitePast when it does not lead. A leader acts only before this time.
  absl::Time LeadershipValidUntil() const;
  // Why the last attempt to reach etcd failed (lease grant or keepalive, campaign, leader
  // check): UNAVAILABLE / DEADLINE_EXCEEDED while etcd is unreachable or has no majority. OK once
  // etcd answered again.
  absl::Status LastError() const;

 private:
  // Outcome of one campaign.
  struct Campaign {
    bool won = false;
    int64_t create_revision = 0;  // the key's, when won
    int64_t revision = 0;         // the store revision the key was read at, when lost
  };

  void Run();
  // Grants a lease and keeps it alive unless one is held and not lost. False when etcd failed.
  bool EnsureLease();
  // Drops the lease's keepalive (the lease then expires on its own unless revoked).
  void DropLease();
  absl::StatusOr<Campaign> RunCampaign();
  // Leads until leadership is lost or the election stops.
  void Lead(int64_t create_revision);
  // Waits, as a follower, until the leader key is deleted, the watch ends, the lease is lost or
  // the election stops; `revision` is the store revision the key was read at.
  void Follow(int64_t revision);
  // Watches the leader key from `start_revision`; events set the flags below.
  void StartWatch(int64_t start_revision);
  void StopWatch();
  // Blocks until stop_, lease_lost_, key_changed_ or watch_ended_.
  void AwaitEvent();
  bool HasEvent() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Why a leader lost leadership (stop_, lease_lost_, key_changed_); OK when none of them.
  absl::Status WhyLost() const;
  // Blocks for retry_pause or until stop_.
  void Pause();
  bool Stopping() const;
  void SetLeader(bool is_leader, std::string leader);

  etcd::Client* const client_;
  const LeaderElectionOptions options_;
  const LeaderElectionCallbacks callbacks_;

  void SetLastError(absl::Status error);

  // Used by the election's thread only.
  int64_t lease_ = 0;  // 0: none
  // A lease lost while etcd could not be reached, revoked (its key deleted at once rather than
  // after its TTL) as soon as a new lease is granted.
  int64_t stale_lease_ = 0;
  // Written by the election's thread only, under handle_mu_, read by LeadershipValidUntil. The
  // handle is destroyed outside the lock (its destructor joins the keepalive thread).
  mutable absl::Mutex handle_mu_;
  std::unique_ptr<etcd::KeepAliveHandle> keepalive_ ABSL_GUARDED_BY(handle_mu_);
  std::unique_ptr<etcd::WatchHandle> watch_;
  int64_t watched_create_revision_ = 0;  // the leader's key, for a leader's watch; 0 otherwise
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool lease_lost_ ABSL_GUARDED_BY(mu_) = false;
  bool key_changed_ ABSL_GUARDED_BY(mu_) = false;  // deleted, or re-created by another
  bool watch_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool is_leader_ ABSL_GUARDED_BY(mu_) = false;
  std::string leader_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group::ha

#endif  // INFRAKIT_SERVICES_GROUP_HA_LEADER_ELECTION_H_
