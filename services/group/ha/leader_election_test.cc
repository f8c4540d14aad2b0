// LeaderElection against a real one-member etcd on 127.0.0.31 (skipped without etcd): one of
// two elections wins, the other follows and takes over when the winner's lease is revoked or
// its keepalives stop; a stale leader's fenced writes fail.
#include "services/group/ha/leader_election.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/etcd/grpc_etcd_client.h"
#include "gtest/gtest.h"
#include "services/group/etcd_store.h"
#include "services/group/testing/store_conformance.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/wait_for.h"

namespace infrakit::services::group::ha {
namespace {

using ::infrakit::testing::EtcdCluster;
using ::infrakit::testing::WaitFor;

constexpr char kLeaderKey[] = "/ik/leader";
const absl::Duration kTtl = absl::Seconds(2);

// What the election holds of a FreezableClient's keepalive: a lease it can never confirm (the
// real keepalive, kept by the client, may be frozen at any moment).
class UnconfirmedHandle : public etcd::KeepAliveHandle {
 public:
  absl::Time ValidUntil() const override { return absl::InfinitePast(); }
};

// A Client whose keepalives can be stopped (as when the process is paused): forwards every call
// to the real client and keeps the keepalive handles, dropping them on Freeze.
class FreezableClient : public etcd::Client {
 public:
  explicit FreezableClient(etcd::Client* real) : real_(real) {}
  ~FreezableClient() override { Freeze(); }

  // Stops every keepalive without telling their owners.
  void Freeze() {
    std::vector<std::unique_ptr<etcd::KeepAliveHandle>> handles;
    {
      absl::MutexLock lock(&mu_);
      handles.swap(handles_);
    }
  }

  absl::StatusOr<etcd::RangeResult> Range(absl::string_view key,
                                          absl::string_view range_end) override {
    return real_->Range(key, range_end);
  }
  absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view value,
                              int64_t lease) override {
    return real_->Put(key, value, lease);
  }
  absl::StatusOr<etcd::TxnResult> Txn(const std::vector<etcd::Compare>& compares,
                                      const std::vector<etcd::Op>& success,
                                      const std::vector<etcd::Op>& failure) override {
    return real_->Txn(compares, success, failure);
  }
  absl::StatusOr<int64_t> LeaseGrant(absl::Duration ttl) override { return real_->LeaseGrant(ttl); }
  absl::Status LeaseRevoke(int64_t id) override { return real_->LeaseRevoke(id); }
  std::unique_ptr<etcd::KeepAliveHandle> KeepAlive(
      int64_t id, absl::Duration ttl, std::function<void(const absl::Status&)> on_lost) override {
    absl::MutexLock lock(&mu_);
    handles_.push_back(real_->KeepAlive(id, ttl, std::move(on_lost)));
    return std::make_unique<UnconfirmedHandle>();
  }
  std::unique_ptr<etcd::WatchHandle> Watch(
      absl::string_view key, absl::string_view range_end, int64_t start_revision,
      std::function<void(const etcd::WatchUpdate&)> on_update) override {
    return real_->Watch(key, range_end, start_revision, std::move(on_update));
  }

 private:
  etcd::Client* const real_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<etcd::KeepAliveHandle>> handles_ ABSL_GUARDED_BY(mu_);
};

// One participant: its election and a store fenced as an owner would fence it.
struct Participant {
  Participant(etcd::Client* client, const std::string& name) : store(client, "/ik") {
    LeaderElectionOptions options;
    options.leader_key = kLeaderKey;
    options.identity = name;
    options.ttl = kTtl;
    options.retry_pause = absl::Milliseconds(100);
    LeaderElectionCallbacks callbacks;
    callbacks.on_elected = [this](int64_t revision) {
      store.SetFence(kLeaderKey, revision);
      absl::MutexLock lock(&mu);
      fence = revision;
      ++elected;
    };
    callbacks.on_lost = [this](const absl::Status&) {
      store.ClearFence();
      absl::MutexLock lock(&mu);
      ++lost;
    };
    election = std::make_unique<LeaderElection>(client, options, std::move(callbacks));
  }
  int Elected() {
    absl::MutexLock lock(&mu);
    return elected;
  }
  int Lost() {
    absl::MutexLock lock(&mu);
    return lost;
  }
  int64_t Fence() {
    absl::MutexLock lock(&mu);
    return fence;
  }

  EtcdStore store;
  absl::Mutex mu;
  int elected ABSL_GUARDED_BY(mu) = 0;
  int lost ABSL_GUARDED_BY(mu) = 0;
  int64_t fence ABSL_GUARDED_BY(mu) = 0;
  std::unique_ptr<LeaderElection> election;  // last: destroyed first
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdCluster::Installed()) GTEST_SKIP() << EtcdCluster::kNotInstalled;
    etcd_ = std::make_unique<EtcdCluster>(1);
    absl::Status started = etcd_->Start();
    ASSERT_TRUE(started.ok()) << started;
    auto client = etcd::GrpcEtcdClient::Create(etcd_->Endpoints());
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
    frozen_a_ = std::make_unique<FreezableClient>(client_.get());
    a_ = std::make_unique<Participant>(frozen_a_.get(), "a");
    b_ = std::make_unique<Participant>(client_.get(), "b");
    a_->election->Start();
    ASSERT_TRUE(WaitFor([&] { return a_->election->IsLeader(); }, absl::Seconds(10)));
    b_->election->Start();
    ASSERT_TRUE(WaitFor([&] { return b_->election->Leader() == "a"; }, absl::Seconds(10)));
  }

  void TearDown() override {
    b_.reset();
    a_.reset();
    frozen_a_.reset();
  }

  // Waits for b to take over; returns how long it took from `since`.
  absl::Duration AwaitTakeover(absl::Time since) {
    EXPECT_TRUE(WaitFor([&] { return b_->election->IsLeader(); }, kTtl + absl::Seconds(1)));
    const absl::Duration took = absl::Now() - since;
    std::cerr << "takeover in " << absl::FormatDuration(took) << "\n";
    return took;
  }

  std::unique_ptr<EtcdCluster> etcd_;
  std::unique_ptr<etcd::GrpcEtcdClient> client_;
  std::unique_ptr<FreezableClient> frozen_a_;
  std::unique_ptr<Participant> a_;
  std::unique_ptr<Participant> b_;
};

TEST_F(LeaderElectionTest, OneWinsTheOtherFollows) {
  EXPECT_EQ(a_->Elected(), 1);
  EXPECT_EQ(a_->election->Leader(), "a");
  EXPECT_FALSE(b_->election->IsLeader());
  EXPECT_EQ(b_->Elected(), 0);
  auto key = client_->Range(kLeaderKey, "");
  ASSERT_TRUE(key.ok());
  ASSERT_EQ(key->kvs.size(), 1u);
  EXPECT_EQ(key->kvs[0].value, "a");
  EXPECT_EQ(key->kvs[0].create_revision, a_->Fence());
  EXPECT_TRUE(a_->store.Put(testing::ConformanceRecord("cattle", 3)).ok());
  EXPECT_EQ(b_->store.Put(testing::ConformanceRecord("cattle", 4)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(LeaderElectionTest, ARevokedLeaseHandsOverAtOnce) {
  auto key = client_->Range(kLeaderKey, "");
  ASSERT_TRUE(key.ok() && key->kvs.size() == 1u);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(client_->LeaseRevoke(key->kvs[0].lease).ok());
  AwaitTakeover(start);
  EXPECT_TRUE(WaitFor([&] { return a_->Lost() == 1; }, absl::Seconds(2)));
  EXPECT_TRUE(WaitFor([&] { return a_->election->Leader() == "b"; }, absl::Seconds(5)));
}

TEST_F(LeaderElectionTest, StoppedKeepalivesHandOverWithinTheTtl) {
  ASSERT_TRUE(a_->store.Put(testing::ConformanceRecord("cattle", 3)).ok());
  EtcdStore stale(client_.get(), "/ik");  // a's store, never told it lost
  stale.SetFence(kLeaderKey, a_->Fence());
  const absl::Time start = absl::Now();
  frozen_a_->Freeze();
  AwaitTakeover(start);
  EXPECT_TRUE(
      WaitFor([&] { return a_->Lost() == 1 && !a_->election->IsLeader(); }, absl::Seconds(2)));

  absl::Status write = stale.Put(testing::ConformanceRecord("cattle", 9));
  EXPECT_EQ(write.code(), absl::StatusCode::kFailedPrecondition) << write;
  EXPECT_EQ(a_->store.Put(testing::ConformanceRecord("cattle", 9)).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(b_->store.Put(testing::ConformanceRecord("cattle", 4)).ok());
  auto loaded = b_->store.LoadAll();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].spec().allocation().size(), 4);
}

TEST_F(LeaderElectionTest, AStoppedLeaderResignsAndTellsItsOwner) {
  const absl::Time start = absl::Now();
  a_->election.reset();
  EXPECT_EQ(a_->Lost(), 1);
  AwaitTakeover(start);
  EXPECT_LT(absl::Now() - start, kTtl);  // the lease was revoked, not left to expire
}

}  // namespace
}  // namespace infrakit::services::group::ha
