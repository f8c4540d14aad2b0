#include "services/group/retry.h"

#include "gtest/gtest.h"

namespace infrakit::services::group {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(RetryTest, BackoffDoublesUpToTheCap) {
  BackoffPolicy p{absl::Seconds(1), absl::Seconds(10)};
  EXPECT_EQ(p.After(1), absl::Seconds(1));
  EXPECT_EQ(p.After(2), absl::Seconds(2));
  EXPECT_EQ(p.After(4), absl::Seconds(8));
  EXPECT_EQ(p.After(5), absl::Seconds(10));
  EXPECT_EQ(p.After(100), absl::Seconds(10));
}

TEST(RetryTest, OneWaveIsOneAttempt) {
  BackoffPolicy p{absl::Seconds(1), absl::Seconds(60)};
  RetryState r;
  EXPECT_FALSE(r.Waiting(kT0));
  // Two calls started at attempt 0 fail: counted once.
  EXPECT_TRUE(r.Fail(0, kT0, p));
  EXPECT_FALSE(r.Fail(0, kT0, p));
  EXPECT_EQ(r.failures(), 1);
  EXPECT_EQ(r.retry_at(), kT0 + absl::Seconds(1));
  EXPECT_TRUE(r.Waiting(kT0));
  // A call of the same wave succeeding does not end the newer failure.
  EXPECT_FALSE(r.Succeed(0));
  EXPECT_EQ(r.failures(), 1);
  EXPECT_TRUE(r.Fail(1, kT0 + absl::Seconds(1), p));
  EXPECT_EQ(r.retry_at(), kT0 + absl::Seconds(3));
  // A call started after the last failure ends them.
  EXPECT_TRUE(r.Succeed(2));
  EXPECT_EQ(r.failures(), 0);
  EXPECT_FALSE(r.Waiting(kT0));
}

}  // namespace
}  // namespace infrakit::services::group
