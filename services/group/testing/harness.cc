#include "services/group/testing/harness.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace infrakit::services::group::testing {
namespace {

bool Tagged(const iv1::Description& d, const std::string& key, const std::string& value) {
  auto it = d.tags().find(key);
  return it != d.tags().end() && it->second == value;
}

}  // namespace

int EventLog::Count(gv1::GroupEventType type) const {
  int n = 0;
  for (const auto& e : events) n += e.type() == type;
  return n;
}

bool EventLog::Has(gv1::GroupEventType type, const std::string& message_part) const {
  for (const auto& e : events) {
    if (e.type() == type && absl::StrContains(e.message(), message_part)) return true;
  }
  return false;
}

ControllerOptions Harness::DefaultOptions() {
  ControllerOptions o;
  o.resync_period = absl::Seconds(10);
  o.update_health_period = absl::Seconds(1);
  o.max_parallel_provisions = 8;
  o.max_parallel_destroys = 8;
  o.max_parallel_health_checks = 4;
  o.backoff_initial = absl::Seconds(1);
  o.backoff_max = absl::Seconds(60);
  o.listing_grace = absl::Seconds(30);
  o.empty_listing_confirm_delay = absl::Seconds(2);
  // Checked at once: tests see a member's health right after the events that brought it.
  o.health_gather_delay = absl::ZeroDuration();
  return o;
}

Harness::Harness(ControllerOptions o)
    : instance(std::make_shared<FakeInstancePlugin>(&clock)),
      flavor(std::make_shared<FakeFlavorPlugin>()),
      options(o) {
  resolver.AddInstance(kInstancePlugin, instance);
  resolver.AddFlavor(kFlavorPlugin, flavor);
  instance->set_on_provision(
      [this](const iv1::Spec& spec, int existing) { OnProvision(spec, existing); });
  instance->set_on_destroy([this](const iv1::Description& d) { OnDestroy(d); });
  EXPECT_TRUE(Restart().ok());
}

Harness::~Harness() {
  subscriptions.clear();
  controller.reset();
  executor.Clear();
}

gv1::GroupSpec Harness::Cattle(const std::string& id, int64_t size, const std::string& note) {
  gv1::GroupSpec s;
  s.set_id(id);
  s.mutable_instance()->set_plugin(kInstancePlugin);
  (*s.mutable_instance()->mutable_properties()->mutable_fields())["Note"].set_string_value(note);
  s.mutable_flavor()->set_plugin(kFlavorPlugin);
  (*s.mutable_flavor()->mutable_properties()->mutable_fields())["Init"].set_string_value("start");
  s.mutable_allocation()->set_size(size);
  return s;
}

gv1::GroupSpec Harness::Pets(const std::string& id, const std::vector<std::string>& logical_ids,
                             const std::string& note) {
  gv1::GroupSpec s = Cattle(id, 0, note);
  s.mutable_allocation()->clear_size();
  for (const auto& l : logical_ids) s.mutable_allocation()->mutable_logical_ids()->add_ids(l);
  return s;
}

absl::Status Harness::Restart() {
  absl::Status st = RestartUnsettled();
  Settle();
  return st;
}

absl::Status Harness::RestartUnsettled() {
  subscriptions.clear();
  controller.reset();
  // Work of the old controller still queued does nothing once it is gone.
  executor.RunAll();
  controller = std::make_unique<Controller>(options, &resolver, &store, &clock, &executor);
  return controller->Start();
}

void Harness::Watch(const gv1::GroupSpec& spec) {
  gv1::WatchGroupRequest req;
  *req.mutable_spec() = spec;
  auto r = controller->WatchGroup(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->message(), "watching " + spec.id());
  Settle();
}

void Harness::Settle() {
  int ran = executor.RunAll([this] { CheckStep(); }, 300000);
  ASSERT_NE(ran, -1) << "tasks kept coming: livelock";
}

void Harness::Advance(absl::Duration d) {
  // Work already queued happens now, before time moves.
  Settle();
  absl::Time end = clock.Now() + d;
  while (clock.NextDeadline() <= end) {
    clock.AdvanceToNextTimer();
    Settle();
  }
  clock.Advance(end - clock.Now());
  Settle();
}

bool Harness::RunUntil(const std::function<bool()>& done, absl::Duration limit) {
  absl::Time end = clock.Now() + limit;
  Settle();
  while (!done()) {
    if (clock.NextDeadline() > end) return false;
    clock.AdvanceToNextTimer();
    Settle();
  }
  return true;
}

std::shared_ptr<UpdateLog> Harness::Update(const gv1::GroupSpec& spec) {
  auto log = std::make_shared<UpdateLog>();
  gv1::UpdateGroupRequest req;
  *req.mutable_spec() = spec;
  auto sub = controller->UpdateGroup(
      req, [log](const gv1::UpdateGroupResponse& r) { log->messages.push_back(r); },
      [log](const absl::Status& st) {
        log->ended = true;
        log->end = st;
      });
  EXPECT_TRUE(sub.ok()) << sub.status();
  if (sub.ok()) subscriptions.push_back(std::move(*sub));
  return log;
}

std::shared_ptr<EventLog> Harness::Events(const std::string& id) {
  auto log = std::make_shared<EventLog>();
  gv1::StreamGroupEventsRequest req;
  req.set_id(id);
  auto sub = controller->StreamGroupEvents(
      req, [log](const gv1::GroupEvent& e) { log->events.push_back(e); },
      [log](const absl::Status& st) {
        log->ended = true;
        log->end = st;
      });
  EXPECT_TRUE(sub.ok()) << sub.status();
  if (sub.ok()) subscriptions.push_back(std::move(*sub));
  return log;
}

gv1::InspectGroupResponse Harness::Inspect(const std::string& id) {
  gv1::InspectGroupRequest req;
  req.set_id(id);
  auto r = controller->InspectGroup(req);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : gv1::InspectGroupResponse();
}

int Harness::Count(const std::string& id) { return instance->CountWithTag("infrakit.group", id); }

int Harness::CountSha(const std::string& id, const std::string& sha) {
  int n = 0;
  for (const auto& d : instance->Instances()) {
    if (Tagged(d, "infrakit.group", id) && Tagged(d, "infrakit.config_sha", sha)) ++n;
  }
  return n;
}

void Harness::OnProvision(const iv1::Spec& spec, int existing) {
  auto g = spec.tags().find("infrakit.group");
  if (g == spec.tags().end() || g->second != group) return;
  int mine = Count(group);
  peak = std::max(peak, mine + 1);
  provision_times.push_back(clock.Now());
  if (max_instances >= 0) {
    EXPECT_LE(mine + 1, max_instances) << "a Provision would make " << mine + 1 << " instances of "
                                       << group << ", more than " << max_instances;
  }
}

void Harness::OnDestroy(const iv1::Description& victim) {
  if (!Tagged(victim, "infrakit.group", group)) return;
  std::vector<iv1::Description> all;
  for (const auto& d : instance->Instances()) {
    if (Tagged(d, "infrakit.group", group)) all.push_back(d);
  }
  if (min_healthy >= 0) {
    int healthy_after = 0;
    for (const auto& d : all) {
      if (d.id() != victim.id() && flavor->HealthOf(d) == fv1::HEALTH_HEALTHY) ++healthy_after;
    }
    EXPECT_GE(healthy_after, min_healthy)
        << "destroying " << victim.id() << " leaves " << healthy_after << " healthy instances";
  }
  trough = std::min(trough, static_cast<int>(all.size()) - 1);
  auto sha = victim.tags().find("infrakit.config_sha");
  destroyed_shas.push_back(sha == victim.tags().end() ? "" : sha->second);
  destroy_times.push_back(clock.Now());
  if (check_current_config) {
    // Called from the controller's task without its lock: asking it is fine.
    const std::string current = Inspect(group).status().config_sha();
    if (Tagged(victim, "infrakit.config_sha", current)) {
      for (const auto& d : all) {
        EXPECT_TRUE(d.id() == victim.id() || Tagged(d, "infrakit.config_sha", current))
            << "destroying " << victim.id() << " (current config) while " << d.id()
            << " is outdated";
      }
    }
  }
}

void Harness::CheckStep() {
  // A Destroy is tried again after one that failed or timed out (it may have worked: an
  // instance already gone counts as destroyed), never after one that succeeded.
  for (const auto& [id, n] : instance->destroy_calls_after_ok()) {
    ADD_FAILURE() << id << " asked to be destroyed " << n << " more times after it was";
  }
  if (min_healthy >= 0) {
    // The floor of an update or a stop, after every task: the HEALTHY instances (per the fake
    // flavor, the ground truth) never fall below it because of something the controller did.
    int healthy = 0;
    for (const auto& d : instance->Instances()) {
      if (Tagged(d, "infrakit.group", group) && flavor->HealthOf(d) == fv1::HEALTH_HEALTHY) {
        ++healthy;
      }
    }
    EXPECT_GE(healthy, min_healthy)
        << "after a step, " << healthy << " healthy instances of " << group;
  }
}

}  // namespace infrakit::services::group::testing
