#include "common/grpc_status.h"

#include "gtest/gtest.h"

namespace infrakit::common {
namespace {

TEST(GrpcStatusTest, RoundTripsEveryCanonicalCode) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status in(static_cast<absl::StatusCode>(code), "msg " + std::to_string(code));
    grpc::Status mid = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(mid.error_code()), code);
    EXPECT_EQ(mid.error_message(), "msg " + std::to_string(code));
    EXPECT_EQ(FromGrpcStatus(mid), in);
  }
}

TEST(GrpcStatusTest, OkStaysOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, NotFoundKeepsItsMeaning) {
  grpc::Status s = ToGrpcStatus(absl::NotFoundError("no group cattle"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace infrakit::common
