#include "services/group/batch_call.h"

#include "gtest/gtest.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::services::group {
namespace {

namespace iv1 = ::infrakit::instance::v1;

absl::StatusOr<std::string> IdOf(iv1::BatchProvisionResponse& r, int i) {
  return r.results(i).response().id();
}

TEST(BatchCallTest, SplitsOneResultPerItem) {
  iv1::BatchProvisionResponse r;
  r.add_results()->mutable_response()->set_id("a");
  r.add_results()->mutable_response()->set_id("b");
  auto out = SplitBatch(absl::StatusOr<iv1::BatchProvisionResponse>(r), 2, "BatchProvision",
                        "requests", IdOf);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(*out[0], "a");
  EXPECT_EQ(*out[1], "b");
}

TEST(BatchCallTest, AWrongCountOrAFailedCallFailsEveryItem) {
  iv1::BatchProvisionResponse r;
  r.add_results()->mutable_response()->set_id("a");
  auto wrong = SplitBatch(absl::StatusOr<iv1::BatchProvisionResponse>(r), 3, "BatchProvision",
                          "requests", IdOf);
  ASSERT_EQ(wrong.size(), 3u);
  for (const auto& o : wrong) {
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInternal);
    EXPECT_EQ(o.status().message(), "BatchProvision answered 1 results for 3 requests");
  }
  auto failed =
      SplitBatch(absl::StatusOr<iv1::BatchProvisionResponse>(absl::UnavailableError("down")), 2,
                 "BatchProvision", "requests", IdOf);
  for (const auto& o : failed) EXPECT_EQ(o.status().code(), absl::StatusCode::kUnavailable);
}

TEST(BatchCallTest, CallResolvedPassesOnWhyThePluginIsMissing) {
  absl::StatusOr<int*> missing = absl::NotFoundError("no plugin");
  absl::StatusOr<int> r = CallResolved(missing, [](int* p) -> absl::StatusOr<int> { return *p; });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  int v = 7;
  absl::StatusOr<int*> found = &v;
  EXPECT_EQ(*CallResolved(found, [](int* p) -> absl::StatusOr<int> { return *p; }), 7);
}

TEST(BatchCallTest, BatchSizeSpreadsOverTheCalls) {
  EXPECT_EQ(BatchSize(1, 4, 128), 1u);
  EXPECT_EQ(BatchSize(10, 4, 128), 10u);       // a few go together
  EXPECT_EQ(BatchSize(1000, 4, 128), 128u);    // capped
  EXPECT_EQ(BatchSize(200, 4, 128), 50u);      // spread
  EXPECT_EQ(BatchSize(5000, 4, 5000), 1000u);  // never above spi::kMaxBatchSize
}

}  // namespace
}  // namespace infrakit::services::group
