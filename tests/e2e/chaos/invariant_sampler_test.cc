// The sampler on a scripted ground truth: each invariant, broken once, is reported with its
// phase and context; readings that keep them are not.
#include "tests/e2e/chaos/invariant_sampler.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace infrakit::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Returns what the test last set.
class ScriptedTruth : public GroundTruth {
 public:
  void Set(Reading reading) {
    absl::MutexLock lock(&mu_);
    reading_ = std::move(reading);
  }
  Reading Read() override {
    absl::MutexLock lock(&mu_);
    return reading_;
  }
  std::string ProbeCommand() const override { return "true"; }

 private:
  absl::Mutex mu_;
  Reading reading_ ABSL_GUARDED_BY(mu_);
};

LiveInstance Instance(const std::string& id, bool healthy, const std::string& logical_id = "") {
  LiveInstance i;
  i.id = id;
  i.logical_id = logical_id;
  i.config_sha = "sha";
  i.healthy = healthy;
  return i;
}

class InvariantSamplerTest : public ::testing::Test {
 protected:
  InvariantSamplerTest() {
    auto truth = std::make_unique<ScriptedTruth>();
    truth_ = truth.get();
    sampler_ = std::make_unique<InvariantSampler>(std::move(truth), absl::Milliseconds(1));
  }

  // Sets the reading and waits until the sampler has judged it.
  void Show(Reading reading) {
    truth_->Set(std::move(reading));
    sampler_->Fresh();
  }

  ScriptedTruth* truth_;
  std::unique_ptr<InvariantSampler> sampler_;
};

TEST_F(InvariantSamplerTest, ReadingsWithinTheLimitsAreNoViolation) {
  Limits limits;
  limits.cap = 3;
  limits.floor = 1;
  limits.pets = true;
  sampler_->SetLimits(limits, "update");
  Show({{"i1", Instance("i1", true, "a")}, {"i2", Instance("i2", false, "b")}});
  Show({{"i1", Instance("i1", true, "a")},
        {"i2", Instance("i2", true, "b")},
        {"i3", Instance("i3", false, "c")}});
  SamplerStats stats = sampler_->Stop();
  EXPECT_THAT(stats.violations, IsEmpty());
  EXPECT_EQ(stats.peak, 3);
  EXPECT_GE(stats.samples, 2);
}

TEST_F(InvariantSamplerTest, AboveTheCapIsReportedWithPhaseAndContext) {
  Limits limits;
  limits.cap = 1;
  sampler_->SetLimits(limits, "scale 2 -> 1");
  sampler_->SetContext("kill -9 group");
  Show({{"i1", Instance("i1", true)}, {"i2", Instance("i2", true)}});
  SamplerStats stats = sampler_->Stop();
  ASSERT_FALSE(stats.violations.empty());
  EXPECT_THAT(stats.violations[0], HasSubstr("2 live instances, above the cap of 1"));
  EXPECT_THAT(stats.violations[0], HasSubstr("scale 2 -> 1"));
  EXPECT_THAT(stats.violations[0], HasSubstr("kill -9 group"));
}

TEST_F(InvariantSamplerTest, FewerHealthyThanTheFloorIsReported) {
  Limits limits;
  limits.floor = 2;
  sampler_->SetLimits(limits, "update");
  Show({{"i1", Instance("i1", true)}, {"i2", Instance("i2", false)}});
  SamplerStats stats = sampler_->Stop();
  ASSERT_FALSE(stats.violations.empty());
  EXPECT_THAT(stats.violations[0], HasSubstr("1 healthy instances, below the floor of 2"));
}

TEST_F(InvariantSamplerTest, TwoInstancesOfOneLogicalIdAreReported) {
  Limits limits;
  limits.pets = true;
  sampler_->SetLimits(limits, "pets");
  Show({{"i1", Instance("i1", true, "a")}, {"i2", Instance("i2", false, "a")}});
  SamplerStats stats = sampler_->Stop();
  ASSERT_FALSE(stats.violations.empty());
  EXPECT_THAT(stats.violations[0], HasSubstr("logical ID a has 2 live instances: i1, i2"));
}

TEST_F(InvariantSamplerTest, AnInstanceThatComesBackIsReported) {
  Show({{"i1", Instance("i1", true)}});
  Show({});
  Show({{"i1", Instance("i1", true)}});
  SamplerStats stats = sampler_->Stop();
  ASSERT_EQ(stats.violations.size(), 1u) << stats.violations[0];
  EXPECT_THAT(stats.violations[0], HasSubstr("i1 came back after it was gone"));
}

TEST_F(InvariantSamplerTest, NoLimitsNoViolations) {
  Show({{"i1", Instance("i1", false, "a")}, {"i2", Instance("i2", false, "a")}});
  EXPECT_THAT(sampler_->Stop().violations, IsEmpty());
}

}  // namespace
}  // namespace infrakit::testing
