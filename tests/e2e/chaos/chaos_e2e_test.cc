// Chaos with the real binaries: infrakit-group, an instance plugin (infrakit-instance-process:
// real processes; infrakit-instance-file: files) and infrakit-flavor-vanilla, started as a user
// starts them, are killed (-9), stopped (SIGSTOP / SIGCONT), robbed of their socket or given a
// stale one at seeded random points of rolling updates and resizes, and restarted. A sampler
// reads what really exists (the process table, the instance files) every few milliseconds and
// checks each reading against the invariants (invariant_sampler.h); once the faults stop, the
// group must converge on its spec. See docs/reliability.md.
//
// Every run draws a fresh seed and prints it; a failure names it, and
//   bazel test //tests/e2e/chaos:chaos_e2e_test --test_arg=--seed=N --test_output=streamed
// draws the same faults at the same points again (the processes' own timing still varies).
// --test_arg=--faults_per_phase=N (default 5) makes a longer soak; a replay needs the same N.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/config/group_config.h"
#include "client/group_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.pb.h"
#include "spec/group_spec.h"
#include "tests/e2e/chaos/chaos_cluster.h"
#include "tests/e2e/chaos/ground_truth.h"
#include "tests/e2e/chaos/invariant_sampler.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::testing::ChaosCluster;
using ::infrakit::testing::DescribeFault;
using ::infrakit::testing::DrawFault;
using ::infrakit::testing::Fault;
using ::infrakit::testing::FaultKind;
using ::infrakit::testing::InstanceFilesTruth;
using ::infrakit::testing::InvariantSampler;
using ::infrakit::testing::Limits;
using ::infrakit::testing::ProcessTableTruth;
using ::infrakit::testing::Reading;
using ::infrakit::testing::Role;
using ::infrakit::testing::SamplerStats;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;

// The seed of this run (--seed=N, else drawn in main) and what each scenario drew from it.
uint64_t g_seed = 0;

// Faults in each phase of a scenario (--faults_per_phase=N for a longer soak).
int g_faults_per_phase = 5;
// Generous: the machine is shared; a group that converges does so within seconds.
constexpr absl::Duration kConverge = absl::Seconds(90);
constexpr absl::Duration kPoll = absl::Milliseconds(20);
// How often the sampler reads the ground truth.
constexpr absl::Duration kSamplePause = absl::Milliseconds(5);
constexpr char kGroup[] = "chaos";

// What a phase must end with.
struct Target {
  int size = 0;
  std::string sha;
  // Pets: the logical IDs, one member each.
  std::set<std::string> logical_ids;
};

// Never above `cap` live instances, never fewer than `floor` healthy (-1: unchecked); pets:
// one live instance per logical ID.
Limits Limit(int cap, int floor, bool pets = false) {
  Limits limits;
  limits.cap = cap;
  limits.floor = floor;
  limits.pets = pets;
  return limits;
}

std::string Quoted(const std::vector<std::string>& items) {
  return absl::StrCat("[\"", absl::StrJoin(items, "\", \""), "\"]");
}

// A group on instance-process: each instance a shell that becomes ready (writes `ready` in its
// directory) 0.3 s after it starts, and stays in the foreground, never exec'ing again (so that
// its environment can be read at any moment). `allocation` and `update` are JSON members.
gv1::GroupSpec ProcessGroup(int version, const std::string& allocation, const std::string& update,
                            const std::string& probe) {
  const std::string config = absl::StrCat(R"({
    "ID": "chaos",
    "Properties": {
      )",
                                          allocation, R"(,
      "Update": )",
                                          update, R"(,
      "Instance": {"Plugin": "instance-process", "Properties": {"StopGraceSeconds": 2}},
      "Flavor": {"Plugin": "flavor-vanilla", "Properties": {
        "Init": ["echo version )",
                                          version, R"(", "sleep 0.3", "touch ready",
                 "while :; do sleep 3600; done"],
        "HealthCheck": {"Command": ")",
                                          probe, R"(", "TimeoutSeconds": 2}}}
    }
  })");
  auto spec = client::config::ParseGroupConfig(config);
  EXPECT_TRUE(spec.ok()) << spec.status() << "\n" << config;
  return spec.ok() ? *spec : gv1::GroupSpec();
}

// Pets on instance-process, replaced one at a time (unavailable 1, no surge).
gv1::GroupSpec ProcessPets(int version, const std::vector<std::string>& logical_ids,
                           const std::string& probe) {
  return ProcessGroup(version, absl::StrCat(R"("LogicalIDs": )", Quoted(logical_ids)),
                      R"({"MaxUnavailable": 1, "HealthDeadlineSeconds": 120})", probe);
}

// Cattle on instance-process, surge 1 and unavailable 0: every old member stays until its
// replacement is healthy.
gv1::GroupSpec ProcessCattle(int version, int size, const std::string& probe) {
  return ProcessGroup(version, absl::StrCat(R"("Size": )", size),
                      R"({"MaxSurge": 1, "MaxUnavailable": 0, "HealthDeadlineSeconds": 120})",
                      probe);
}

// Cattle on instance-file, surge 2 and unavailable 1; the sampler "boots" each file (see
// InstanceFilesTruth).
gv1::GroupSpec FileCattle(int version, int size, const std::string& probe) {
  const std::string config = absl::StrCat(R"({
    "ID": "chaos",
    "Properties": {
      "Size": )",
                                          size, R"(,
      "Update": {"MaxSurge": 2, "MaxUnavailable": 1, "HealthDeadlineSeconds": 120},
      "Instance": {"Plugin": "instance-file", "Properties": {"Note": "version )",
                                          version, R"("}},
      "Flavor": {"Plugin": "flavor-vanilla", "Properties": {
        "Init": ["echo hello"],
        "HealthCheck": {"Command": ")",
                                          probe, R"(", "TimeoutSeconds": 2}}}
    }
  })");
  auto spec = client::config::ParseGroupConfig(config);
  EXPECT_TRUE(spec.ok()) << spec.status() << "\n" << config;
  return spec.ok() ? *spec : gv1::GroupSpec();
}

class ChaosTest : public ::testing::Test {
 protected:
  // `scenario` numbers the test, so that each draws its own faults from the run's seed,
  // whichever tests run.
  void Begin(int scenario, const std::string& instance_plugin) {
    std::seed_seq seq{static_cast<uint32_t>(g_seed), static_cast<uint32_t>(g_seed >> 32),
                      static_cast<uint32_t>(scenario)};
    rng_.seed(seq);
    std::fprintf(stderr, "chaos: seed %llu (replay: --test_arg=--seed=%llu)\n",
                 static_cast<unsigned long long>(g_seed), static_cast<unsigned long long>(g_seed));
    cluster_ = std::make_unique<ChaosCluster>(&dir_, instance_plugin);
    absl::Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started << cluster_->Logs();
    std::unique_ptr<testing::GroundTruth> truth;
    if (instance_plugin == "instance-process") {
      truth = std::make_unique<ProcessTableTruth>(cluster_->instances_dir(), kGroup);
    } else {
      truth = std::make_unique<InstanceFilesTruth>(cluster_->instances_dir(), cluster_->ready_dir(),
                                                   kGroup, absl::Milliseconds(300));
    }
    sampler_ = std::make_unique<InvariantSampler>(std::move(truth), kSamplePause);
  }

  void TearDown() override {
    EndUpdate();
    if (sampler_ != nullptr) {
      const SamplerStats stats = sampler_->Stop();
      const auto& n = cluster_->injected();
      std::fprintf(stderr,
                   "chaos: seed %llu: faults: %d kill -9 (%d of them leaving a stale socket "
                   "bound), %d SIGSTOP, %d sockets removed; %lld samples, peak %d live, %zu "
                   "violations\n",
                   static_cast<unsigned long long>(g_seed), n[0], n[3], n[1], n[2],
                   static_cast<long long>(stats.samples), stats.peak, stats.violations.size());
      EXPECT_TRUE(stats.violations.empty())
          << "seed " << g_seed << ": invariants broken:\n  "
          << absl::StrJoin(stats.violations, "\n  ") << "\n  replay: --test_arg=--seed=" << g_seed
          << cluster_->Logs();
    }
    if (cluster_ != nullptr) cluster_->KillAll();
  }

  const std::string& probe() const { return sampler_->probe_command(); }

  absl::StatusOr<gv1::InspectGroupResponse> Inspect() {
    gv1::InspectGroupRequest request;
    request.set_id(kGroup);
    return cluster_->groups().InspectGroup(request);
  }

  void Watch(const gv1::GroupSpec& spec) {
    gv1::WatchGroupRequest request;
    *request.mutable_spec() = spec;
    auto watched = cluster_->groups().WatchGroup(request);
    ASSERT_TRUE(watched.ok()) << watched.status() << cluster_->Logs();
  }

  // Starts UpdateGroup on a thread of its own and returns once the group accepted the update
  // (so that a fault cannot come before it).
  void StartUpdate(const gv1::GroupSpec& spec) {
    EndUpdate();
    update_client_ = cluster_->NewGroupClient();
    update_token_ = std::make_unique<client::StreamCancelToken>();
    auto accepted = std::make_shared<absl::Notification>();
    auto ended = std::make_shared<absl::Notification>();
    auto status = std::make_shared<absl::Status>();
    gv1::UpdateGroupRequest request;
    *request.mutable_spec() = spec;
    update_thread_ = std::thread([this, request, accepted, ended, status] {
      *status = update_client_->UpdateGroup(
          request,
          [&](const gv1::UpdateGroupResponse&) {
            if (!accepted->HasBeenNotified()) accepted->Notify();
          },
          update_token_.get());
      ended->Notify();
    });
    ASSERT_TRUE(WaitFor([&] { return accepted->HasBeenNotified() || ended->HasBeenNotified(); },
                        kConverge, kPoll));
    ASSERT_TRUE(accepted->HasBeenNotified()) << "update refused: " << *status << cluster_->Logs();
  }

  // Stops listening to the update (the update itself goes on).
  void EndUpdate() {
    if (update_token_ != nullptr) update_token_->Cancel();
    if (update_thread_.joinable()) update_thread_.join();
    update_token_.reset();
    update_client_.reset();
  }

  void SetSize(int size) {
    gv1::SetSizeRequest request;
    request.set_id(kGroup);
    request.set_size(size);
    auto resized = cluster_->groups().SetSize(request);
    ASSERT_TRUE(resized.ok()) << resized.status() << cluster_->Logs();
  }

  // Waits until the group has reached `target`, as it says and as the ground truth shows.
  void WaitConverged(const Target& target) {
    std::string last;
    const bool converged = WaitFor(
        [&] {
          auto r = Inspect();
          if (!r.ok()) {
            last = r.status().ToString();
            return false;
          }
          const Reading reading = sampler_->Fresh();
          int on_sha = 0;
          int healthy = 0;
          std::set<std::string> logical_ids;
          for (const auto& [id, i] : reading) {
            on_sha += i.config_sha == target.sha;
            healthy += i.healthy;
            if (!i.logical_id.empty()) logical_ids.insert(i.logical_id);
          }
          last = absl::StrCat(r->status().DebugString(), "members ", r->members_size(), "; live ",
                              reading.size(), ", on the target config ", on_sha, ", healthy ",
                              healthy);
          const gv1::GroupStatus& s = r->status();
          return s.converged() && !s.updating() && s.config_sha() == target.sha &&
                 s.desired() == target.size && r->members_size() == target.size &&
                 s.healthy() == target.size && static_cast<int>(reading.size()) == target.size &&
                 on_sha == target.size && healthy == target.size &&
                 logical_ids == target.logical_ids;
        },
        kConverge, kPoll);
    ASSERT_TRUE(converged) << "seed " << g_seed << ": not converged on " << target.size
                           << " members of " << target.sha << ": " << last << cluster_->Logs();
  }

  // One phase: `action` (with every process answering), then g_faults_per_phase faults at random
  // points, checked against `during` throughout; then the group must reach `target`, checked
  // against `after` from then on.
  void Phase(const std::string& name, const Limits& during, const std::function<void()>& action,
             const Target& target, const Limits& after) {
    sampler_->SetLimits(during, name);
    sampler_->SetContext(absl::StrCat(name, ": no fault yet"));
    ASSERT_NO_FATAL_FAILURE(action());
    for (int i = 0; i < g_faults_per_phase; ++i) {
      const Fault fault = DrawFault(rng_);
      std::string what = DescribeFault(fault, cluster_->name(fault.target));
      Fault inner;
      if (fault.overlap) {
        inner = DrawFault(rng_);
        inner.overlap = false;
        // Another process than the frozen one.
        inner.target = static_cast<Role>(
            (static_cast<int>(fault.target) + 1 + static_cast<int>(inner.target) % 2) % 3);
        absl::StrAppend(&what, ", and meanwhile after ", absl::FormatDuration(inner.before), ", ",
                        DescribeFault(inner, cluster_->name(inner.target)));
      }
      std::fprintf(stderr, "chaos: %s: after %s, %s\n", name.c_str(),
                   absl::FormatDuration(fault.before).c_str(), what.c_str());
      sampler_->SetContext(absl::StrCat(name, ": fault ", i + 1, ": ", what));
      absl::Status injected =
          fault.overlap ? cluster_->InjectWhileStopped(fault, inner) : cluster_->Inject(fault);
      ASSERT_TRUE(injected.ok()) << "seed " << g_seed << ": " << what << ": " << injected
                                 << cluster_->Logs();
    }
    sampler_->SetContext(absl::StrCat(name, ": faults over, converging"));
    ASSERT_NO_FATAL_FAILURE(WaitConverged(target));
    EndUpdate();
    sampler_->SetLimits(after, absl::StrCat(name, ": converged"));
  }

  // Waits until the group says it is waiting for `plugin`.
  void WaitWaitingFor(const std::string& plugin) {
    std::string last;
    ASSERT_TRUE(WaitFor(
        [&] {
          auto r = Inspect();
          last = r.ok() ? r->status().DebugString() : r.status().ToString();
          return r.ok() && r->status().waiting_for_plugin() == plugin;
        },
        kConverge, kPoll))
        << "the group does not say it waits for " << plugin << ": " << last << cluster_->Logs();
  }

  // Removes an instance file by hand (a member lost); returns its ID.
  std::string RemoveOneInstance() {
    const Reading reading = sampler_->Fresh();
    EXPECT_FALSE(reading.empty());
    if (reading.empty()) return "";
    const std::string id = reading.begin()->first;
    EXPECT_EQ(unlink(absl::StrCat(cluster_->instances_dir(), "/", id).c_str()), 0) << id;
    return id;
  }

  // The end of every scenario: the group destroyed, nothing of it left.
  void DestroyGroup() {
    sampler_->SetLimits(Limits(), "destroy");
    gv1::DestroyGroupRequest request;
    request.set_id(kGroup);
    auto destroyed = cluster_->groups().DestroyGroup(request);
    ASSERT_TRUE(destroyed.ok()) << destroyed.status() << cluster_->Logs();
    ASSERT_TRUE(WaitFor([&] { return sampler_->Fresh().empty(); }, kConverge, kPoll))
        << cluster_->Logs();
  }

  TempDir dir_;
  std::mt19937_64 rng_;
  std::unique_ptr<ChaosCluster> cluster_;
  std::unique_ptr<InvariantSampler> sampler_;
  std::unique_ptr<client::GroupClient> update_client_;
  std::unique_ptr<client::StreamCancelToken> update_token_;
  std::thread update_thread_;
};

// Pets on real processes: a rolling update (unavailable 1, no surge), then more logical IDs,
// then fewer, each under faults. Never two processes of one logical ID.
TEST_F(ChaosTest, ProcessPetsUpdateAndResizeUnderFaults) {
  ASSERT_NO_FATAL_FAILURE(Begin(1, "instance-process"));
  const std::vector<std::string> four = {"a", "b", "c", "d"};
  const std::vector<std::string> six = {"a", "b", "c", "d", "e", "f"};
  const std::vector<std::string> three = {"b", "d", "f"};
  const gv1::GroupSpec v1 = ProcessPets(1, four, probe());
  const std::string sha1 = spec::ConfigSha(v1);
  const gv1::GroupSpec v2 = ProcessPets(2, four, probe());
  const std::string sha2 = spec::ConfigSha(v2);
  ASSERT_NE(sha1, sha2);

  sampler_->SetLimits(Limit(4, -1, /*pets=*/true), "watch");
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_NO_FATAL_FAILURE(WaitConverged({4, sha1, {four.begin(), four.end()}}));

  ASSERT_NO_FATAL_FAILURE(Phase(
      "rolling update of 4 pets", Limit(4, 3, /*pets=*/true), [&] { StartUpdate(v2); },
      {4, sha2, {four.begin(), four.end()}}, Limit(4, 4, /*pets=*/true)));
  ASSERT_NO_FATAL_FAILURE(Phase(
      "pets 4 -> 6", Limit(6, 4, /*pets=*/true), [&] { StartUpdate(ProcessPets(2, six, probe())); },
      {6, sha2, {six.begin(), six.end()}}, Limit(6, 6, /*pets=*/true)));
  ASSERT_NO_FATAL_FAILURE(Phase(
      "pets 6 -> 3", Limit(6, 3, /*pets=*/true),
      [&] { StartUpdate(ProcessPets(2, three, probe())); }, {3, sha2, {three.begin(), three.end()}},
      Limit(3, 3, /*pets=*/true)));
  ASSERT_NO_FATAL_FAILURE(DestroyGroup());
}

// Cattle on real processes: a rolling update (surge 1, unavailable 0: never fewer healthy than
// the size), a scale up and a scale down, each under faults.
TEST_F(ChaosTest, ProcessCattleUpdateAndScaleUnderFaults) {
  ASSERT_NO_FATAL_FAILURE(Begin(5, "instance-process"));
  const gv1::GroupSpec v1 = ProcessCattle(1, 3, probe());
  const std::string sha1 = spec::ConfigSha(v1);
  const gv1::GroupSpec v2 = ProcessCattle(2, 3, probe());
  const std::string sha2 = spec::ConfigSha(v2);
  ASSERT_NE(sha1, sha2);

  sampler_->SetLimits(Limit(3, -1), "watch");
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_NO_FATAL_FAILURE(WaitConverged({3, sha1, {}}));
  ASSERT_NO_FATAL_FAILURE(Phase(
      "rolling update of 3 processes", Limit(4, 3), [&] { StartUpdate(v2); }, {3, sha2, {}},
      Limit(3, 3)));
  ASSERT_NO_FATAL_FAILURE(Phase(
      "scale 3 -> 5 processes", Limit(5, 3), [&] { SetSize(5); }, {5, sha2, {}}, Limit(5, 5)));
  ASSERT_NO_FATAL_FAILURE(Phase(
      "scale 5 -> 2 processes", Limit(5, 2), [&] { SetSize(2); }, {2, sha2, {}}, Limit(2, 2)));
  ASSERT_NO_FATAL_FAILURE(DestroyGroup());
}

// Cattle on instance-file: a rolling update (surge 2, unavailable 1), a scale up, a scale
// down, then an update with a scale down in the middle of it, each under faults.
TEST_F(ChaosTest, FileCattleUpdateAndScaleUnderFaults) {
  ASSERT_NO_FATAL_FAILURE(Begin(2, "instance-file"));
  const gv1::GroupSpec v1 = FileCattle(1, 6, probe());
  const std::string sha1 = spec::ConfigSha(v1);
  const gv1::GroupSpec v2 = FileCattle(2, 6, probe());
  const std::string sha2 = spec::ConfigSha(v2);
  ASSERT_NE(sha1, sha2);

  sampler_->SetLimits(Limit(6, -1), "watch");
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_NO_FATAL_FAILURE(WaitConverged({6, sha1, {}}));

  ASSERT_NO_FATAL_FAILURE(Phase(
      "rolling update of 6", Limit(8, 5), [&] { StartUpdate(v2); }, {6, sha2, {}}, Limit(6, 6)));
  ASSERT_NO_FATAL_FAILURE(Phase(
      "scale 6 -> 10", Limit(10, 6), [&] { SetSize(10); }, {10, sha2, {}}, Limit(10, 10)));
  ASSERT_NO_FATAL_FAILURE(Phase(
      "scale 10 -> 4", Limit(10, 4), [&] { SetSize(4); }, {4, sha2, {}}, Limit(4, 4)));
  // An update of 4 that becomes an update of 3 on its way: never above the larger size +
  // surge, never fewer healthy than the smaller size - unavailable.
  const gv1::GroupSpec v3 = FileCattle(3, 4, probe());
  const std::string sha3 = spec::ConfigSha(v3);
  ASSERT_NO_FATAL_FAILURE(Phase(
      "rolling update of 4, scaled to 3 on its way", Limit(6, 2),
      [&] {
        StartUpdate(v3);
        SetSize(3);
      },
      {3, sha3, {}}, Limit(3, 3)));
  ASSERT_NO_FATAL_FAILURE(DestroyGroup());
}

// Sockets gone or stale: the group says which plugin it waits for, creates nothing meanwhile,
// and converges once the plugin is back (a restarted plugin replaces a stale socket itself). A
// second instance plugin started on the directory of one whose socket is gone is refused.
TEST_F(ChaosTest, MissingAndStaleSocketsTheGroupWaitsReportsAndRecovers) {
  ASSERT_NO_FATAL_FAILURE(Begin(3, "instance-file"));
  const gv1::GroupSpec v1 = FileCattle(1, 3, probe());
  const std::string sha1 = spec::ConfigSha(v1);
  sampler_->SetLimits(Limit(3, -1), "watch");
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_NO_FATAL_FAILURE(WaitConverged({3, sha1, {}}));

  // instance-file's socket removed under it, then the group restarted: the new group service
  // cannot reach the plugin, says so, and leaves the instances alone.
  sampler_->SetContext("instance-file's socket removed, group restarted");
  ASSERT_TRUE(cluster_->RemoveSocket(Role::kInstance).ok());
  // The name is free now, the directory is not: a second instance-file there is refused before
  // it reads anything.
  auto second = cluster_->RunSecond(Role::kInstance, "instance-file", kConverge);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(WIFEXITED(second->first) && WEXITSTATUS(second->first) == 1)
      << testing::DescribeExit(second->first) << "\n"
      << second->second;
  EXPECT_THAT(second->second,
              HasSubstr(absl::StrCat("instance directory ", cluster_->instances_dir(),
                                     " is in use by another instance plugin")));
  struct stat st;
  EXPECT_NE(stat(cluster_->socket(Role::kInstance).c_str(), &st), 0)
      << "the refused instance-file left a socket";
  absl::Status done = cluster_->TerminateProcess(Role::kGroup);
  ASSERT_TRUE(done.ok()) << done;
  done = cluster_->StartProcess(Role::kGroup);
  ASSERT_TRUE(done.ok()) << done;
  ASSERT_NO_FATAL_FAILURE(WaitWaitingFor("instance-file"));
  EXPECT_EQ(sampler_->Fresh().size(), 3u);
  // Restarted (it stops cleanly without its socket): the group carries on with the same three.
  done = cluster_->TerminateProcess(Role::kInstance);
  ASSERT_TRUE(done.ok()) << done;
  done = cluster_->StartProcess(Role::kInstance);
  ASSERT_TRUE(done.ok()) << done;
  ASSERT_NO_FATAL_FAILURE(WaitConverged({3, sha1, {}}));

  // flavor-vanilla killed, a stale socket in its place, and a member lost: no replacement can
  // be prepared; the group says whom it waits for.
  sampler_->SetContext("flavor-vanilla killed, a stale socket in its place, a member lost");
  cluster_->KillProcess(Role::kFlavor);
  absl::StatusOr<int> stale = cluster_->BindStaleSocket(Role::kFlavor);
  ASSERT_TRUE(stale.ok()) << stale.status();
  const std::string lost = RemoveOneInstance();
  ASSERT_NO_FATAL_FAILURE(WaitWaitingFor("flavor-vanilla"));
  EXPECT_EQ(sampler_->Fresh().size(), 2u);
  done = cluster_->StartProcess(Role::kFlavor);  // On the stale socket, still bound.
  close(*stale);
  ASSERT_TRUE(done.ok()) << done;
  EXPECT_THAT(cluster_->process(Role::kFlavor).Stderr(), HasSubstr("stale socket"));
  ASSERT_NO_FATAL_FAILURE(WaitConverged({3, sha1, {}}));
  EXPECT_EQ(sampler_->Fresh().count(lost), 0u);

  // instance-file killed, a stale socket in its place, and a member lost meanwhile.
  sampler_->SetContext("instance-file killed, a stale socket in its place, a member lost");
  cluster_->KillProcess(Role::kInstance);
  stale = cluster_->BindStaleSocket(Role::kInstance);
  ASSERT_TRUE(stale.ok()) << stale.status();
  ASSERT_NO_FATAL_FAILURE(WaitWaitingFor("instance-file"));
  RemoveOneInstance();
  EXPECT_EQ(sampler_->Fresh().size(), 2u);
  done = cluster_->StartProcess(Role::kInstance);
  close(*stale);
  ASSERT_TRUE(done.ok()) << done;
  ASSERT_NO_FATAL_FAILURE(WaitConverged({3, sha1, {}}));
  ASSERT_NO_FATAL_FAILURE(DestroyGroup());
}

// Two group services on one state directory: the second is refused (a clear message, exit 1,
// no socket), whether it comes under another name or under the first one's name with the
// first one's socket gone; the first carries on unaffected.
TEST_F(ChaosTest, ASecondGroupServiceOnTheStateDirectoryIsRefused) {
  ASSERT_NO_FATAL_FAILURE(Begin(4, "instance-file"));
  const gv1::GroupSpec v1 = FileCattle(1, 2, probe());
  const std::string sha1 = spec::ConfigSha(v1);
  sampler_->SetLimits(Limit(2, -1), "two group services");
  ASSERT_NO_FATAL_FAILURE(Watch(v1));
  ASSERT_NO_FATAL_FAILURE(WaitConverged({2, sha1, {}}));

  auto refused = [&](const std::string& name) {
    auto second = cluster_->RunSecond(Role::kGroup, name, kConverge);
    ASSERT_TRUE(second.ok()) << second.status();
    const auto& [status, stderr_text] = *second;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0)
        << testing::DescribeExit(status) << "\n"
        << stderr_text;
    EXPECT_THAT(stderr_text, HasSubstr(absl::StrCat("state directory ", cluster_->state_dir(),
                                                    " is in use by another group service")));
    struct stat st;
    EXPECT_NE(stat(absl::StrCat(cluster_->plugins_dir(), "/", name, ".sock").c_str(), &st), 0)
        << "the refused service left a socket";
  };
  ASSERT_NO_FATAL_FAILURE(refused("group-2"));
  // The first one's socket removed: the name is free, the state directory is not.
  ASSERT_TRUE(cluster_->RemoveSocket(Role::kGroup).ok());
  ASSERT_NO_FATAL_FAILURE(refused("group"));

  // The first one still manages the group: a lost member is replaced.
  EXPECT_FALSE(cluster_->process(Role::kGroup).Exited());
  const std::string lost = RemoveOneInstance();
  ASSERT_TRUE(WaitFor(
      [&] {
        const Reading reading = sampler_->Fresh();
        return reading.size() == 2 && reading.count(lost) == 0;
      },
      kConverge, kPoll))
      << cluster_->Logs();
  // And stops cleanly without its socket; restarted, it has the group as it was.
  absl::Status done = cluster_->TerminateProcess(Role::kGroup);
  ASSERT_TRUE(done.ok()) << done;
  done = cluster_->StartProcess(Role::kGroup);
  ASSERT_TRUE(done.ok()) << done;
  ASSERT_NO_FATAL_FAILURE(WaitConverged({2, sha1, {}}));
  ASSERT_NO_FATAL_FAILURE(DestroyGroup());
}

}  // namespace
}  // namespace infrakit

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--seed=") && !absl::SimpleAtoi(arg, &infrakit::g_seed)) {
      std::fprintf(stderr, "--seed: not a number: %s\n", argv[i]);
      return 2;
    }
    if (absl::ConsumePrefix(&arg, "--faults_per_phase=") &&
        (!absl::SimpleAtoi(arg, &infrakit::g_faults_per_phase) ||
         infrakit::g_faults_per_phase < 0)) {
      std::fprintf(stderr, "--faults_per_phase: not a count: %s\n", argv[i]);
      return 2;
    }
  }
  while (infrakit::g_seed == 0) {
    std::random_device device;
    infrakit::g_seed = static_cast<uint64_t>(device()) << 32 | device();
  }
  std::fprintf(stderr, "chaos: seed %llu\n", static_cast<unsigned long long>(infrakit::g_seed));
  return RUN_ALL_TESTS();
}
