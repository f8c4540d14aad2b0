#include "spi/item_status.h"

#include "gtest/gtest.h"
#include "infrakit/instance/v1/instance.pb.h"

namespace infrakit::spi {
namespace {

TEST(ItemStatusTest, RoundTripsEveryCode) {
  for (int code = 0; code <= 16; ++code) {
    absl::Status s(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    EXPECT_EQ(FromItemStatus(ToItemStatus(s)), s) << code;
  }
}

TEST(ItemStatusTest, OkHasCodeZeroAndNoMessage) {
  auto wire = ToItemStatus(absl::OkStatus());
  EXPECT_EQ(wire.code(), 0);
  EXPECT_EQ(wire.message(), "");
}

TEST(ItemStatusTest, UnknownCodeBecomesUnknownAndKeepsTheMessage) {
  ::infrakit::plugin::v1::ItemStatus wire;
  wire.set_code(99);
  wire.set_message("strange");
  absl::Status s = FromItemStatus(wire);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnknown);
  EXPECT_NE(s.message().find("strange"), absl::string_view::npos);
  EXPECT_NE(s.message().find("99"), absl::string_view::npos);
}

TEST(ItemStatusTest, BatchSizeLimit) {
  EXPECT_TRUE(CheckBatchSize(0, "requests").ok());
  EXPECT_TRUE(CheckBatchSize(kMaxBatchSize, "requests").ok());
  absl::Status s = CheckBatchSize(kMaxBatchSize + 1, "requests");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("requests"), absl::string_view::npos);
  EXPECT_NE(s.message().find("1001"), absl::string_view::npos);
}

TEST(ItemStatusTest, SetItemResultSetsTheResponseOrTheError) {
  ::infrakit::instance::v1::ProvisionResponse created;
  created.set_id("i1");
  created.set_created(true);
  ::infrakit::instance::v1::ProvisionResult ok;
  SetItemResult(absl::StatusOr<::infrakit::instance::v1::ProvisionResponse>(created), &ok);
  ASSERT_TRUE(ok.has_response());
  EXPECT_EQ(ok.response().id(), "i1");
  EXPECT_FALSE(ok.has_error());

  ::infrakit::instance::v1::ProvisionResult failed;
  SetItemResult(absl::StatusOr<::infrakit::instance::v1::ProvisionResponse>(
                    absl::InvalidArgumentError("bad spec")),
                &failed);
  ASSERT_TRUE(failed.has_error());
  EXPECT_EQ(FromItemStatus(failed.error()), absl::InvalidArgumentError("bad spec"));
  EXPECT_FALSE(failed.has_response());
}

}  // namespace
}  // namespace infrakit::spi
