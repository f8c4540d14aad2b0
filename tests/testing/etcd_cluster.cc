#include "tests/testing/etcd_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/etcd/grpc_etcd_client.h"
#include "glog/logging.h"
#include "tests/testing/wait_for.h"

namespace infrakit::testing {
namespace {

constexpr char kEtcd[] = "/usr/bin/etcd";

std::string Host(int i) { return absl::StrCat("127.0.0.3", i + 1); }

}  // namespace

bool EtcdCluster::Installed() { return access(kEtcd, X_OK) == 0; }

EtcdCluster::EtcdCluster(int members)
    : members_(std::max(1, std::min(members, kMaxMembers))),
      token_(absl::StrCat("infrakit-test-", getpid(), "-", absl::ToUnixNanos(absl::Now()))) {
  processes_.resize(members_);
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < members_; ++i) KillMember(i);
}

std::string EtcdCluster::ClientAddress(int i) { return absl::StrCat(Host(i), ":2379"); }

std::string EtcdCluster::Endpoints() const {
  std::vector<std::string> all;
  for (int i = 0; i < members_; ++i) all.push_back(ClientAddress(i));
  return absl::StrJoin(all, ",");
}

std::vector<std::string> EtcdCluster::Args(int i) const {
  std::vector<std::string> peers;
  for (int m = 0; m < members_; ++m) {
    peers.push_back(absl::StrCat("m", m, "=http://", Host(m), ":2380"));
  }
  const std::string client = absl::StrCat("http://", ClientAddress(i));
  const std::string peer = absl::StrCat("http://", Host(i), ":2380");
  return {"--name", absl::StrCat("m", i), "--data-dir", dir_.Join(absl::StrCat("m", i)),
          "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls",
          peer, "--initial-advertise-peer-urls", peer, "--listen-metrics-urls",
          absl::StrCat("http://", Host(i), ":2381"), "--initial-cluster", absl::StrJoin(peers, ","),
          "--initial-cluster-token", token_, "--initial-cluster-state", "new",
          // etcd 3.4 at --log-level warn was seen to accept connections and never serve them:
          // keep the default (info), which goes to the member's stderr file.
          "--logger", "zap"};
}

absl::Status EtcdCluster::StartMember(int i) {
  processes_[i] = std::make_unique<PluginProcess>(kEtcd, Args(i), dir_.path());
  absl::Status started = processes_[i]->Start();
  if (!started.ok())
    return absl::Status(started.code(), absl::StrCat("etcd m", i, ": ", started.message()));
  return absl::OkStatus();
}

absl::Status EtcdCluster::Start() {
  for (int i = 0; i < members_; ++i) {
    absl::Status started = StartMember(i);
    if (!started.ok()) return started;
  }
  return WaitHealthy(absl::Seconds(30));
}

absl::Status EtcdCluster::WaitHealthy(absl::Duration deadline, const std::string& endpoints) {
  etcd::GrpcEtcdClientOptions options;
  options.total_timeout = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<etcd::GrpcEtcdClient>> client =
      etcd::GrpcEtcdClient::Create(endpoints.empty() ? Endpoints() : endpoints, options);
  if (!client.ok()) return client.status();
  absl::Status last = absl::UnknownError("never tried");
  const bool healthy = WaitFor(
      [&] {
        for (int i = 0; i < members_; ++i) {
          if (processes_[i] != nullptr && processes_[i]->Exited()) {
            last = absl::FailedPreconditionError(
                absl::StrCat("etcd m", i, " exited: ", processes_[i]->Stderr()));
            return true;
          }
        }
        last = (*client)->Range("health", "").status();
        return last.ok();
      },
      deadline, absl::Milliseconds(50));
  if (!healthy || !last.ok()) {
    return absl::DeadlineExceededError(absl::StrCat(
        "etcd ", endpoints.empty() ? Endpoints() : endpoints, " not healthy: ", last.ToString()));
  }
  return absl::OkStatus();
}

void EtcdCluster::KillMember(int i) {
  if (processes_[i] != nullptr) processes_[i]->Kill();
}

absl::Status EtcdCluster::SignalMember(int i, int signo) {
  if (processes_[i] == nullptr) return absl::FailedPreconditionError("not started");
  return processes_[i]->Signal(signo);
}

std::string EtcdCluster::Stderr(int i) const {
  return processes_[i] == nullptr ? "" : processes_[i]->Stderr();
}

}  // namespace infrakit::testing
