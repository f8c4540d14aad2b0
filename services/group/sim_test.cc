// The seeded simulation of the group controller (services/group/testing/sim_runner.h): every
// seed is a scenario with faults, checked at every Provision and Destroy against the
// invariants of sim_invariants.h, then required to converge once the faults stop.
//
// A failing seed prints the one line that replays it:
//   bazel test //services/group:sim_test --test_arg=--seed=SEED --test_output=streamed
// which runs that seed alone and prints its trace. Keep it in kRegressionSeeds once fixed.
// --test_arg=--seeds=N runs seeds 1..N instead of the default range (e.g. a long soak).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "services/group/testing/sim_runner.h"

namespace infrakit::services::group {
namespace {

using testing::ReproductionLine;
using testing::RunSimulation;
using testing::SimResult;

// Seeds that once failed, replayed on every run.
constexpr uint64_t kRegressionSeeds[] = {
    57,    // an empty listing right after a restart was believed: every pet created again
    43,    // a creation in flight at a restart was made again under a new key (keys now persisted)
    229,   // each pass queued one more creation while members waited to be destroyed
    703,   // one empty listing wrote off a creation not listed yet and made it again
    685,   // a clock jump wrote off creations by time alone (now a fresh listing decides)
    977,   // a creation queued under an update's surge started after the update ended
    333,   // a stopped update destroyed a HEALTHY member for creations not listed yet
    108,   // a member two configs old was checked with the current flavor and counted HEALTHY
    1399,  // a verdict minutes old (checks failing, clock jump) counted a member available
    102,   // a smaller size during an update destroyed HEALTHY members for unlisted creations
    92,    // a creation sent under a config two updates old was checked with the current flavor
    325,   // a stopped update destroyed members with stale verdicts for an unlisted creation
    729,   // a scale-down decided at size 0 went ahead after the size was raised again
    446,   // a Destroy that timed out (and had worked) put its member back as available
    82,    // a stopped update ended while an older member's destroy was still under way
    1211,  // an empty listing was believed while the only known members were being destroyed
    1748,  // (checker) the floor judged when a slow Drain arrived, not when the controller asked
    1351,  // (sim) a watch lost before SYNCED let a second injected empty listing confirm the first
    1388,  // (sim) a probe of a killed instance still listed answered HEALTHY
    2765,  // a failed Provision's retry (its instance made) was cancelled and another created
    1874,  // a listing lagging behind the events dropped a member created moments before
    // Found by a soak of seeds 2,001-8,000 and fixed by the changes above (docs/design.md).
    2062, 2497, 2531, 2603, 4434, 4736, 5173, 6069, 6591, 6643, 6849, 6864, 6877, 7014, 7791,
    3281,  // an older health check's verdict, returning last, overwrote a newer one
    3912,  // a scale-down during an update, retried after a failed Drain, broke the floor
    6052,  // an extra of a stopped update, retried after failed Drains, broke the size's floor
    7778,  // a member of a config unknown to the group, checked with another's, counted available
    5491,  // (sim) a probe of an instance its (timed-out) Destroy removed answered HEALTHY
};

// Seeds of the default range whose failures are not triaged yet, skipped (and counted) so that
// the suite guards every other seed; each is replayed with --test_arg=--seed=N, and
// --test_arg=--triaged runs them all. None today: every seed of the default range holds.
// A seed goes here only while its failure is being understood (a controller fix, or a sharper
// invariant); then it leaves, and stays in kRegressionSeeds.
constexpr std::array<uint64_t, 0> kUnderTriage{};

// The default range, 1 .. kBlocks * kSeedsPerBlock, in blocks that Bazel's shards share.
constexpr int kBlocks = 40;
uint64_t g_seeds_per_block = 50;
// --seed=S: that seed alone, with its trace.
uint64_t g_only_seed = 0;
// --triaged: the seeds under triage run too (to see which still fail).
bool g_with_triaged = false;
// The seed running, for the report of a crash (LOG(FATAL) or CHECK in the controller).
uint64_t g_current_seed = 0;

void OnFatal() {
  std::fprintf(stderr, "sim: seed %llu crashed; reproduce: %s\n",
               static_cast<unsigned long long>(g_current_seed),
               ReproductionLine(g_current_seed).c_str());
  std::abort();
}

// Runs `seed`; a failure names it, says how to replay it and shows its last actions.
void Check(uint64_t seed, bool verbose) {
  g_current_seed = seed;
  SimResult r = RunSimulation(seed);
  if (verbose || !r.ok) {
    std::fprintf(stderr, "sim seed %llu: %s\n  %s\n", static_cast<unsigned long long>(seed),
                 r.ok ? "ok" : "FAILED", r.summary.c_str());
    std::fprintf(stderr, "  %s\n", absl::StrJoin(r.trace, "\n  ").c_str());
  }
  if (!r.ok) {
    std::fprintf(stderr, "sim: seed %llu failed; reproduce: %s\n",
                 static_cast<unsigned long long>(seed), ReproductionLine(seed).c_str());
  }
  EXPECT_TRUE(r.ok) << "seed " << seed << " failed at step " << r.step << ": " << r.failure
                    << "\n  reproduce: " << ReproductionLine(seed) << "\n  then keep it: add "
                    << seed << " to kRegressionSeeds in services/group/sim_test.cc";
}

TEST(SimTest, OneSeed) {
  if (g_only_seed == 0) GTEST_SKIP() << "no --seed";
  Check(g_only_seed, /*verbose=*/true);
}

TEST(SimTest, RegressionSeeds) {
  if (g_only_seed != 0) GTEST_SKIP();
  for (uint64_t seed : kRegressionSeeds) {
    if (seed != 0) Check(seed, /*verbose=*/false);
  }
}

class SimBlockTest : public ::testing::TestWithParam<int> {};

TEST_P(SimBlockTest, SeedsHold) {
  if (g_only_seed != 0) GTEST_SKIP();
  const uint64_t first = 1 + static_cast<uint64_t>(GetParam()) * g_seeds_per_block;
  int skipped = 0;
  for (uint64_t seed = first; seed < first + g_seeds_per_block; ++seed) {
    if (!g_with_triaged && std::find(std::begin(kUnderTriage), std::end(kUnderTriage), seed) !=
                               std::end(kUnderTriage)) {
      ++skipped;
      continue;
    }
    Check(seed, /*verbose=*/false);
  }
  if (skipped > 0) std::fprintf(stderr, "sim: %d seeds under triage skipped\n", skipped);
}

INSTANTIATE_TEST_SUITE_P(Blocks, SimBlockTest, ::testing::Range(0, kBlocks));

}  // namespace
}  // namespace infrakit::services::group

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  google::InitGoogleLogging(argv[0]);
  google::InstallFailureFunction(&infrakit::services::group::OnFatal);
  namespace g = infrakit::services::group;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    uint64_t n = 0;
    if (absl::ConsumePrefix(&arg, "--seed=") && absl::SimpleAtoi(arg, &n)) {
      g::g_only_seed = n;
    } else if (arg == "--triaged") {
      g::g_with_triaged = true;
    } else if (absl::ConsumePrefix(&arg, "--seeds=") && absl::SimpleAtoi(arg, &n)) {
      g::g_seeds_per_block = (n + g::kBlocks - 1) / g::kBlocks;
    } else {
      std::fprintf(stderr, "unknown argument %s (--seed=N, --seeds=N, --triaged)\n", argv[i]);
      return 2;
    }
  }
  // The controller's logs of thousands of runs would drown the report; a replayed seed shows
  // them.
  FLAGS_minloglevel = g::g_only_seed != 0 ? 0 : 3;
  if (g::g_only_seed != 0) ::testing::GTEST_FLAG(filter) = "SimTest.OneSeed";
  FLAGS_logtostderr = true;
  return RUN_ALL_TESTS();
}
