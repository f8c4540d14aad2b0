// The step machinery behind the readers: StepLock publishes what a step touched before its
// posted tasks may run, and readers read views without the controller's lock.
#include "services/group/runtime.h"

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace infrakit::services::group {
namespace {

// Records what is posted, in order; runs nothing.
class RecordingExecutor : public Executor {
 public:
  void Post(std::function<void()> task) override {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }
  size_t posted() {
    absl::MutexLock lock(&mu_);
    return tasks_.size();
  }
  void RunAll() {
    std::vector<std::function<void()>> tasks;
    {
      absl::MutexLock lock(&mu_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::function<void()>> tasks_;
};

class RuntimeTest : public ::testing::Test {
 protected:
  RuntimeTest() : rt_(ControllerOptions(), nullptr, nullptr, nullptr, &inner_) {}

  // A watched group `id` of `size` cattle, already published.
  Group* AddGroup(const std::string& id, int size) {
    StepLock lock(&rt_);
    auto g = std::make_unique<Group>();
    g->id = id;
    g->spec.set_id(id);
    g->spec.mutable_allocation()->set_size(size);
    Group* raw = g.get();
    rt_.groups.emplace(id, std::move(g));
    rt_.MarkViewDirtyLocked(raw);
    return raw;
  }

  RecordingExecutor inner_;
  Runtime rt_;
};

TEST_F(RuntimeTest, TasksPostedDuringAStepGoOutWhenItEndsInOrder) {
  std::vector<int> ran;
  {
    StepLock lock(&rt_);
    rt_.executor->Post([&] { ran.push_back(1); });
    rt_.executor->Post([&] { ran.push_back(2); });
    EXPECT_EQ(inner_.posted(), 0u) << "a task of the step left before the step ended";
    // Another thread, not in the step, posts at once.
    std::thread other([&] { rt_.executor->Post([&] { ran.push_back(3); }); });
    other.join();
    EXPECT_EQ(inner_.posted(), 1u);
  }
  EXPECT_EQ(inner_.posted(), 3u);
  inner_.RunAll();
  EXPECT_EQ(ran, (std::vector<int>{3, 1, 2}));
  // Outside a step, posts go through at once.
  rt_.executor->Post([&] { ran.push_back(4); });
  EXPECT_EQ(inner_.posted(), 1u);
}

// A task a step posts (an event for a client, say) finds the step's changes published already.
TEST_F(RuntimeTest, AStepsTasksSeeItsChangesPublished) {
  AddGroup("g", 1);
  int64_t seen_size = -1;
  {
    StepLock lock(&rt_);
    Group* g = rt_.FindLocked("g");
    ASSERT_NE(g, nullptr);
    g->spec.mutable_allocation()->set_size(5);
    rt_.executor->Post([&] { seen_size = rt_.views.Find("g")->spec.allocation().size(); });
  }
  inner_.RunAll();
  EXPECT_EQ(seen_size, 5);
}

// Views are published at the end of each step that found the group, and a view taken earlier
// keeps what it showed; a forgotten group is no longer found; a starting one never is.
TEST_F(RuntimeTest, StepsPublishViewsThatNeverChangeAfterwards) {
  Group* g = AddGroup("g", 1);
  std::shared_ptr<const GroupView> first = rt_.views.Find("g");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->status.desired(), 1);
  EXPECT_TRUE(first->members->empty());
  {
    StepLock lock(&rt_);
    ASSERT_EQ(rt_.FindLocked("g"), g);
    Member& m = g->members["i-1"];
    auto d = std::make_shared<iv1::Description>();
    d->set_id("i-1");
    m.desc = d;
    g->TouchMember("i-1");
  }
  std::shared_ptr<const GroupView> second = rt_.views.Find("g");
  EXPECT_EQ(second->members->size(), 1u);
  EXPECT_EQ(second->status.actual(), 1);
  EXPECT_TRUE(first->members->empty());
  EXPECT_EQ(first->status.actual(), 0);
  // A step that did not find the group publishes nothing new.
  { StepLock lock(&rt_); }
  EXPECT_EQ(rt_.views.Find("g"), second);

  AddGroup("starting", 1);
  {
    StepLock lock(&rt_);
    rt_.groups["starting"]->starting = true;
    rt_.UnpublishLocked(rt_.groups["starting"].get());
    rt_.MarkViewDirtyLocked(rt_.groups["starting"].get());
  }
  EXPECT_EQ(rt_.views.Find("starting"), nullptr);
  {
    StepLock lock(&rt_);
    rt_.UnpublishLocked(g);
    rt_.groups.erase("g");
  }
  EXPECT_EQ(rt_.views.Find("g"), nullptr);
  EXPECT_EQ(second->members->size(), 1u);  // still readable by whoever holds it
}

}  // namespace
}  // namespace infrakit::services::group
