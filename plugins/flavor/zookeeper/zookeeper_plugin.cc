#include "plugins/flavor/zookeeper/zookeeper_plugin.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "plugins/flavor/zookeeper/member_init.h"
#include "plugins/flavor/zookeeper/srvr_probe.h"
#include "plugins/flavor/zookeeper/zookeeper_properties.h"
#include "spi/item_status.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

v1::HealthyResponse Verdict(v1::Health health, std::string reason) {
  v1::HealthyResponse response;
  response.set_health(health);
  response.set_reason(std::move(reason));
  return response;
}

// Healthy's answer for parsed properties: asks the member at its logical ID.
v1::HealthyResponse Probe(const ZookeeperProperties& properties,
                          const ::infrakit::instance::v1::Description& instance,
                          absl::Duration timeout) {
  if (instance.logical_id().empty()) {
    return Verdict(v1::HEALTH_UNKNOWN,
                   absl::StrCat(instance.id(), " has no logical ID (the member's address)"));
  }
  absl::StatusOr<std::string> answer =
      AskFourLetterWord(instance.logical_id(), properties.client_port, "srvr", timeout);
  if (!answer.ok()) {
    return Verdict(v1::HEALTH_UNKNOWN, absl::StrCat("srvr: ", answer.status().message()));
  }
  absl::StatusOr<ServerState> state = ParseSrvr(*answer);
  if (!state.ok()) {
    return Verdict(v1::HEALTH_UNKNOWN, absl::StrCat("srvr: ", state.status().message()));
  }
  if (!state->serving) {
    return Verdict(v1::HEALTH_UNHEALTHY,
                   absl::StrCat(instance.logical_id(), ":", properties.client_port,
                                " is not currently serving requests (no quorum?)"));
  }
  v1::HealthyResponse response =
      Verdict(v1::HEALTH_HEALTHY,
              absl::StrCat(state->mode, ", zxid ", state->zxid.empty() ? "unknown" : state->zxid));
  response.set_role(state->mode);
  response.set_update_order(state->mode == "leader" ? 1 : 0);
  return response;
}

// Runs run(i) for every i in [0, n), at most `concurrency` at a time: on the calling thread and
// on up to concurrency - 1 threads started here, joined before returning. If a thread cannot
// be started the others do its share.
template <typename Run>
void RunBounded(int n, int concurrency, const Run& run) {
  std::atomic<int> next{0};
  auto worker = [&next, n, &run] {
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) run(i);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min(concurrency, n) - 1; ++t) {
    try {
      threads.emplace_back(worker);
    } catch (const std::system_error& e) {
      LOG(WARNING) << "flavor-zookeeper: cannot start a probe thread (" << e.what() << ")";
      break;
    }
  }
  worker();
  for (std::thread& thread : threads) thread.join();
}

// The init script of the server at `logical_id` in the group's ensemble, for Prepare.
absl::StatusOr<std::string> InitFor(const ZookeeperProperties& properties,
                                    const v1::Allocation& allocation,
                                    const std::string& logical_id) {
  auto ensemble = EnsembleOf(properties, allocation);
  if (!ensemble.ok()) return ensemble.status();
  for (const Member& server : ensemble->allocated) {
    if (server.ip == logical_id) return MemberInit(properties, ensemble->members, server);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("LogicalID: \"", logical_id, "\" is not one of the allocation's LogicalIDs"));
}

}  // namespace

ZookeeperPlugin::ZookeeperPlugin(absl::Duration probe_timeout) : probe_timeout_(probe_timeout) {}

absl::Status ZookeeperPlugin::Validate(const v1::ValidateRequest& request) {
  return ValidateAllocation(request).status();
}

absl::StatusOr<v1::ValidateResponse> ZookeeperPlugin::ValidateAllocation(
    const v1::ValidateRequest& request) {
  auto properties = ParseZookeeperProperties(request.properties());
  if (!properties.ok()) return properties.status();
  auto ensemble = EnsembleOf(*properties, request.allocation());
  if (!ensemble.ok()) return ensemble.status();
  v1::ValidateResponse response;
  // Observers do not vote: any number may be down without the ensemble losing its quorum.
  if (properties->mode == ZookeeperProperties::Mode::kMember) {
    response.set_max_unavailable(MaxUnavailable(static_cast<int>(ensemble->members.size())));
  }
  return response;
}

absl::StatusOr<v1::PrepareResponse> ZookeeperPlugin::Prepare(const v1::PrepareRequest& request) {
  auto properties = ParseZookeeperProperties(request.properties());
  if (!properties.ok()) return properties.status();
  auto init = InitFor(*properties, request.allocation(), request.spec().logical_id());
  if (!init.ok()) return init.status();
  v1::PrepareResponse response;
  ::infrakit::instance::v1::Spec* spec = response.mutable_spec();
  *spec = request.spec();
  spec->set_init(absl::StrCat(spec->init(), "\n", *init));
  for (const auto& [key, value] : properties->tags) (*spec->mutable_tags())[key] = value;
  return response;
}

absl::StatusOr<v1::HealthyResponse> ZookeeperPlugin::Healthy(const v1::HealthyRequest& request) {
  auto properties = ParseZookeeperProperties(request.properties());
  if (!properties.ok()) return properties.status();
  return Probe(*properties, request.instance(), probe_timeout_);
}

absl::Status ZookeeperPlugin::Drain(const v1::DrainRequest& request) {
  auto properties = ParseZookeeperProperties(request.properties());
  if (!properties.ok()) return properties.status();
  VLOG(1) << "flavor-zookeeper: nothing to drain on " << request.instance().id()
          << " (destroying it stops its server)";
  return absl::OkStatus();
}

absl::StatusOr<v1::BatchHealthyResponse> ZookeeperPlugin::BatchHealthy(
    const v1::BatchHealthyRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.instances_size(), "instances"); !s.ok()) {
    return s;
  }
  const int n = request.instances_size();
  v1::BatchHealthyResponse response;
  auto properties = ParseZookeeperProperties(request.properties());
  if (!properties.ok()) {
    for (int i = 0; i < n; ++i) {
      *response.add_results()->mutable_error() = spi::ToItemStatus(properties.status());
    }
    return response;
  }
  // Each run writes only its own slot; RunBounded joins every thread before returning.
  std::vector<v1::HealthyResponse> verdicts(n);
  RunBounded(n, kMaxConcurrentProbes, [&](int i) {
    verdicts[i] = Probe(*properties, request.instances(i), probe_timeout_);
  });
  for (v1::HealthyResponse& verdict : verdicts) {
    *response.add_results()->mutable_response() = std::move(verdict);
  }
  return response;
}

}  // namespace infrakit::plugins::flavor::zookeeper
