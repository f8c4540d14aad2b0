#include "common/worker_pool.h"

#include <atomic>
#include <filesystem>
#include <iterator>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace infrakit::common {
namespace {

// Threads of this process now.
int ThreadCount() {
  return static_cast<int>(std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                                        std::filesystem::directory_iterator()));
}

TEST(WorkerPoolTest, RunsTasksOnOtherThreads) {
  WorkerPool pool(2, 10);
  absl::Notification done;
  std::thread::id ran_on;
  ASSERT_TRUE(pool.Submit([&] {
                    ran_on = std::this_thread::get_id();
                    done.Notify();
                  })
                  .ok());
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(WorkerPoolTest, RunsTasksConcurrentlyUpToItsThreads) {
  WorkerPool pool(2, 10);
  absl::Mutex mu;
  int running = 0;
  absl::Notification release;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(pool.Submit([&] {
                      {
                        absl::MutexLock lock(&mu);
                        ++running;
                      }
                      release.WaitForNotification();
                    })
                    .ok());
  }
  // Both tasks block at once, so two threads run them.
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* r) { return *r == 2; }, &running),
                                  absl::Seconds(10)));
  release.Notify();
}

TEST(WorkerPoolTest, StartsThreadsOnlyForWorkAndUpToItsThreads) {
  const int before = ThreadCount();
  WorkerPool pool(2, 10);
  EXPECT_EQ(ThreadCount(), before);  // Nothing to do: no thread.

  absl::Mutex mu;
  int running = 0;
  int ran = 0;
  absl::Notification release;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pool.Submit([&] {
                      {
                        absl::MutexLock lock(&mu);
                        ++running;
                      }
                      release.WaitForNotification();
                      absl::MutexLock lock(&mu);
                      ++ran;
                    })
                    .ok());
  }
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](int* r) { return *r == 2; }, &running),
                                    absl::Seconds(10)));
  }
  // The third task waits for one of the two threads instead of starting a third.
  EXPECT_EQ(ThreadCount(), before + 2);
  release.Notify();
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* r) { return *r == 3; }, &ran),
                                  absl::Seconds(10)));
  EXPECT_EQ(ThreadCount(), before + 2);
}

TEST(WorkerPoolTest, RefusesBeyondTheBacklogButSubmitAlwaysAccepts) {
  auto pool = std::make_unique<WorkerPool>(1, 1);
  absl::Notification started;
  absl::Notification release;
  ASSERT_TRUE(pool->Submit([&] {
                    started.Notify();
                    release.WaitForNotification();
                  })
                  .ok());
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool->Submit([&] { ++ran; }).ok());  // Fills the backlog of 1.
  absl::Status refused = pool->Submit([&] { ++ran; });
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  pool->SubmitAlways([&] { ++ran; });
  release.Notify();
  pool.reset();  // Runs what was accepted before joining.
  EXPECT_EQ(ran.load(), 2);
}

TEST(WorkerPoolTest, DestructionRunsAcceptedTasks) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1, 100);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.Submit([&] { ++ran; }).ok());
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace infrakit::common
