#include "tools/bench/proc_stats.h"

#include <fcntl.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace infrakit::tools::bench {
namespace {

TEST(ReadProcessSampleTest, ReadsThisProcess) {
  absl::StatusOr<ProcessSample> sample = ReadProcessSample(getpid());
  ASSERT_TRUE(sample.ok()) << sample.status();
  EXPECT_GT(sample->rss_kib, 0);
  EXPECT_GE(sample->peak_rss_kib, sample->rss_kib);
  EXPECT_GT(sample->anon_rss_kib, 0);
  EXPECT_LE(sample->anon_rss_kib, sample->rss_kib);
  // This kernel has smaps_rollup; the PSS counts shared pages in part, so it is at most the RSS.
  EXPECT_GT(sample->pss_kib, 0);
  EXPECT_LE(sample->pss_kib, sample->rss_kib);
  EXPECT_GE(sample->threads, 1);
  EXPECT_GE(sample->fds, 3);  // stdin, stdout, stderr at least
}

TEST(ReadProcessSampleTest, CountsFileDescriptorsAndThreads) {
  absl::StatusOr<ProcessSample> before = ReadProcessSample(getpid());
  ASSERT_TRUE(before.ok()) << before.status();

  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) fds.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
  absl::Notification stop;
  std::thread thread([&] { stop.WaitForNotification(); });

  absl::StatusOr<ProcessSample> after = ReadProcessSample(getpid());
  stop.Notify();
  thread.join();
  for (int fd : fds) close(fd);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->fds, before->fds + 5);
  EXPECT_EQ(after->threads, before->threads + 1);
}

TEST(ReadProcessSampleTest, CpuTimeGrowsWithWork) {
  absl::StatusOr<ProcessSample> before = ReadProcessSample(getpid());
  ASSERT_TRUE(before.ok()) << before.status();
  // Burn CPU until the kernel has accounted at least one more tick (10 ms at USER_HZ 100),
  // for at most 10 s of wall time.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::StatusOr<ProcessSample> after = before;
  volatile uint64_t sink = 0;
  while (after.ok() && after->cpu <= before->cpu && absl::Now() < deadline) {
    for (int i = 0; i < 1000000; ++i) sink = sink + i;
    after = ReadProcessSample(getpid());
  }
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GT(after->cpu, before->cpu);
}

TEST(ReadProcessSampleTest, GoneProcessIsNotFound) {
  // Pids are below /proc/sys/kernel/pid_max (at most 2^22), so this one never exists.
  absl::StatusOr<ProcessSample> sample = ReadProcessSample(1 << 30);
  EXPECT_EQ(sample.status().code(), absl::StatusCode::kNotFound) << sample.status();
}

}  // namespace
}  // namespace infrakit::tools::bench
