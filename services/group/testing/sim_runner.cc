#include "services/group/testing/sim_runner.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/group/planner.h"
#include "spec/group_spec.h"

namespace infrakit::services::group::testing {
namespace {

constexpr size_t kTraceLines = 60;
// Tasks one settling may run: only a livelock gets there.
constexpr int kTaskLimit = 200000;
// Slow calls nest (a slow call's interleaved task makes a slow call) at most this deep.
constexpr int kMaxDepth = 2;
// How long a lost instance counts toward the floor: the time the controller may take to
// learn of it (a held event, a lost stream and its relisting, a health check).
constexpr absl::Duration kLossWindow = absl::Seconds(60);

std::string TagOf(const iv1::Description& d, const std::string& key) {
  auto it = d.tags().find(key);
  return it == d.tags().end() ? "" : it->second;
}

}  // namespace

std::string ReproductionLine(uint64_t seed) {
  return absl::StrCat("bazel test //services/group:sim_test --test_arg=--seed=", seed,
                      " --test_output=streamed");
}

SimResult RunSimulation(uint64_t seed) { return SimRunner(seed).Run(); }

SimRunner::SimRunner(uint64_t seed)
    : seed_(seed),
      faults_(seed),
      scenario_(&faults_),
      real_instance_(&clock_),
      instance_(std::make_shared<SimInstancePlugin>(&real_instance_, &faults_, &clock_)),
      flavor_(std::make_shared<SimFlavorPlugin>(&real_flavor_, &faults_)),
      checker_(
          &real_instance_,
          [this](const iv1::Description& d) { return flavor_->ReportedHealthy(d.id()); }, &clock_,
          kSimGroup) {}

SimRunner::~SimRunner() {
  controller_.reset();
  executor_.Clear();
}

void SimRunner::Trace(const std::string& line) {
  trace_.push_back(absl::StrCat("step ", step_, " ",
                                absl::FormatTime("%H:%M:%E3S", clock_.Now(), absl::UTCTimeZone()),
                                ": ", line));
  if (trace_.size() > kTraceLines) trace_.erase(trace_.begin());
}

void SimRunner::Setup() {
  setup_ = scenario_.DrawSetup();
  faults_.DrawRates();
  start_ = clock_.Now();
  resolver_.AddInstance(kSimInstancePlugin, instance_);
  resolver_.AddFlavor(kSimFlavorPlugin, flavor_);
  real_instance_.set_watch_supported(!setup_.polling);
  real_flavor_.set_startup_delay(&clock_, setup_.startup_delay);
  real_instance_.set_on_provision([this](const iv1::Spec& spec, int) {
    Trace(absl::StrCat("provision ", spec.logical_id(), " key ", spec.idempotency_key()));
    checker_.OnRealProvision(spec);
  });
  // The flavor's startup delay runs from an instance's first health check: checking every
  // new instance at its creation makes it run from the creation, whoever asks first.
  real_instance_.set_after_create([this] {
    for (const auto& d : real_instance_.Instances()) real_flavor_.HealthOf(d);
  });
  real_instance_.set_on_destroy([this](const iv1::Description& d) {
    Trace(absl::StrCat("destroy ", d.id(), " ", d.logical_id()));
    checker_.OnRealDestroy(d);
    // A probe of a destroyed instance fails, as one of a killed instance does: the controller
    // may still check it when its Destroy timed out (and worked).
    real_flavor_.SetHealth(d.id(), fv1::HEALTH_UNHEALTHY);
  });
  instance_->set_hooks(checker_.Hooks());
  instance_->set_slow([this] { Interleave(); });
  instance_->set_log([this](const std::string& what) { Trace(what); });
  flavor_->set_slow([this] { Interleave(); });
  flavor_->set_drain_hook(
      [this](const iv1::Description& d, const std::optional<absl::Status>& answer) {
        if (answer.has_value()) {
          checker_.OnDrainAnswered(d, *answer);
          return;
        }
        Trace(absl::StrCat("drain asked ", d.id()));
        checker_.OnDrainAsked(d);
      });
  checker_.set_limits([this] { return Limits(); });

  controller_ =
      std::make_unique<Controller>(setup_.options, &resolver_, &store_, &clock_, &executor_);
  if (absl::Status st = controller_->Start(); !st.ok()) {
    checker_.Fail(absl::StrCat("Start: ", st.ToString()));
  }
  gv1::WatchGroupRequest req;
  *req.mutable_spec() = setup_.spec;
  auto r = controller_->WatchGroup(req);
  if (!r.ok()) checker_.Fail(absl::StrCat("WatchGroup: ", r.status().ToString()));
  Trace(absl::StrCat("watch ", setup_.pets ? "pets" : "cattle", " desired ",
                     DesiredCount(setup_.spec), setup_.polling ? " (polling)" : "",
                     setup_.spec.remediation().enabled() ? " with remediation" : "", "; faults ",
                     faults_.Describe()));
}

SimResult SimRunner::Run() {
  Setup();
  step_limits_ = LimitsNow();
  for (step_ = 1; step_ <= setup_.steps && !checker_.failed(); ++step_) {
    step_limits_ = LimitsNow();
    for (const SimAction& a : scenario_.NextActions(instance_->down(), flavor_->down())) {
      Apply(a);
      if (checker_.failed()) break;
    }
    Advance(scenario_.StepDuration());
  }
  if (!checker_.failed()) ConvergencePhase();

  SimResult result;
  result.seed = seed_;
  result.ok = !checker_.failed();
  result.failure = checker_.violation();
  result.step = step_;
  result.trace = trace_;
  result.summary = absl::StrFormat(
      "%d steps, %d plugin faults, %d provisions, %d destroys, peak %d, %d restarts, %s "
      "simulated",
      setup_.steps, instance_->faults() + flavor_->faults(), checker_.provisions(),
      checker_.destroys(), checker_.peak(), restarts_, absl::FormatDuration(clock_.Now() - start_));
  return result;
}

void SimRunner::Apply(const SimAction& action) {
  switch (action.kind) {
    case SimAction::Kind::kScale:
    case SimAction::Kind::kUpdate:
    case SimAction::Kind::kStopUpdate:
      ApplyUser(action);
      break;
    default:
      ApplyWorld(action);
      break;
  }
  RunTasks();
}

void SimRunner::ApplyUser(const SimAction& action) {
  switch (action.kind) {
    case SimAction::Kind::kScale:
      Scale(action.size);
      break;
    case SimAction::Kind::kUpdate:
      Update(action.spec, action.bad).IgnoreError();
      break;
    default: {
      gv1::StopUpdateRequest req;
      req.set_id(kSimGroup);
      absl::Status st = controller_->StopUpdate(req);
      Trace(absl::StrCat("stop update: ", st.ToString()));
      break;
    }
  }
}

void SimRunner::Scale(int64_t size) {
  gv1::SetSizeRequest req;
  req.set_id(kSimGroup);
  req.set_size(size);
  auto r = controller_->SetSize(req);
  Trace(absl::StrCat("scale to ", size, ": ", r.status().ToString()));
  if (!r.ok()) scenario_.Rejected();
}

absl::Status SimRunner::Update(const gv1::GroupSpec& spec, bool bad) {
  // A config that never becomes HEALTHY: its update must fail at its deadline.
  if (bad) real_flavor_.SetShaHealth(spec::ConfigSha(spec), fv1::HEALTH_UNHEALTHY);
  gv1::UpdateGroupRequest req;
  *req.mutable_spec() = spec;
  auto sub = controller_->UpdateGroup(
      req, [](const gv1::UpdateGroupResponse&) {}, [](const absl::Status&) {});
  Trace(absl::StrCat(
      "update to ", spec.instance().properties().fields().at("Note").string_value(), " desired ",
      DesiredCount(spec), " surge ", spec.update_policy().max_surge().count(), " unavailable ",
      spec.update_policy().max_unavailable().count(), ": ", sub.status().ToString()));
  // Ending the subscription stops its callbacks, not the update.
  if (!sub.ok()) scenario_.Rejected();
  return sub.status();
}

void SimRunner::Restart() {
  ++restarts_;
  // What the controller had accepted (the user's requests, a rollback) survives the crash.
  auto before = Inspect();
  // A crash: nothing the dying controller would still write reaches the store.
  store_.set_error(absl::UnavailableError("sim: crashed"));
  controller_.reset();
  RunTasks();
  store_.set_error(absl::OkStatus());
  controller_ =
      std::make_unique<Controller>(setup_.options, &resolver_, &store_, &clock_, &executor_);
  absl::Status st = controller_->Start();
  Trace(absl::StrCat("controller restarted: ", st.ToString()));
  if (!st.ok()) checker_.Fail(absl::StrCat("Start after a crash: ", st.ToString()));
  auto after = Inspect();
  if (before.ok() != after.ok()) {
    checker_.Fail(absl::StrCat("the group was ", before.ok() ? "" : "not ",
                               "known before the crash and is ", after.ok() ? "" : "not ",
                               "after it"));
  } else if (before.ok() && (spec::ConfigSha(before->spec()) != spec::ConfigSha(after->spec()) ||
                             DesiredCount(before->spec()) != DesiredCount(after->spec()))) {
    checker_.Fail("the restarted controller lost an acknowledged spec");
  }
}

std::string SimRunner::PickInstance() {
  std::vector<std::string> ids;
  for (const auto& d : real_instance_.Instances()) {
    if (TagOf(d, "infrakit.group") == kSimGroup) ids.push_back(d.id());
  }
  if (ids.empty()) return "";
  return ids[faults_.Uniform(0, static_cast<int64_t>(ids.size()) - 1)];
}

void SimRunner::ApplyWorld(const SimAction& action) {
  using Kind = SimAction::Kind;
  switch (action.kind) {
    case Kind::kRestart:
      // Creations under way are not persisted: a restarted controller does not know of an
      // instance its predecessor created that the plugin does not list yet, and creates
      // another. A known limit of the controller, kept out of the runs (see docs/testing.md).
      if (lag_ > absl::ZeroDuration()) {
        Trace("crash skipped: listings lag");
        return;
      }
      Restart();
      return;
    case Kind::kKillInstance:
    case Kind::kSicken: {
      const std::string id = PickInstance();
      if (id.empty()) return;
      for (const auto& d : real_instance_.Instances()) {
        if (d.id() == id) checker_.NoteLost(d, kLossWindow);
      }
      if (action.kind == Kind::kKillInstance) {
        real_instance_.RemoveExternal(id);
        // A probe of a dead instance fails (a lagging listing may still show it).
        real_flavor_.SetHealth(id, fv1::HEALTH_UNHEALTHY);
      } else {
        real_flavor_.SetHealth(id, fv1::HEALTH_UNHEALTHY);
        sick_.push_back(id);
      }
      Trace(absl::StrCat(action.kind == Kind::kKillInstance ? "killed " : "sickened ", id));
      return;
    }
    case Kind::kInstanceDown:
    case Kind::kInstanceUp:
      instance_->set_down(action.kind == Kind::kInstanceDown);
      Trace(action.kind == Kind::kInstanceDown ? "instance plugin died" : "instance plugin back");
      return;
    case Kind::kFlavorDown:
    case Kind::kFlavorUp:
      flavor_->set_down(action.kind == Kind::kFlavorDown);
      Trace(action.kind == Kind::kFlavorDown ? "flavor plugin died" : "flavor plugin back");
      return;
    case Kind::kClockJump:
      Trace(absl::StrCat("clock jumps ", absl::FormatDuration(action.jump)));
      clock_.Jump(action.jump);
      return;
    case Kind::kListingLag:
      real_instance_.set_listing_lag(action.jump);
      lag_ = action.jump;
      Trace(absl::StrCat("listing lag ", absl::FormatDuration(action.jump)));
      return;
    default:
      return;
  }
}

void SimRunner::RunTasks() {
  if (executor_.RunAll([this] { WidenStepLimits(); }, kTaskLimit) == -1) {
    checker_.Fail("tasks kept coming: livelock");
  }
}

void SimRunner::Advance(absl::Duration d) {
  RunTasks();
  const absl::Time end = clock_.Now() + d;
  while (!checker_.failed() && clock_.NextDeadline() <= end) {
    clock_.AdvanceToNextTimer();
    RunTasks();
  }
  if (clock_.Now() < end) clock_.Advance(end - clock_.Now());
  RunTasks();
}

void SimRunner::Interleave() {
  if (depth_ >= kMaxDepth) return;
  ++depth_;
  for (int64_t n = faults_.Uniform(1, 6); n > 0 && executor_.RunOne(); --n) {
    WidenStepLimits();
  }
  clock_.Advance(faults_.UniformDuration(absl::ZeroDuration(), absl::Seconds(3)));
  --depth_;
}

absl::StatusOr<gv1::InspectGroupResponse> SimRunner::Inspect() {
  if (controller_ == nullptr) return absl::UnavailableError("no controller");
  gv1::InspectGroupRequest req;
  req.set_id(kSimGroup);
  return controller_->InspectGroup(req);
}

SimLimits SimRunner::LimitsNow() {
  SimLimits limits;
  auto inspect = Inspect();
  if (!inspect.ok()) return limits;
  const gv1::GroupSpec& spec = inspect->spec();
  const gv1::GroupStatus& status = inspect->status();
  const int64_t desired = DesiredCount(spec);
  const RollingLimits rolling = ResolveRollingLimits(spec, desired);
  limits.pets = spec.allocation().has_logical_ids();
  for (const std::string& lid : spec.allocation().logical_ids().ids())
    limits.logical_ids.insert(lid);
  const bool active = status.updating() || status.paused();
  limits.cap = desired + (active ? rolling.surge : 0);
  if (status.updating() && !status.paused() && !status.stopped()) {
    limits.floor = desired - rolling.unavailable;
  } else if (status.stopped() && !limits.pets) {
    limits.floor = desired;
  }
  return limits;
}

void SimRunner::WidenStepLimits() {
  const SimLimits now = LimitsNow();
  if (now.cap >= 0 && step_limits_.cap >= 0) {
    step_limits_.cap = std::max(step_limits_.cap, now.cap);
  }
  if (now.floor >= 0 && step_limits_.floor >= 0) {
    step_limits_.floor = std::min(step_limits_.floor, now.floor);
  }
}

SimLimits SimRunner::Limits() {
  SimLimits now = LimitsNow();
  SimLimits before = step_limits_;
  if (now.cap >= 0 && before.cap >= 0) now.cap = std::max(now.cap, before.cap);
  if (now.floor >= 0 && before.floor >= 0) now.floor = std::min(now.floor, before.floor);
  return now;
}

void SimRunner::ConvergencePhase() {
  ++step_;
  faults_.set_active(false);
  instance_->set_down(false);
  flavor_->set_down(false);
  real_instance_.set_listing_lag(absl::ZeroDuration());
  lag_ = absl::ZeroDuration();
  for (const auto& id : sick_) real_flavor_.ClearHealth(id);
  Trace("faults stop");
  RunTasks();
  // A paused or stopped update, or one to a config that never becomes HEALTHY, waits for the
  // user: the user's next move is a fresh config.
  auto inspect = Inspect();
  const bool bad = absl::StartsWith(
      scenario_.spec().instance().properties().fields().at("Note").string_value(), "bad");
  // Refused (the members not known yet, a plugin still down): the user tries again.
  std::optional<gv1::GroupSpec> fresh;
  absl::Time refused_at = clock_.Now();
  if (!inspect.ok() || bad || inspect->status().paused() || inspect->status().stopped()) {
    step_limits_ = LimitsNow();
    fresh = scenario_.FreshConfig();
    if (Update(*fresh, false).ok()) fresh.reset();
    RunTasks();
  }
  step_limits_ = LimitsNow();
  const absl::Time end = clock_.Now() + kConvergeBound;
  std::string why = NotConverged();
  // An update that failed its deadline on what the faults did pauses (or rolls back to a
  // config that pauses): the user's next move is again a fresh config, at most twice.
  int retries = 2;
  while (!why.empty() && !checker_.failed() && clock_.NextDeadline() <= end) {
    clock_.AdvanceToNextTimer();
    RunTasks();
    why = NotConverged();
    if (fresh.has_value() && clock_.Now() - refused_at >= absl::Seconds(10)) {
      refused_at = clock_.Now();
      if (Update(*fresh, false).ok()) {
        fresh.reset();
        RunTasks();
        continue;
      }
    }
    auto status = Inspect();
    if (!why.empty() && retries > 0 && status.ok() && status->status().paused()) {
      --retries;
      Update(scenario_.FreshConfig(), false).IgnoreError();
      RunTasks();
    }
  }
  if (!why.empty()) {
    checker_.Fail(absl::StrCat("not converged ", absl::FormatDuration(kConvergeBound),
                               " after the faults stopped: ", why));
  }
}

std::string SimRunner::NotConverged() {
  auto inspect = Inspect();
  if (!inspect.ok()) return inspect.status().ToString();
  const gv1::GroupStatus& st = inspect->status();
  if (!st.converged() || st.updating() || st.paused()) {
    return absl::StrFormat(
        "status desired %d actual %d healthy %d outdated %d updating %d "
        "paused %d stopped %d last_error \"%s\"",
        st.desired(), st.actual(), st.healthy(), st.outdated(), st.updating(), st.paused(),
        st.stopped(), st.last_error());
  }
  std::set<std::string> truth;
  std::multiset<std::string> lids;
  for (const auto& d : real_instance_.Instances()) {
    if (TagOf(d, "infrakit.group") != kSimGroup) continue;
    truth.insert(d.id());
    lids.insert(d.logical_id());
    if (TagOf(d, "infrakit.config_sha") != st.config_sha()) {
      return absl::StrCat(d.id(), " is not on the group's config");
    }
    if (real_flavor_.HealthOf(d) != fv1::HEALTH_HEALTHY) return absl::StrCat(d.id(), " unhealthy");
  }
  if (static_cast<int64_t>(truth.size()) != DesiredCount(inspect->spec())) {
    return absl::StrCat(truth.size(), " instances, ", DesiredCount(inspect->spec()), " desired");
  }
  std::set<std::string> members;
  for (const auto& m : inspect->members()) members.insert(m.id());
  if (members != truth) return "the controller's members are not the plugin's instances";
  if (inspect->spec().allocation().has_logical_ids()) {
    const auto& ids = inspect->spec().allocation().logical_ids().ids();
    if (lids != std::multiset<std::string>(ids.begin(), ids.end())) {
      return "the instances' logical IDs are not the spec's";
    }
  }
  return "";
}

}  // namespace infrakit::services::group::testing
