#include "tests/testing/etcd_cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
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

// A port free on `host` now: bound on port 0, read, released. A test's etcd binds it
// milliseconds later; the kernel hands out ephemeral ports round-robin, so another run is very
// unlikely to be given the same one in between.
int FreePort(const std::string& host) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_GE(fd, 0) << "socket: " << strerror(errno);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  CHECK_EQ(inet_pton(AF_INET, host.c_str(), &addr.sin_addr), 1) << host;
  CHECK_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
      << "bind " << host << ":0: " << strerror(errno);
  socklen_t len = sizeof(addr);
  CHECK_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0) << strerror(errno);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

bool EtcdCluster::Installed() { return access(kEtcd, X_OK) == 0; }

EtcdCluster::EtcdCluster(int members)
    : members_(std::max(1, std::min(members, kMaxMembers))),
      token_(absl::StrCat("infrakit-test-", getpid(), "-", absl::ToUnixNanos(absl::Now()))) {
  processes_.resize(members_);
  for (int i = 0; i < members_; ++i) {
    ports_.push_back({FreePort(Host(i)), FreePort(Host(i)), FreePort(Host(i))});
  }
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < members_; ++i) KillMember(i);
}

std::string EtcdCluster::ClientAddress(int i) const {
  return absl::StrCat(Host(i), ":", ports_[i].client);
}

std::string EtcdCluster::Endpoints() const {
  std::vector<std::string> all;
  for (int i = 0; i < members_; ++i) all.push_back(ClientAddress(i));
  return absl::StrJoin(all, ",");
}

std::vector<std::string> EtcdCluster::Args(int i) const {
  std::vector<std::string> peers;
  for (int m = 0; m < members_; ++m) {
    peers.push_back(absl::StrCat("m", m, "=http://", Host(m), ":", ports_[m].peer));
  }
  const std::string client = absl::StrCat("http://", ClientAddress(i));
  const std::string peer = absl::StrCat("http://", Host(i), ":", ports_[i].peer);
  return {"--name", absl::StrCat("m", i), "--data-dir", dir_.Join(absl::StrCat("m", i)),
          "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls",
          peer, "--initial-advertise-peer-urls", peer, "--listen-metrics-urls",
          absl::StrCat("http://", Host(i), ":", ports_[i].metrics), "--initial-cluster",
          absl::StrJoin(peers, ","), "--initial-cluster-token", token_, "--initial-cluster-state",
          "new",
          // Tuned for loopback, as etcd's tuning guide asks (a heartbeat near the round trip,
          // an election timeout of ten of them; the defaults, 100 / 1000 ms, are for networks):
          // when the member that leads etcd is killed, the others elect a new leader within
          // about a second even on a loaded machine, well inside a 3 s lease. With the
          // defaults, an election under load sometimes outlasted the lease.
          "--heartbeat-interval", "50", "--election-timeout", "500",
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
