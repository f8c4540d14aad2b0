// EtcdStore against a real one-member etcd on 127.0.0.31 (skipped without etcd): the Store
// conformance checks, and the fence.
#include "services/group/etcd_store.h"

#include <memory>
#include <vector>

#include "common/etcd/grpc_etcd_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/group/testing/store_conformance.h"
#include "tests/testing/etcd_cluster.h"

namespace infrakit::services::group {
namespace {

using ::infrakit::testing::EtcdCluster;

constexpr char kLeaderKey[] = "/ik/leader";

class EtcdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdCluster::Installed()) GTEST_SKIP() << EtcdCluster::kNotInstalled;
    etcd_ = std::make_unique<EtcdCluster>(1);
    absl::Status started = etcd_->Start();
    ASSERT_TRUE(started.ok()) << started;
    auto client = etcd::GrpcEtcdClient::Create(etcd_->Endpoints());
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
    store_ = std::make_unique<EtcdStore>(client_.get(), "/ik", [this](EtcdStore::Refusal why) {
      refusals_.push_back(why);  // the writing thread is the test's
    });
    fence_ = BecomeLeader("me");
    store_->SetFence(kLeaderKey, fence_);
  }

  // Creates the leader key (as leader election does) and returns its create_revision.
  int64_t BecomeLeader(const std::string& who) {
    auto txn = client_->Txn({etcd::Compare::CreateRevisionIs(kLeaderKey, 0)},
                            {etcd::Op::Put(kLeaderKey, who)}, {});
    EXPECT_TRUE(txn.ok() && txn->succeeded);
    return txn.ok() ? txn->revision : 0;
  }

  std::unique_ptr<EtcdCluster> etcd_;
  std::unique_ptr<etcd::GrpcEtcdClient> client_;
  std::unique_ptr<EtcdStore> store_;
  std::vector<EtcdStore::Refusal> refusals_;
  int64_t fence_ = 0;
};

TEST_F(EtcdStoreTest, RoundTripOrderedById) { testing::CheckRoundTripOrderedById(store_.get()); }

TEST_F(EtcdStoreTest, PutReplacesAndDeleteForgets) {
  testing::CheckPutReplacesAndDeleteForgets(store_.get());
}

TEST_F(EtcdStoreTest, BadIdsAreRefused) { testing::CheckBadIdsAreRefused(store_.get()); }

TEST_F(EtcdStoreTest, WritesWithoutAFenceFailAndChangeNothing) {
  ASSERT_TRUE(store_->Put(testing::ConformanceRecord("cattle", 3)).ok());
  store_->ClearFence();
  absl::Status put = store_->Put(testing::ConformanceRecord("cattle", 9));
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition) << put;
  EXPECT_NE(put.message().find("not the leader"), std::string::npos);
  EXPECT_EQ(store_->Delete("cattle").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refusals_,
              ::testing::ElementsAre(EtcdStore::Refusal::kNoFence, EtcdStore::Refusal::kNoFence));
  auto loaded = store_->LoadAll();  // reads need no fence
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].spec().allocation().size(), 3);
}

TEST_F(EtcdStoreTest, AStaleLeadersWritesFailTheFence) {
  ASSERT_TRUE(store_->Put(testing::ConformanceRecord("cattle", 3)).ok());
  // The leader key expires and another service becomes leader: a new create_revision.
  ASSERT_TRUE(client_->Txn({}, {etcd::Op::Delete(kLeaderKey)}, {}).ok());
  const int64_t other = BecomeLeader("other");
  EtcdStore new_leader(client_.get(), "/ik");
  new_leader.SetFence(kLeaderKey, other);

  absl::Status stale = store_->Put(testing::ConformanceRecord("cattle", 9));
  EXPECT_EQ(stale.code(), absl::StatusCode::kFailedPrecondition) << stale;
  EXPECT_NE(stale.message().find("leadership lost"), std::string::npos) << stale;
  EXPECT_EQ(store_->Delete("cattle").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refusals_, ::testing::ElementsAre(EtcdStore::Refusal::kFenceFailed,
                                                EtcdStore::Refusal::kFenceFailed));
  ASSERT_TRUE(new_leader.Put(testing::ConformanceRecord("cattle", 4)).ok());
  auto loaded = store_->LoadAll();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].spec().allocation().size(), 4);
}

TEST_F(EtcdStoreTest, CorruptOrForeignRecordsFailLoadAllNamingTheKey) {
  ASSERT_TRUE(client_->Put("/ik/groups/cattle", "{not json", 0).ok());
  auto loaded = store_->LoadAll();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find("/ik/groups/cattle"), std::string::npos);
  ASSERT_TRUE(client_->Put("/ik/groups/cattle", R"({"spec": {"id": "herd"}})", 0).ok());
  EXPECT_EQ(store_->LoadAll().status().code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(
      client_->Put("/ik/groups/cattle", R"({"format_version": 2, "spec": {"id": "cattle"}})", 0)
          .ok());
  EXPECT_EQ(store_->LoadAll().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(EtcdStoreTest, EtcdDownIsUnavailableNotEmpty) {
  ASSERT_TRUE(store_->Put(testing::ConformanceRecord("cattle", 3)).ok());
  etcd_->KillMember(0);
  EXPECT_EQ(store_->LoadAll().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->Put(testing::ConformanceRecord("cattle", 4)).code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace infrakit::services::group
