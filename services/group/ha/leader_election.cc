#include "services/group/ha/leader_election.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace infrakit::services::group::ha {

LeaderElection::LeaderElection(etcd::Client* client, LeaderElectionOptions options,
                               LeaderElectionCallbacks callbacks)
    : client_(client), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

LeaderElection::~LeaderElection() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void LeaderElection::Start() {
  thread_ = std::thread([this] { Run(); });
}

bool LeaderElection::IsLeader() const {
  absl::MutexLock lock(&mu_);
  return is_leader_;
}

std::string LeaderElection::Leader() const {
  absl::MutexLock lock(&mu_);
  return leader_;
}

absl::Time LeaderElection::LeadershipValidUntil() const {
  {
    absl::MutexLock lock(&mu_);
    if (!is_leader_) return absl::InfinitePast();
  }
  absl::MutexLock lock(&handle_mu_);
  return keepalive_ != nullptr ? keepalive_->ValidUntil() : absl::InfinitePast();
}

absl::Status LeaderElection::LastError() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

void LeaderElection::SetLastError(absl::Status error) {
  absl::MutexLock lock(&mu_);
  last_error_ = std::move(error);
}

bool LeaderElection::Stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

void LeaderElection::SetLeader(bool is_leader, std::string leader) {
  absl::MutexLock lock(&mu_);
  is_leader_ = is_leader;
  leader_ = std::move(leader);
}

void LeaderElection::Run() {
  while (!Stopping()) {
    if (!EnsureLease()) {
      Pause();
      continue;
    }
    absl::StatusOr<Campaign> campaign = RunCampaign();
    SetLastError(campaign.status());
    if (!campaign.ok()) {
      LOG(WARNING) << "leader election: campaign for " << options_.leader_key
                   << " failed: " << campaign.status();
      if (campaign.status().code() == absl::StatusCode::kNotFound) DropLease();  // expired
      Pause();
      continue;
    }
    if (campaign->won) {
      Lead(campaign->create_revision);
    } else {
      Follow(campaign->revision);
    }
  }
  DropLease();
  if (lease_ != 0) {
    // Resign: deleting the key now lets a follower take over without waiting for the TTL.
    absl::Status revoked = client_->LeaseRevoke(lease_);
    if (!revoked.ok()) LOG(WARNING) << "leader election: cannot revoke lease: " << revoked;
    lease_ = 0;
  }
}

bool LeaderElection::EnsureLease() {
  bool lost;
  {
    absl::MutexLock lock(&mu_);
    lost = lease_lost_;
  }
  if (lost) {
    DropLease();
    stale_lease_ = lease_;
    lease_ = 0;
  }
  if (lease_ != 0) return true;
  absl::StatusOr<int64_t> lease = client_->LeaseGrant(options_.ttl);
  if (!lease.ok()) {
    LOG(WARNING) << "leader election: cannot grant a lease: " << lease.status();
    SetLastError(absl::Status(lease.status().code(),
                              absl::StrCat("cannot grant a lease: ", lease.status().message())));
    return false;
  }
  lease_ = *lease;
  std::unique_ptr<etcd::KeepAliveHandle> keepalive =
      client_->KeepAlive(lease_, options_.ttl, [this](const absl::Status& why) {
        LOG(WARNING) << "leader election: lease lost: " << why;
        absl::MutexLock lock(&mu_);
        lease_lost_ = true;
        last_error_ = absl::Status(why.code(), absl::StrCat("lease lost: ", why.message()));
      });
  {
    absl::MutexLock lock(&handle_mu_);
    keepalive_ = std::move(keepalive);
  }
  if (stale_lease_ != 0) {
    // The old leader key, if this service held it, goes now rather than after its TTL, which
    // etcd restarts when its majority comes back.
    absl::Status revoked = client_->LeaseRevoke(stale_lease_);
    if (!revoked.ok()) VLOG(1) << "leader election: cannot revoke the lost lease: " << revoked;
    stale_lease_ = 0;
  }
  return true;
}

void LeaderElection::DropLease() {
  std::unique_ptr<etcd::KeepAliveHandle> keepalive;
  {
    absl::MutexLock lock(&handle_mu_);
    keepalive = std::move(keepalive_);
  }
  keepalive.reset();  // its callback is not running and never runs again
  absl::MutexLock lock(&mu_);
  lease_lost_ = false;
}

absl::StatusOr<LeaderElection::Campaign> LeaderElection::RunCampaign() {
  const std::string& key = options_.leader_key;
  absl::StatusOr<etcd::TxnResult> txn =
      client_->Txn({etcd::Compare::CreateRevisionIs(key, 0)},
                   {etcd::Op::Put(key, options_.identity, lease_)}, {});
  if (!txn.ok()) return txn.status();
  Campaign campaign;
  if (txn->succeeded) {
    campaign.won = true;
    campaign.create_revision = txn->revision;
    return campaign;
  }
  absl::StatusOr<etcd::RangeResult> range = client_->Range(key, "");
  if (!range.ok()) return range.status();
  campaign.revision = range->revision;
  if (range->kvs.empty()) {
    SetLeader(false, "");
    return campaign;  // vacant again: following from here campaigns at the next change
  }
  const etcd::KeyValue& kv = range->kvs[0];
  if (kv.lease == lease_) {
    // An earlier campaign's transaction timed out but was applied: this service leads.
    campaign.won = true;
    campaign.create_revision = kv.create_revision;
    return campaign;
  }
  SetLeader(false, kv.value);
  return campaign;
}

void LeaderElection::Lead(int64_t create_revision) {
  LOG(INFO) << "leader election: " << options_.identity << " leads (" << options_.leader_key
            << " created at revision " << create_revision << ")";
  SetLeader(true, options_.identity);
  if (callbacks_.on_elected) callbacks_.on_elected(create_revision);
  watched_create_revision_ = create_revision;
  int64_t from = create_revision + 1;
  absl::Status why;
  while (why.ok()) {
    StartWatch(from);
    AwaitEvent();
    StopWatch();
    why = WhyLost();
    if (why.ok()) {
      // The watch ended (its revision was compacted): check the key and watch again.
      absl::StatusOr<etcd::RangeResult> range = client_->Range(options_.leader_key, "");
      if (!range.ok()) {
        SetLastError(range.status());
        why = absl::UnavailableError(
            absl::StrCat("cannot check ", options_.leader_key, ": ", range.status().message()));
      } else if (range->kvs.empty() || range->kvs[0].create_revision != create_revision) {
        why = absl::AbortedError(absl::StrCat(options_.leader_key, " was deleted or replaced"));
      } else {
        from = range->revision + 1;
      }
    }
  }
  watched_create_revision_ = 0;
  SetLeader(false, "");
  LOG(WARNING) << "leader election: " << options_.identity << " no longer leads: " << why;
  if (callbacks_.on_lost) callbacks_.on_lost(why);
}

void LeaderElection::Follow(int64_t revision) {
  StartWatch(revision + 1);
  AwaitEvent();
  StopWatch();
}

void LeaderElection::StartWatch(int64_t start_revision) {
  {
    absl::MutexLock lock(&mu_);
    key_changed_ = false;
    watch_ended_ = false;
  }
  const int64_t mine = watched_create_revision_;
  watch_ = client_->Watch(options_.leader_key, "", start_revision,
                          [this, mine](const etcd::WatchUpdate& update) {
                            absl::MutexLock lock(&mu_);
                            if (!update.status.ok()) {
                              watch_ended_ = true;
                              return;
                            }
                            for (const etcd::WatchEvent& event : update.events) {
                              if (event.type == etcd::WatchEvent::Type::kDelete ||
                                  (mine != 0 && event.kv.create_revision != mine)) {
                                key_changed_ = true;
                              }
                            }
                          });
}

void LeaderElection::StopWatch() {
  watch_.reset();  // its callback is not running and never runs again
}

absl::Status LeaderElection::WhyLost() const {
  absl::MutexLock lock(&mu_);
  if (stop_) return absl::CancelledError("the election is stopping");
  if (lease_lost_) return absl::UnavailableError("the lease was lost");
  if (key_changed_) {
    return absl::AbortedError(absl::StrCat(options_.leader_key, " was deleted or replaced"));
  }
  return absl::OkStatus();
}

bool LeaderElection::HasEvent() const {
  return stop_ || lease_lost_ || key_changed_ || watch_ended_;
}

void LeaderElection::AwaitEvent() {
  absl::MutexLock lock(&mu_, absl::Condition(this, &LeaderElection::HasEvent));
}

void LeaderElection::Pause() {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.retry_pause);
}

}  // namespace infrakit::services::group::ha
