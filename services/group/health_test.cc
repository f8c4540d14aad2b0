#include "services/group/health.h"

#include "gtest/gtest.h"

namespace infrakit::services::group {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

RemediationTiming Timing() {
  gv1::RemediationPolicy r;
  r.set_unhealthy_seconds(5);
  r.set_initial_delay_seconds(10);
  r.set_probe_interval_seconds(0.5);
  return TimingOf(r);
}

TEST(HealthTest, TimingDefaults) {
  const RemediationTiming t = TimingOf(gv1::RemediationPolicy());
  EXPECT_EQ(t.threshold, absl::Seconds(60));
  EXPECT_EQ(t.initial_delay, absl::Seconds(10));
  EXPECT_EQ(t.probe_interval, absl::Seconds(1));
  EXPECT_EQ(Timing().probe_interval, absl::Milliseconds(500));
}

TEST(HealthTest, AStartingMemberIsRemediableOnlyAfterItsGraceAndAFullWindow) {
  Member m;
  m.created = kT0;
  m.health = fv1::HEALTH_UNHEALTHY;
  m.unhealthy_since = kT0;  // its first check, before its service listened
  m.checked_at = kT0;
  const RemediationTiming t = Timing();
  EXPECT_EQ(UnhealthyWindowStart(m, t), kT0 + absl::Seconds(10));
  EXPECT_FALSE(Remediable(m, t));
  m.checked_at = kT0 + absl::Seconds(14);  // inside the window
  EXPECT_FALSE(Remediable(m, t));
  m.checked_at = kT0 + absl::Seconds(15);  // seen UNHEALTHY at both ends of it
  EXPECT_TRUE(Remediable(m, t));
}

TEST(HealthTest, AMemberThatWasHealthyHasNoGraceButNeedsAFreshVerdict) {
  Member m;
  m.created = kT0;
  m.ever_healthy = true;
  m.health = fv1::HEALTH_UNHEALTHY;
  m.unhealthy_since = kT0 + absl::Seconds(1);
  m.checked_at = kT0 + absl::Seconds(1);
  const RemediationTiming t = Timing();
  EXPECT_EQ(UnhealthyWindowStart(m, t), kT0 + absl::Seconds(1));
  // However much time passes, an old verdict does not condemn it.
  EXPECT_FALSE(Remediable(m, t));
  m.checked_at = kT0 + absl::Seconds(6);
  EXPECT_TRUE(Remediable(m, t));
  // A verdict made with another config's check never does.
  m.health_untrusted = true;
  EXPECT_FALSE(Remediable(m, t));
}

TEST(HealthTest, PendingVerdicts) {
  Member m;
  EXPECT_TRUE(RemediationPending(m));  // never checked
  m.health = fv1::HEALTH_HEALTHY;
  EXPECT_FALSE(RemediationPending(m));
  m.health = fv1::HEALTH_UNKNOWN;
  EXPECT_TRUE(RemediationPending(m));
  m.doomed = true;
  EXPECT_FALSE(RemediationPending(m));
}

}  // namespace
}  // namespace infrakit::services::group
