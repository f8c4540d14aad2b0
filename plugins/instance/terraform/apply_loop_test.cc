// The apply loop's debounce, coalescing and retries, on a fake clock and a manual executor:
// deterministic, no threads of its own, no sleeps.
#include "plugins/instance/terraform/apply_loop.h"

#include <functional>
#include <vector>

#include "gtest/gtest.h"
#include "services/group/testing/fake_clock.h"
#include "services/group/testing/manual_executor.h"

namespace infrakit::plugins::instance::terraform {
namespace {

using services::group::testing::FakeClock;
using services::group::testing::ManualExecutor;

class ApplyLoopTest : public ::testing::Test {
 protected:
  ApplyLoopTest() {
    ApplyLoop::Options options;
    options.debounce = absl::Milliseconds(100);
    options.min_backoff = absl::Seconds(1);
    options.max_backoff = absl::Seconds(4);
    loop_ = std::make_unique<ApplyLoop>(&clock_, &executor_, options, [this] {
      run_times_.push_back(clock_.Now());
      if (during_run_) during_run_();
      return results_.empty() ? true : Pop();
    });
  }
  ~ApplyLoopTest() override {
    loop_->Shutdown();
    executor_.Clear();
  }

  bool Pop() {
    const bool ok = results_.front();
    results_.erase(results_.begin());
    return ok;
  }
  // Moves time by `d` and runs what that posted.
  void Advance(absl::Duration d) {
    clock_.Advance(d);
    executor_.RunAll();
  }

  FakeClock clock_;
  ManualExecutor executor_;
  std::vector<absl::Time> run_times_;
  std::vector<bool> results_;  // What the next runs return (true once empty).
  std::function<void()> during_run_;
  std::unique_ptr<ApplyLoop> loop_;
};

TEST_F(ApplyLoopTest, ChangesWithinTheWindowAreOneRun) {
  const absl::Time start = clock_.Now();
  loop_->Notify();
  Advance(absl::Milliseconds(40));
  loop_->Notify();
  loop_->Notify();
  Advance(absl::Milliseconds(59));
  EXPECT_EQ(loop_->runs(), 0);
  Advance(absl::Milliseconds(1));
  ASSERT_EQ(loop_->runs(), 1);
  EXPECT_EQ(run_times_[0], start + absl::Milliseconds(100));
  Advance(absl::Seconds(10));
  EXPECT_EQ(loop_->runs(), 1);  // Nothing more to do.
}

TEST_F(ApplyLoopTest, ChangesDuringARunMakeOneMoreRun) {
  during_run_ = [this] {
    during_run_ = nullptr;
    loop_->Notify();
    loop_->Notify();
  };
  loop_->Notify();
  Advance(absl::Milliseconds(100));
  ASSERT_EQ(loop_->runs(), 1);
  EXPECT_EQ(executor_.pending(), 0);  // Never two at once: the next waits for its window.
  Advance(absl::Milliseconds(100));
  EXPECT_EQ(loop_->runs(), 2);
  Advance(absl::Seconds(10));
  EXPECT_EQ(loop_->runs(), 2);
}

TEST_F(ApplyLoopTest, AFailedRunIsRetriedWithBackoff) {
  results_ = {false, false, false, false, true};
  loop_->Notify();
  Advance(absl::Milliseconds(100));
  ASSERT_EQ(loop_->runs(), 1);
  EXPECT_EQ(loop_->failures(), 1);
  // 1 s, 2 s, 4 s, then capped at 4 s.
  for (absl::Duration backoff :
       {absl::Seconds(1), absl::Seconds(2), absl::Seconds(4), absl::Seconds(4)}) {
    const int64_t before = loop_->runs();
    Advance(backoff - absl::Milliseconds(1));
    EXPECT_EQ(loop_->runs(), before);
    Advance(absl::Milliseconds(1));
    EXPECT_EQ(loop_->runs(), before + 1);
  }
  EXPECT_EQ(loop_->failures(), 0);
  Advance(absl::Minutes(5));
  EXPECT_EQ(loop_->runs(), 5);
}

TEST_F(ApplyLoopTest, AChangeRetriesAFailureBeforeTheBackoffEnds) {
  results_ = {false, false};
  loop_->Notify();
  Advance(absl::Milliseconds(100));
  ASSERT_EQ(loop_->failures(), 1);
  Advance(absl::Milliseconds(200));
  loop_->Notify();  // Within the 1 s backoff.
  Advance(absl::Milliseconds(100));
  EXPECT_EQ(loop_->runs(), 2);
  EXPECT_EQ(loop_->failures(), 2);
  // The backoff after the second failure is 2 s.
  Advance(absl::Milliseconds(1999));
  EXPECT_EQ(loop_->runs(), 2);
  Advance(absl::Milliseconds(1));
  EXPECT_EQ(loop_->runs(), 3);
  EXPECT_EQ(loop_->failures(), 0);
}

TEST_F(ApplyLoopTest, NoRunAfterShutdown) {
  loop_->Notify();
  loop_->Shutdown();
  Advance(absl::Seconds(1));
  EXPECT_EQ(loop_->runs(), 0);
  loop_->Notify();
  Advance(absl::Seconds(1));
  EXPECT_EQ(loop_->runs(), 0);
}

TEST_F(ApplyLoopTest, ARunPostedBeforeShutdownDoesNothing) {
  loop_->Notify();
  clock_.Advance(absl::Milliseconds(100));
  ASSERT_EQ(executor_.pending(), 1);
  loop_->Shutdown();  // Does not wait for a run that has not started.
  executor_.RunAll();
  EXPECT_EQ(loop_->runs(), 0);
}

}  // namespace
}  // namespace infrakit::plugins::instance::terraform
