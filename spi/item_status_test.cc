#include "spi/item_status.h"

#include "gtest/gtest.h"

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

}  // namespace
}  // namespace infrakit::spi
