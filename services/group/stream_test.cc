#include "services/group/stream.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/group/testing/manual_executor.h"

namespace infrakit::services::group {
namespace {

using testing::ManualExecutor;

struct Log {
  std::vector<int> items;
  int ends = 0;
  absl::Status end;
};

std::shared_ptr<Stream<int>> Make(Log* log, ManualExecutor* ex) {
  return std::make_shared<Stream<int>>([log](const int& i) { log->items.push_back(i); },
                                       [log](const absl::Status& st) {
                                         ++log->ends;
                                         log->end = st;
                                       },
                                       ex);
}

TEST(StreamTest, DeliversInOrderOnTheExecutorThenTheEnd) {
  ManualExecutor ex;
  Log log;
  auto s = Make(&log, &ex);
  s->Push(1);
  s->Push(2);
  s->End(absl::CancelledError("bye"));
  s->Push(3);                      // after the end: dropped
  EXPECT_TRUE(log.items.empty());  // never inline
  EXPECT_EQ(ex.pending(), 1);      // one drain task, however many items
  ex.RunAll();
  EXPECT_EQ(log.items, (std::vector<int>{1, 2}));
  EXPECT_EQ(log.ends, 1);
  EXPECT_EQ(log.end.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(s->closed());
}

TEST(StreamTest, CancelStopsDelivery) {
  ManualExecutor ex;
  Log log;
  auto s = Make(&log, &ex);
  s->Push(1);
  s->Cancel();
  s->Push(2);
  s->End(absl::OkStatus());
  ex.RunAll();
  EXPECT_TRUE(log.items.empty());
  EXPECT_EQ(log.ends, 0);
}

TEST(StreamTest, CancelFromInsideACallback) {
  ManualExecutor ex;
  std::vector<int> seen;
  std::shared_ptr<Stream<int>> s;
  s = std::make_shared<Stream<int>>(
      [&](const int& i) {
        seen.push_back(i);
        s->Cancel();  // must not deadlock
      },
      nullptr, &ex);
  s->Push(1);
  s->Push(2);
  ex.RunAll();
  EXPECT_EQ(seen, std::vector<int>{1});
}

TEST(StreamTest, ItemsPushedDuringDeliveryFollow) {
  ManualExecutor ex;
  std::vector<int> seen;
  std::shared_ptr<Stream<int>> s;
  s = std::make_shared<Stream<int>>(
      [&](const int& i) {
        seen.push_back(i);
        if (i < 3) s->Push(i + 1);
      },
      nullptr, &ex);
  s->Push(1);
  ex.RunAll();
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
}

}  // namespace
}  // namespace infrakit::services::group
