// EngineClient against real, private Docker engines (PrivateEngine): two engines in one network
// namespace form a swarm through the client, and every call's success and error are checked.
// Skips with a message where dockerd is not installed.
#include "plugins/flavor/swarm/engine_client.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "plugins/flavor/swarm/private_engine.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

// Lines of /proc/mounts (this mount namespace) that name `dir`.
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::ifstream mounts("/proc/mounts");
  std::vector<std::string> found;
  std::string line;
  while (std::getline(mounts, line)) {
    if (absl::StrContains(line, dir)) found.push_back(line);
  }
  return found;
}

// The one node labelled infrakit.instance=`instance`, through `client`.
absl::StatusOr<SwarmNode> NodeOf(const EngineClient& client, const std::string& instance) {
  absl::StatusOr<std::vector<SwarmNode>> nodes =
      client.Nodes({{"label", {"infrakit.instance=" + instance}}});
  if (!nodes.ok()) return nodes.status();
  if (nodes->size() != 1) {
    return absl::NotFoundError(
        absl::StrCat(nodes->size(), " nodes labelled infrakit.instance=", instance));
  }
  return nodes->front();
}

TEST(EngineClientTest, NoEngineIsUnavailableNamingTheSocket) {
  TempDir dir;
  EngineClient client(dir.Join("none.sock"), absl::Seconds(5));
  absl::StatusOr<EngineInfo> info = client.Info();
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable) << info.status();
  EXPECT_TRUE(absl::StrContains(info.status().message(), dir.Join("none.sock"))) << info.status();
  EXPECT_EQ(EngineHttpStatus(info.status()), 0);
  EXPECT_EQ(client.Ping().code(), absl::StatusCode::kUnavailable);
}

TEST(EngineClientTest, SwarmOfTwoEnginesThroughTheApi) {
  const std::string missing = PrivateEngine::Missing();
  if (!missing.empty()) GTEST_SKIP() << missing;
  TempDir dir;
  {
    PrivateEngine first(dir.path(), "a");
    PrivateEngine second(dir.path(), "b");
    absl::Time start = absl::Now();
    ASSERT_TRUE(first.Start({{"infrakit.instance", "a"}}).ok()) << first.LogTail();
    const absl::Duration first_start = absl::Now() - start;
    start = absl::Now();
    ASSERT_TRUE(second.Start({{"infrakit.instance", "b"}}, first.pid()).ok()) << second.LogTail();
    const absl::Duration second_start = absl::Now() - start;
    std::cout << "dockerd start: " << first_start << ", " << second_start
              << "; RSS with containerd: " << first.RssKib() << " KiB, " << second.RssKib()
              << " KiB" << std::endl;
    // The engines' mounts stay in their own mount namespace.
    EXPECT_TRUE(MountsUnder(dir.path()).empty());

    EngineClient a(first.socket_path());
    EngineClient b(second.socket_path());

    // GET /info before any swarm.
    absl::StatusOr<EngineInfo> info = a.Info();
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->local_node_state, "inactive");
    EXPECT_EQ(info->labels["infrakit.instance"], "a");
    EXPECT_FALSE(info->control_available);
    EXPECT_TRUE(info->node_id.empty());

    // GET /swarm on an engine outside a swarm: the engine's 503 and message.
    absl::StatusOr<SwarmInfo> no_swarm = a.Swarm();
    ASSERT_FALSE(no_swarm.ok());
    EXPECT_EQ(no_swarm.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(EngineHttpStatus(no_swarm.status()), 503);
    EXPECT_TRUE(absl::StrContains(no_swarm.status().message(), "GET /swarm: HTTP 503: "))
        << no_swarm.status();
    EXPECT_TRUE(absl::StrContains(no_swarm.status().message(), "not a swarm manager"))
        << no_swarm.status();

    // POST /swarm/init.
    start = absl::Now();
    absl::StatusOr<std::string> manager_id =
        a.InitSwarm({"127.0.0.21:2377", "127.0.0.21", "127.0.0.21"});
    ASSERT_TRUE(manager_id.ok()) << manager_id.status();
    std::cout << "swarm init: " << absl::Now() - start << std::endl;
    info = a.Info();
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->local_node_state, "active");
    EXPECT_TRUE(info->control_available);
    EXPECT_EQ(info->node_id, *manager_id);
    EXPECT_EQ(info->node_addr, "127.0.0.21");

    absl::StatusOr<std::string> again = a.InitSwarm({"127.0.0.21:2377", "127.0.0.21", ""});
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(absl::StrContains(again.status().message(), "already part of a swarm"))
        << again.status();

    // GET /swarm: the join tokens.
    absl::StatusOr<SwarmInfo> swarm = a.Swarm();
    ASSERT_TRUE(swarm.ok()) << swarm.status();
    EXPECT_TRUE(absl::StartsWith(swarm->worker_join_token, "SWMTKN-1-"));
    EXPECT_TRUE(absl::StartsWith(swarm->manager_join_token, "SWMTKN-1-"));
    EXPECT_NE(swarm->worker_join_token, swarm->manager_join_token);
    EXPECT_GT(swarm->version, 0u);

    // POST /swarm/join as a worker.
    EXPECT_EQ(b.JoinSwarm({"127.0.0.22:2377", "127.0.0.22", "127.0.0.22", {}, "x"}).code(),
              absl::StatusCode::kInvalidArgument);
    start = absl::Now();
    absl::Status joined = b.JoinSwarm({"127.0.0.22:2377",
                                       "127.0.0.22",
                                       "127.0.0.22",
                                       {"127.0.0.21:2377"},
                                       swarm->worker_join_token});
    ASSERT_TRUE(joined.ok()) << joined;
    std::cout << "swarm join: " << absl::Now() - start << std::endl;
    start = absl::Now();

    // GET /nodes?filters=: the worker by its engine label, Ready.
    absl::StatusOr<SwarmNode> worker;
    EXPECT_TRUE(WaitFor(
        [&] {
          worker = NodeOf(a, "b");
          return worker.ok() && worker->state == "ready";
        },
        absl::Seconds(30), absl::Milliseconds(50)))
        << (worker.ok() ? worker->state : worker.status().ToString());
    ASSERT_TRUE(worker.ok()) << worker.status();
    std::cout << "worker ready: " << absl::Now() - start << " after the join" << std::endl;
    EXPECT_EQ(worker->role, "worker");
    EXPECT_EQ(worker->availability, "active");
    EXPECT_FALSE(worker->is_manager);
    EXPECT_EQ(worker->engine_labels["infrakit.instance"], "b");

    absl::StatusOr<std::vector<SwarmNode>> all = a.Nodes();
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(all->size(), 2u);
    absl::StatusOr<std::vector<SwarmNode>> managers = a.Nodes({{"role", {"manager"}}});
    ASSERT_TRUE(managers.ok()) << managers.status();
    ASSERT_EQ(managers->size(), 1u);
    EXPECT_EQ(managers->front().id, *manager_id);
    EXPECT_TRUE(managers->front().is_manager);
    EXPECT_TRUE(managers->front().leader);
    EXPECT_EQ(managers->front().reachability, "reachable");
    EXPECT_EQ(managers->front().manager_addr, "127.0.0.21:2377");
    EXPECT_EQ(managers->front().engine_labels["infrakit.instance"], "a");

    // A worker cannot answer manager calls.
    absl::StatusOr<std::vector<SwarmNode>> from_worker = b.Nodes();
    ASSERT_FALSE(from_worker.ok());
    EXPECT_EQ(from_worker.status().code(), absl::StatusCode::kFailedPrecondition);

    // POST /nodes/{id}/update?version=: drain the worker and label it.
    ASSERT_TRUE(
        a.UpdateNode(worker->id, worker->version, {"worker", "drain", {{"infrakit.x", "y"}}}).ok());
    absl::StatusOr<SwarmNode> drained = NodeOf(a, "b");
    ASSERT_TRUE(drained.ok()) << drained.status();
    EXPECT_EQ(drained->availability, "drain");
    EXPECT_EQ(drained->spec_labels["infrakit.x"], "y");
    EXPECT_GT(drained->version, worker->version);
    // A stale version: the engine refuses it (re-read and retry).
    absl::Status stale = a.UpdateNode(worker->id, worker->version, {"worker", "active", {}});
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(EngineHttpStatus(stale), 500) << stale;
    EXPECT_EQ(stale.code(), absl::StatusCode::kInternal) << stale;
    absl::Status unknown = a.UpdateNode("nosuch", 1, {"worker", "active", {}});
    EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound) << unknown;
    EXPECT_TRUE(absl::StrContains(unknown.message(), "node nosuch not found")) << unknown;

    // POST /swarm/leave on the worker, then DELETE /nodes/{id} on the manager.
    start = absl::Now();
    absl::Status left = b.LeaveSwarm();
    std::cout << "worker leave: " << absl::Now() - start << std::endl;
    ASSERT_TRUE(left.ok()) << left;
    absl::StatusOr<EngineInfo> worker_info = b.Info();
    ASSERT_TRUE(worker_info.ok()) << worker_info.status();
    EXPECT_EQ(worker_info->local_node_state, "inactive");
    absl::Status removed = a.RemoveNode(worker->id);
    ASSERT_TRUE(removed.ok()) << removed;
    absl::StatusOr<std::vector<SwarmNode>> gone = a.Nodes({{"label", {"infrakit.instance=b"}}});
    ASSERT_TRUE(gone.ok()) << gone.status();
    EXPECT_TRUE(gone->empty());
    absl::Status remove_unknown = a.RemoveNode("nosuch");
    EXPECT_EQ(remove_unknown.code(), absl::StatusCode::kNotFound) << remove_unknown;
    EXPECT_TRUE(absl::StrContains(remove_unknown.message(),
                                  "DELETE /nodes/nosuch?force=true: "
                                  "HTTP 404: node nosuch not found"))
        << remove_unknown;

    // The last manager leaves with force.
    absl::Status manager_left = a.LeaveSwarm();
    ASSERT_TRUE(manager_left.ok()) << manager_left;
    info = a.Info();
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->local_node_state, "inactive");

    // kill -9 of one engine, a clean stop of the other: nothing is left either way.
    start = absl::Now();
    second.Kill();
    second.Stop();
    std::cout << "dockerd kill -9 and containerd clean-up: " << absl::Now() - start << std::endl;
    start = absl::Now();
    first.Stop();
    std::cout << "dockerd stop: " << absl::Now() - start << std::endl;
  }
  EXPECT_TRUE(ProcessesNaming(dir.path()).empty());
  EXPECT_TRUE(MountsUnder(dir.path()).empty());
}

}  // namespace
}  // namespace infrakit::plugins::flavor::swarm
