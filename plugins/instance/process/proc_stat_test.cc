#include "plugins/instance/process/proc_stat.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::process {
namespace {

TEST(ParseProcStatTest, ReadsFieldsAfterACommandWithSpacesAndParens) {
  const char kLine[] =
      "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
      "987654 1000 200 18446744073709551615\n";
  absl::StatusOr<ProcStat> stat = ParseProcStat(kLine);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->pid, 4242);
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->ppid, 1);
  EXPECT_EQ(stat->pgrp, 4242);
  EXPECT_EQ(stat->session, 4242);
  EXPECT_EQ(stat->start_time, 987654u);
  EXPECT_TRUE(stat->alive());
}

TEST(ParseProcStatTest, ZombieIsNotAlive) {
  absl::StatusOr<ProcStat> stat =
      ParseProcStat("7 (sh) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0");
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_FALSE(stat->alive());
}

TEST(ParseProcStatTest, RejectsMalformedText) {
  EXPECT_EQ(ParseProcStat("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProcStat("12 (sh) S 1 2").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProcStat("x (sh) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ReadProcStatTest, ReadsThisProcess) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(getpid());
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->pid, getpid());
  EXPECT_EQ(stat->ppid, getppid());
  EXPECT_EQ(stat->pgrp, getpgrp());
  EXPECT_GT(stat->start_time, 0u);
  EXPECT_TRUE(stat->alive());
}

TEST(ReadProcStatTest, NotFoundForAReapedChild) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_EQ(ReadProcStat(child).status().code(), absl::StatusCode::kNotFound);
}

TEST(LiveProcessGroupMembersTest, ListsLivingMembersOnly) {
  // A child leading its own group, with a grandchild in it.
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t leader = fork();
  ASSERT_GE(leader, 0);
  if (leader == 0) {
    setpgid(0, 0);
    if (fork() == 0) {
      pause();
      _exit(0);
    }
    (void)!write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);

  std::vector<pid_t> members = LiveProcessGroupMembers(leader);
  EXPECT_EQ(members.size(), 2u);
  EXPECT_NE(std::find(members.begin(), members.end(), leader), members.end());

  // A killed, unreaped leader is a zombie: no longer a living member.
  kill(leader, SIGKILL);
  siginfo_t info;
  ASSERT_EQ(waitid(P_PID, leader, &info, WEXITED | WNOWAIT), 0);
  members = LiveProcessGroupMembers(leader);
  EXPECT_EQ(members.size(), 1u);
  EXPECT_EQ(std::find(members.begin(), members.end(), leader), members.end());

  kill(-leader, SIGKILL);
  waitpid(leader, nullptr, 0);
}

TEST(ProcessesWithEnvironmentEntryTest, FindsTheProcessesCarryingTheWholeEntry) {
  // envp is built before fork: the child only execs.
  const std::string entry = "INFRAKIT_TEST_ENTRY=/tmp/x/instance-1";
  std::vector<char*> envp = {const_cast<char*>(entry.c_str()), nullptr};
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execle("/bin/sleep", "sleep", "1000", nullptr, envp.data());
    _exit(127);
  }
  // Found once exec'd (before, the child has this test's environment).
  std::vector<pid_t> found;
  ::infrakit::testing::WaitFor(
      [&] {
        found = ProcessesWithEnvironmentEntry(entry);
        return !found.empty();
      },
      absl::Seconds(10));
  EXPECT_EQ(found, std::vector<pid_t>{child});
  // Matched whole: neither a prefix nor a longer value names it.
  EXPECT_TRUE(ProcessesWithEnvironmentEntry("INFRAKIT_TEST_ENTRY=/tmp/x/instance").empty());
  EXPECT_TRUE(ProcessesWithEnvironmentEntry("INFRAKIT_TEST_ENTRY=/tmp/x/instance-10").empty());

  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_TRUE(ProcessesWithEnvironmentEntry(entry).empty());
}

TEST(ReadBootIdTest, ReadsTheKernelsBootIdAndItStays) {
  absl::StatusOr<std::string> first = ReadBootId();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), 36u) << *first;  // A UUID, without the newline.
  absl::StatusOr<std::string> second = ReadBootId();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
}

}  // namespace
}  // namespace infrakit::plugins::instance::process
