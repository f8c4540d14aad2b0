// What the Controller tells its ControllerMetrics, on the deterministic harness: provisions,
// destroys by reason, failures, errors, heals, watch events and update progress.
#include "services/group/controller_metrics.h"

#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "services/group/controller.h"
#include "services/group/testing/harness.h"

namespace infrakit::services::group {
namespace {

using testing::Harness;

// Counts every call by "<method>/<group>/<label>".
class RecordingMetrics : public ControllerMetrics {
 public:
  void Provisioned(const std::string& group, int64_t count) override {
    Add("provisioned/" + group, count);
  }
  void Destroyed(const std::string& group, absl::string_view reason) override {
    Add("destroyed/" + group + "/" + std::string(reason), 1);
  }
  void Failed(const std::string& group, absl::string_view operation, int64_t count) override {
    Add("failed/" + group + "/" + std::string(operation), count);
  }
  void Error(const std::string& group) override { Add("error/" + group, 1); }
  void Healed(const std::string& group, absl::string_view cause) override {
    Add("healed/" + group + "/" + std::string(cause), 1);
  }
  void WatchEvent(const std::string& group, absl::string_view type) override {
    Add("watch/" + group + "/" + std::string(type), 1);
  }
  void UpdateProgress(const std::string& group, int64_t updated, int64_t total) override {
    absl::MutexLock lock(&mu_);
    progress_[group] = {updated, total};
  }

  int64_t Get(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = counts_.find(key);
    return it == counts_.end() ? 0 : it->second;
  }
  std::pair<int64_t, int64_t> Progress(const std::string& group) {
    absl::MutexLock lock(&mu_);
    return progress_[group];
  }

 private:
  void Add(const std::string& key, int64_t n) {
    absl::MutexLock lock(&mu_);
    counts_[key] += n;
  }
  absl::Mutex mu_;
  std::map<std::string, int64_t> counts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::pair<int64_t, int64_t>> progress_ ABSL_GUARDED_BY(mu_);
};

TEST(ControllerMetricsTest, ReportsWhatTheControllerDoes) {
  RecordingMetrics metrics;
  ControllerOptions options = Harness::DefaultOptions();
  options.metrics = &metrics;
  Harness h(options);

  h.Watch(Harness::Cattle("web", 3));
  ASSERT_TRUE(h.RunUntil([&] { return h.Status("web").converged(); }));
  EXPECT_EQ(metrics.Get("provisioned/web"), 3);
  EXPECT_GE(metrics.Get("watch/web/added"), 3);

  // A member removed behind the controller's back, and its first replacement failing.
  h.instance->FailProvisions(1, absl::UnavailableError("cloud down"));
  h.instance->RemoveExternal(h.Inspect("web").members(0).id());
  ASSERT_TRUE(h.RunUntil(
      [&] { return h.Status("web").converged() && metrics.Get("provisioned/web") == 4; }));
  EXPECT_EQ(metrics.Get("healed/web/vanished"), 1);
  EXPECT_GE(metrics.Get("watch/web/removed"), 1);
  EXPECT_EQ(metrics.Get("failed/web/provision"), 1);
  EXPECT_GE(metrics.Get("error/web"), 1);

  // Scale down, then a rolling update.
  infrakit::group::v1::SetSizeRequest resize;
  resize.set_id("web");
  resize.set_size(2);
  ASSERT_TRUE(h.controller->SetSize(resize).ok());
  ASSERT_TRUE(h.RunUntil([&] { return h.Status("web").converged(); }));
  EXPECT_EQ(metrics.Get("destroyed/web/scale_down"), 1);
  auto log = h.Update(Harness::Cattle("web", 2, "v2"));
  ASSERT_TRUE(
      h.RunUntil([&] { return log->last_phase() == infrakit::group::v1::UPDATE_PHASE_COMPLETED; }));
  EXPECT_EQ(metrics.Get("destroyed/web/rolling_update"), 2);
  EXPECT_EQ(metrics.Progress("web"), std::make_pair(int64_t{2}, int64_t{2}));
  EXPECT_EQ(metrics.Get("healed/web/vanished"), 1);  // our own destroys are no heals
}

}  // namespace
}  // namespace infrakit::services::group
