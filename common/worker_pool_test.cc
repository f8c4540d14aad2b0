#include "common/worker_pool.h"

#include <atomic>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace infrakit::common {
namespace {

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
