#include "services/group/real_clock.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace infrakit::services::group {
namespace {

// This process's thread count, from /proc/self/status.
int Threads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

TEST(RealClockTest, StartsItsThreadWithTheFirstTimer) {
  const int before = Threads();
  ASSERT_GT(before, 0);
  {
    RealClock clock;
    EXPECT_EQ(Threads(), before);  // a clock no one sets a timer on keeps no thread
    absl::Notification second;
    clock.Schedule(clock.Now(), [&] {
      // Scheduled from the timer thread itself: fires on the same thread.
      clock.Schedule(clock.Now(), [&] { second.Notify(); });
    });
    ASSERT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(30)));
    EXPECT_EQ(Threads(), before + 1);
  }
  EXPECT_EQ(Threads(), before);
}

TEST(RealClockTest, FiresInDeadlineOrderAndNotBefore) {
  RealClock clock;
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<absl::Time> fired_at;
  absl::Notification done;
  absl::Time start = clock.Now();
  // Scheduled out of order; must fire by deadline.
  clock.Schedule(start + absl::Milliseconds(30), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(3);
    fired_at.push_back(absl::Now());
    done.Notify();
  });
  clock.Schedule(start + absl::Milliseconds(10), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
    fired_at.push_back(absl::Now());
  });
  clock.Schedule(start + absl::Milliseconds(20), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(2);
    fired_at.push_back(absl::Now());
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(fired_at[0], start + absl::Milliseconds(10));
  EXPECT_GE(fired_at[2], start + absl::Milliseconds(30));
}

TEST(RealClockTest, CancelledTimerNeverFires) {
  RealClock clock;
  absl::Notification later;
  bool cancelled_fired = false;
  TimerId id = clock.Schedule(clock.Now() + absl::Milliseconds(5), [&] { cancelled_fired = true; });
  clock.Cancel(id);
  clock.Cancel(id);      // twice: ignored
  clock.Cancel(999999);  // unknown: ignored
  clock.Schedule(clock.Now() + absl::Milliseconds(20), [&] { later.Notify(); });
  ASSERT_TRUE(later.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(cancelled_fired);
}

TEST(RealClockTest, DestructorDropsPendingTimers) {
  bool fired = false;
  {
    RealClock clock;
    clock.Schedule(clock.Now() + absl::Hours(1), [&] { fired = true; });
  }
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace infrakit::services::group
