#include "tests/testing/wait_for.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace infrakit::testing {
namespace {

TEST(WaitForTest, TrueAtOnce) {
  int calls = 0;
  EXPECT_TRUE(WaitFor([&] { return ++calls > 0; }, absl::Seconds(5)));
  EXPECT_EQ(calls, 1);
}

TEST(WaitForTest, TrueWhenAnotherThreadMakesItTrue) {
  std::atomic<bool> flag{false};
  std::thread setter([&] { flag = true; });
  EXPECT_TRUE(WaitFor([&] { return flag.load(); }, absl::Seconds(30)));
  setter.join();
}

TEST(WaitForTest, FalseAtTheDeadlineAfterAFinalCheck) {
  int calls = 0;
  EXPECT_FALSE(WaitFor([&] { return ++calls < 0; }, absl::Milliseconds(20)));
  EXPECT_GE(calls, 2);  // evaluated at least at the start and at the deadline
}

TEST(WaitForTest, ZeroDeadlineStillChecksOnce) {
  EXPECT_TRUE(WaitFor([] { return true; }, absl::ZeroDuration()));
  EXPECT_FALSE(WaitFor([] { return false; }, absl::ZeroDuration()));
}

}  // namespace
}  // namespace infrakit::testing
