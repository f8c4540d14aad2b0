#include "services/group/testing/sim_scenario.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace infrakit::services::group::testing {

gv1::GroupSpec SimSpec(const std::vector<std::string>& lids, int64_t size, const std::string& note,
                       bool pets) {
  gv1::GroupSpec s;
  s.set_id(kSimGroup);
  s.mutable_instance()->set_plugin(kSimInstancePlugin);
  (*s.mutable_instance()->mutable_properties()->mutable_fields())["Note"].set_string_value(note);
  s.mutable_flavor()->set_plugin(kSimFlavorPlugin);
  (*s.mutable_flavor()->mutable_properties()->mutable_fields())["Init"].set_string_value("start");
  if (pets) {
    auto* ids = s.mutable_allocation()->mutable_logical_ids();
    for (const auto& l : lids) ids->add_ids(l);
  } else {
    s.mutable_allocation()->set_size(size);
  }
  return s;
}

SimSetup ScenarioGenerator::DrawSetup() {
  SimSetup setup;
  setup.pets = faults_->Chance(0.3);
  std::vector<std::string> lids;
  if (setup.pets) {
    for (int64_t i = faults_->Uniform(1, 4); i > 0; --i)
      lids.push_back(absl::StrCat("p", next_lid_++));
  }
  spec_ = SimSpec(lids, faults_->Uniform(0, 5), "v1", setup.pets);
  DrawPolicy(&spec_);
  if (faults_->Chance(0.35)) {
    gv1::RemediationPolicy* r = spec_.mutable_remediation();
    r->set_enabled(true);
    r->set_unhealthy_seconds(static_cast<double>(faults_->Uniform(3, 15)));
    r->set_max_concurrent(static_cast<int32_t>(faults_->Uniform(1, 2)));
    r->set_initial_delay_seconds(static_cast<double>(faults_->Uniform(2, 5)));
    r->set_probe_interval_seconds(1);
  }
  previous_ = spec_;
  setup.spec = spec_;

  ControllerOptions& o = setup.options;
  o.resync_period = absl::Seconds(10);
  o.update_health_period = absl::Seconds(1);
  o.max_parallel_provisions = static_cast<int>(faults_->Uniform(1, 4));
  o.max_parallel_destroys = static_cast<int>(faults_->Uniform(1, 4));
  o.max_parallel_health_checks = static_cast<int>(faults_->Uniform(1, 4));
  o.max_batch_size = static_cast<int>(faults_->Uniform(1, 4));
  o.max_health_batch_size = static_cast<int>(faults_->Uniform(1, 4));
  o.health_gather_delay = faults_->Chance(0.5) ? absl::ZeroDuration() : absl::Milliseconds(5);
  o.backoff_initial = absl::Seconds(1);
  o.backoff_max = absl::Seconds(faults_->Uniform(5, 60));
  o.listing_grace = absl::Seconds(30);
  o.empty_listing_confirm_delay = absl::Seconds(2);
  // A fixed nonce: the idempotency keys, and so the calls, are the same in every replay.
  o.idempotency_nonce = "sim";

  setup.polling = faults_->Chance(0.15);
  setup.startup_delay = faults_->UniformDuration(absl::ZeroDuration(), absl::Seconds(3));
  setup.steps = static_cast<int>(faults_->Uniform(15, 40));
  return setup;
}

void ScenarioGenerator::DrawPolicy(gv1::GroupSpec* spec) {
  gv1::UpdatePolicy* p = spec->mutable_update_policy();
  const bool pets = spec->allocation().has_logical_ids();
  // Pets roll in place (surge 0 by default); cattle may surge and go below the size.
  if (!pets) p->mutable_max_surge()->set_count(static_cast<int32_t>(faults_->Uniform(0, 2)));
  p->mutable_max_unavailable()->set_count(static_cast<int32_t>(faults_->Uniform(pets ? 1 : 0, 2)));
  // Both 0 is refused (an update that could never replace a member).
  if (p->max_surge().count() == 0 && p->max_unavailable().count() == 0) {
    p->mutable_max_surge()->set_count(1);
  }
  p->set_min_ready_seconds(static_cast<double>(faults_->Uniform(0, 2)));
  p->set_health_deadline_seconds(static_cast<double>(faults_->Uniform(20, 90)));
  p->set_on_failure(faults_->Chance(0.5) ? gv1::FAILURE_ACTION_PAUSE
                                         : gv1::FAILURE_ACTION_ROLLBACK);
}

gv1::GroupSpec ScenarioGenerator::NewConfig(bool bad) {
  gv1::GroupSpec s = spec_;
  ++version_;
  (*s.mutable_instance()->mutable_properties()->mutable_fields())["Note"].set_string_value(
      absl::StrCat(bad ? "bad-v" : "v", version_));
  DrawPolicy(&s);
  return s;
}

gv1::GroupSpec ScenarioGenerator::FreshConfig() {
  previous_ = spec_;
  spec_ = NewConfig(false);
  return spec_;
}

SimAction ScenarioGenerator::DrawUserAction() {
  SimAction a{SimAction::Kind::kUpdate};
  const bool pets = spec_.allocation().has_logical_ids();
  const int64_t roll = faults_->Uniform(0, 99);
  previous_ = spec_;
  if (roll < 15) {
    a.kind = SimAction::Kind::kStopUpdate;
  } else if (roll < 50 && !pets) {
    a.kind = SimAction::Kind::kScale;
    a.size = faults_->Uniform(0, 6);
    spec_.mutable_allocation()->set_size(a.size);
  } else if (roll < 50) {
    // Pets: a logical ID more or less, applied as an update.
    auto* ids = spec_.mutable_allocation()->mutable_logical_ids()->mutable_ids();
    if (ids->empty() || (ids->size() < 5 && faults_->Chance(0.5))) {
      *ids->Add() = absl::StrCat("p", next_lid_++);
    } else {
      ids->erase(ids->begin() + faults_->Uniform(0, ids->size() - 1));
    }
    a.spec = spec_;
  } else {
    a.bad = faults_->Chance(0.2);
    spec_ = NewConfig(a.bad);
    a.spec = spec_;
  }
  return a;
}

SimAction ScenarioGenerator::DrawWorldAction(bool instance_down, bool flavor_down) {
  using Kind = SimAction::Kind;
  SimAction a{Kind::kRestart};
  const int64_t roll = faults_->Uniform(0, 99);
  if (roll < 20) {
    a.kind = Kind::kRestart;
  } else if (roll < 45) {
    a.kind = Kind::kKillInstance;
  } else if (roll < 60) {
    a.kind = Kind::kSicken;
  } else if (roll < 70) {
    a.kind = instance_down ? Kind::kInstanceUp : Kind::kInstanceDown;
  } else if (roll < 80) {
    a.kind = flavor_down ? Kind::kFlavorUp : Kind::kFlavorDown;
  } else if (roll < 90) {
    a.kind = Kind::kClockJump;
    a.jump = faults_->UniformDuration(absl::Seconds(30), absl::Minutes(10));
  } else {
    a.kind = Kind::kListingLag;
    // Below the listing grace: a creation listed later than that is lost by design.
    a.jump = faults_->Chance(0.5)
                 ? absl::ZeroDuration()
                 : faults_->UniformDuration(absl::ZeroDuration(), absl::Seconds(20));
  }
  return a;
}

std::vector<SimAction> ScenarioGenerator::NextActions(bool instance_down, bool flavor_down) {
  std::vector<SimAction> actions;
  // A dead plugin is restarted (by systemd, say) within a few steps.
  if (instance_down && faults_->Chance(0.4)) actions.push_back({SimAction::Kind::kInstanceUp});
  if (flavor_down && faults_->Chance(0.4)) actions.push_back({SimAction::Kind::kFlavorUp});
  if (faults_->Chance(0.3)) actions.push_back(DrawUserAction());
  while (faults_->active() && faults_->Chance(0.35)) {
    actions.push_back(DrawWorldAction(instance_down, flavor_down));
  }
  return actions;
}

absl::Duration ScenarioGenerator::StepDuration() {
  if (faults_->Chance(0.1)) return faults_->UniformDuration(absl::Seconds(15), absl::Seconds(60));
  return faults_->UniformDuration(absl::Milliseconds(100), absl::Seconds(15));
}

}  // namespace infrakit::services::group::testing
