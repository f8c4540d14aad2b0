// GrpcEtcdClient against a real one-member etcd on 127.0.0.31 (skipped without etcd).
#include "common/etcd/grpc_etcd_client.h"

#include <signal.h>

#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/wait_for.h"

namespace infrakit::etcd {
namespace {

using ::infrakit::testing::EtcdCluster;
using ::infrakit::testing::WaitFor;

// Collects what a watch delivers.
class Collected {
 public:
  void Add(const WatchUpdate& update) {
    absl::MutexLock lock(&mu_);
    if (!update.status.ok()) end_ = update.status;
    for (const WatchEvent& e : update.events) {
      keys_.push_back((e.type == WatchEvent::Type::kDelete ? "-" : "") + e.kv.key + "=" +
                      e.kv.value);
    }
  }
  std::vector<std::string> keys() const {
    absl::MutexLock lock(&mu_);
    return keys_;
  }
  absl::Status end() const {
    absl::MutexLock lock(&mu_);
    return end_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> keys_ ABSL_GUARDED_BY(mu_);
  absl::Status end_ ABSL_GUARDED_BY(mu_);
};

class GrpcEtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdCluster::Installed()) GTEST_SKIP() << EtcdCluster::kNotInstalled;
    etcd_ = std::make_unique<EtcdCluster>(1);
    absl::Status started = etcd_->Start();
    ASSERT_TRUE(started.ok()) << started << "\n" << etcd_->Stderr(0);
    absl::StatusOr<std::unique_ptr<GrpcEtcdClient>> client =
        GrpcEtcdClient::Create(etcd_->Endpoints());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  std::unique_ptr<EtcdCluster> etcd_;
  std::unique_ptr<GrpcEtcdClient> client_;
};

TEST_F(GrpcEtcdClientTest, PutRangeOrderedByKey) {
  ASSERT_TRUE(client_->Put("/t/b", "2", 0).ok());
  absl::StatusOr<int64_t> rev = client_->Put("/t/a", "1", 0);
  ASSERT_TRUE(rev.ok()) << rev.status();
  ASSERT_TRUE(client_->Put("/u", "x", 0).ok());
  absl::StatusOr<RangeResult> range = client_->Range("/t/", PrefixEnd("/t/"));
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_EQ(range->kvs.size(), 2u);
  EXPECT_EQ(range->kvs[0].key, "/t/a");
  EXPECT_EQ(range->kvs[0].value, "1");
  EXPECT_EQ(range->kvs[0].create_revision, *rev);
  EXPECT_EQ(range->kvs[1].key, "/t/b");
  EXPECT_GE(range->revision, *rev + 1);
  absl::StatusOr<RangeResult> missing = client_->Range("/nothing", "");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->kvs.empty());
}

TEST_F(GrpcEtcdClientTest, TxnComparesCreateModRevisionAndValue) {
  const std::vector<Compare> absent = {Compare::CreateRevisionIs("/leader", 0)};
  absl::StatusOr<TxnResult> first = client_->Txn(absent, {Op::Put("/leader", "me")}, {});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->succeeded);
  absl::StatusOr<TxnResult> second = client_->Txn(absent, {Op::Put("/leader", "you")}, {});
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->succeeded);
  absl::StatusOr<RangeResult> leader = client_->Range("/leader", "");
  ASSERT_TRUE(leader.ok());
  ASSERT_EQ(leader->kvs.size(), 1u);
  EXPECT_EQ(leader->kvs[0].value, "me");
  EXPECT_EQ(leader->kvs[0].create_revision, first->revision);

  // Fenced on the leader key's create_revision: holds while the key lives, fails after.
  const std::vector<Compare> fence = {Compare::CreateRevisionIs("/leader", first->revision)};
  absl::StatusOr<TxnResult> fenced = client_->Txn(fence, {Op::Put("/data", "1")}, {});
  ASSERT_TRUE(fenced.ok());
  EXPECT_TRUE(fenced->succeeded);
  ASSERT_TRUE(client_->Txn({}, {Op::Delete("/leader")}, {}).ok());
  ASSERT_TRUE(client_->Txn(absent, {Op::Put("/leader", "other")}, {}).ok());
  fenced = client_->Txn(fence, {Op::Put("/data", "2")}, {Op::Put("/fence-failed", "y")});
  ASSERT_TRUE(fenced.ok());
  EXPECT_FALSE(fenced->succeeded);
  EXPECT_EQ(client_->Range("/data", "")->kvs[0].value, "1");
  EXPECT_EQ(client_->Range("/fence-failed", "")->kvs.size(), 1u);

  absl::StatusOr<RangeResult> data = client_->Range("/data", "");
  EXPECT_TRUE(client_
                  ->Txn({Compare::ModRevisionIs("/data", data->kvs[0].mod_revision)},
                        {Op::Put("/data", "3")}, {})
                  ->succeeded);
  EXPECT_FALSE(client_
                   ->Txn({Compare::ModRevisionIs("/data", data->kvs[0].mod_revision)},
                         {Op::Put("/data", "4")}, {})
                   ->succeeded);
  EXPECT_TRUE(client_->Txn({Compare::ValueIs("/data", "3")}, {}, {})->succeeded);
  EXPECT_FALSE(client_->Txn({Compare::ValueIs("/data", "4")}, {}, {})->succeeded);
}

TEST_F(GrpcEtcdClientTest, KeepAliveHoldsTheLeaseAndItsKeysVanishWithoutIt) {
  absl::StatusOr<int64_t> lease = client_->LeaseGrant(absl::Seconds(2));
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(client_->Put("/leased", "x", *lease).ok());
  absl::Mutex mu;
  bool lost = false;
  auto keeper = client_->KeepAlive(*lease, absl::Seconds(2), [&](const absl::Status&) {
    absl::MutexLock lock(&mu);
    lost = true;
  });
  // Past two TTLs the key is still there: the keepalives renewed it.
  const absl::Time until = absl::Now() + absl::Seconds(5);
  EXPECT_FALSE(WaitFor([&] { return client_->Range("/leased", "")->kvs.empty(); },
                       until - absl::Now(), absl::Milliseconds(200)));
  {
    absl::MutexLock lock(&mu);
    EXPECT_FALSE(lost);
  }
  // Confirmed by the renewals: without them it would have ended 2 s after the grant.
  EXPECT_GT(keeper->ValidUntil(), absl::Now());
  keeper.reset();
  EXPECT_TRUE(WaitFor([&] { return client_->Range("/leased", "")->kvs.empty(); }, absl::Seconds(10),
                      absl::Milliseconds(50)));
  // Putting on the expired lease is NOT_FOUND.
  EXPECT_EQ(client_->Put("/leased", "y", *lease).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(GrpcEtcdClientTest, KeepAliveReportsARevokedLeaseAsNotFound) {
  absl::StatusOr<int64_t> lease = client_->LeaseGrant(absl::Seconds(3));
  ASSERT_TRUE(lease.ok());
  absl::Mutex mu;
  absl::Status lost;
  bool called = false;
  auto keeper = client_->KeepAlive(*lease, absl::Seconds(3), [&](const absl::Status& s) {
    absl::MutexLock lock(&mu);
    lost = s;
    called = true;
  });
  ASSERT_TRUE(client_->LeaseRevoke(*lease).ok());
  ASSERT_TRUE(client_->LeaseRevoke(*lease).ok());  // already gone: OK
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&called), absl::Seconds(5)));
  EXPECT_EQ(lost.code(), absl::StatusCode::kNotFound) << lost;
  EXPECT_EQ(keeper->ValidUntil(), absl::InfinitePast());
}

TEST_F(GrpcEtcdClientTest, KeepAliveGivesUpWithinTheTtlWhenEtcdIsGone) {
  absl::StatusOr<int64_t> lease = client_->LeaseGrant(absl::Seconds(2));
  ASSERT_TRUE(lease.ok());
  absl::Mutex mu;
  absl::Status lost;
  bool called = false;
  auto keeper = client_->KeepAlive(*lease, absl::Seconds(2), [&](const absl::Status& s) {
    absl::MutexLock lock(&mu);
    lost = s;
    called = true;
  });
  const absl::Time killed = absl::Now();
  etcd_->KillMember(0);
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&called), absl::Seconds(5)));
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  EXPECT_LE(absl::Now() - killed, absl::Seconds(3));  // the TTL + one call's deadline
  EXPECT_EQ(keeper->ValidUntil(), absl::InfinitePast());
}

TEST_F(GrpcEtcdClientTest, WatchReplaysFromARevisionAndResumesAfterTheMemberRestarts) {
  absl::StatusOr<int64_t> first = client_->Put("/w/a", "1", 0);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(client_->Put("/w/b", "2", 0).ok());
  ASSERT_TRUE(client_->Put("/x", "ignored", 0).ok());
  Collected seen;
  auto watch =
      client_->Watch("/w/", PrefixEnd("/w/"), *first, [&](const WatchUpdate& u) { seen.Add(u); });
  ASSERT_TRUE(WaitFor([&] { return seen.keys().size() == 2; }, absl::Seconds(5)));
  ASSERT_TRUE(client_->Txn({}, {Op::Delete("/w/a")}, {}).ok());
  ASSERT_TRUE(WaitFor([&] { return seen.keys().size() == 3; }, absl::Seconds(5)));

  // The member dies under the stream and comes back: the watch resumes after /w/a's deletion,
  // so nothing is delivered twice and the next change arrives.
  etcd_->KillMember(0);
  ASSERT_TRUE(etcd_->StartMember(0).ok());
  ASSERT_TRUE(etcd_->WaitHealthy(absl::Seconds(20)).ok());
  ASSERT_TRUE(client_->Put("/w/c", "3", 0).ok());
  ASSERT_TRUE(WaitFor([&] { return seen.keys().size() >= 4; }, absl::Seconds(10)));
  EXPECT_EQ(seen.keys(), (std::vector<std::string>{"/w/a=1", "/w/b=2", "-/w/a=", "/w/c=3"}));
  EXPECT_TRUE(seen.end().ok());
}

TEST_F(GrpcEtcdClientTest, CallsFailOverFromADeadMember) {
  // 127.0.0.39 runs no etcd: the first call there is refused and goes on to .31.
  absl::StatusOr<std::unique_ptr<GrpcEtcdClient>> client =
      GrpcEtcdClient::Create("127.0.0.39:2379," + etcd_->Endpoints());
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE((*client)->Put("/f", "1", 0).ok());
  EXPECT_TRUE((*client)->Range("/f", "").ok());
  Collected seen;
  auto watch = (*client)->Watch("/f", "", 0, [&](const WatchUpdate& u) { seen.Add(u); });
  // The watch "from now" may still be opening: keep writing until it sees one.
  int n = 0;
  EXPECT_TRUE(WaitFor(
      [&] {
        (*client)->Put("/f", std::to_string(++n), 0).IgnoreError();
        return !seen.keys().empty();
      },
      absl::Seconds(5), absl::Milliseconds(50)));
}

TEST_F(GrpcEtcdClientTest, CallsToNoMemberFailUnavailableWithinTheTotalTimeout) {
  GrpcEtcdClientOptions options;
  options.total_timeout = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<GrpcEtcdClient>> client =
      GrpcEtcdClient::Create("127.0.0.39:2379", options);
  ASSERT_TRUE(client.ok());
  const absl::Time start = absl::Now();
  absl::StatusOr<int64_t> put = (*client)->Put("/f", "1", 0);
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable) << put.status();
  EXPECT_NE(put.status().message().find("127.0.0.39:2379"), std::string::npos);
  EXPECT_LE(absl::Now() - start, absl::Seconds(2));
}

}  // namespace
}  // namespace infrakit::etcd
