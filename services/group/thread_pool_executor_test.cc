#include "services/group/thread_pool_executor.h"

#include <atomic>
#include <filesystem>
#include <iterator>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace infrakit::services::group {
namespace {

// Threads of this process now.
int ThreadCount() {
  return static_cast<int>(std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                                        std::filesystem::directory_iterator()));
}

TEST(ThreadPoolExecutorTest, RunsEveryTask) {
  ThreadPoolExecutor pool(4);
  absl::Mutex mu;
  int ran = 0;
  for (int i = 0; i < 100; ++i) {
    pool.Post([&] {
      absl::MutexLock lock(&mu);
      ++ran;
    });
  }
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* n) { return *n == 100; }, &ran),
                                  absl::Seconds(30)));
}

TEST(ThreadPoolExecutorTest, RunsTasksConcurrentlyUpToItsSize) {
  ThreadPoolExecutor pool(2);
  absl::Notification both_running;
  absl::Notification release;
  std::atomic<int> running{0};
  for (int i = 0; i < 2; ++i) {
    pool.Post([&] {
      if (++running == 2) both_running.Notify();
      release.WaitForNotification();
    });
  }
  // Two blocking tasks run at once on two threads.
  EXPECT_TRUE(both_running.WaitForNotificationWithTimeout(absl::Seconds(30)));
  release.Notify();
}

TEST(ThreadPoolExecutorTest, StartsThreadsOnlyForWorkAndUpToItsSize) {
  const int before = ThreadCount();
  ThreadPoolExecutor pool(2);
  EXPECT_EQ(ThreadCount(), before);  // Nothing to do: no thread.

  absl::Notification both_running;
  absl::Notification release;
  std::atomic<int> running{0};
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i) {
    pool.Post([&] {
      if (++running == 2) both_running.Notify();
      release.WaitForNotification();
      ++ran;
    });
  }
  ASSERT_TRUE(both_running.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // The third task waits for one of the two threads instead of starting a third.
  EXPECT_EQ(ThreadCount(), before + 2);
  release.Notify();
  EXPECT_TRUE(testing::WaitFor([&] { return ran.load() == 3; }, absl::Seconds(30)));
  EXPECT_EQ(ThreadCount(), before + 2);
}

TEST(ThreadPoolExecutorTest, DestructorWaitsForRunningTasks) {
  std::atomic<int> ran{0};
  absl::Notification started;
  {
    ThreadPoolExecutor pool(1);
    pool.Post([&] {
      started.Notify();
      // Still running when the destructor starts: the destructor must wait for it.
      absl::SleepFor(absl::Milliseconds(20));
      ++ran;
    });
    ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace infrakit::services::group
