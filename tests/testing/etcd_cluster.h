// A real etcd cluster (Debian's etcd-server) of 1 to 3 members on 127.0.0.31-.33, for tests.
#ifndef INFRAKIT_TESTS_TESTING_ETCD_CLUSTER_H_
#define INFRAKIT_TESTS_TESTING_ETCD_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::testing {

// Member i (0-based) listens on 127.0.0.3<i+1>, on client, peer and metrics ports chosen free
// when the cluster is made (each bound on port 0 and released: the kernel hands out ports
// round-robin, so two test runs, e.g. of two checkouts, get different ones), with its data in
// a directory of the cluster's TempDir (removed with the cluster). A member started again keeps
// its ports. Members run as PluginProcess children (SIGKILLed if the test dies), so tests using
// a cluster should skip when !Installed(). Typical use:
//
//   if (!EtcdCluster::Installed()) GTEST_SKIP() << EtcdCluster::kNotInstalled;
//   EtcdCluster etcd(3);
//   ASSERT_OK(etcd.Start());
//   ... etcd.Endpoints() ...
//
// Not thread-safe: use from the test's main thread.
class EtcdCluster {
 public:
  static constexpr char kNotInstalled[] =
      "etcd is not installed (/usr/bin/etcd; apt-get install etcd-server): skipping";
  static constexpr int kMaxMembers = 3;

  // True when /usr/bin/etcd is executable.
  static bool Installed();

  // A cluster of `members` (1..3) members; nothing runs until Start.
  explicit EtcdCluster(int members);
  // Kills every member; the data directories go with the TempDir.
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts every member and waits (up to 30 s) until the cluster has a leader and serves a
  // linearizable read. Errors name the member and carry its stderr.
  absl::Status Start();

  // Starts member `i` again (after KillMember or SignalMember(SIGKILL)) on its data directory.
  // Returns once it runs, not once it has rejoined.
  absl::Status StartMember(int i);
  // SIGKILLs member `i` and reaps it.
  void KillMember(int i);
  // Sends `signo` to member `i` (SIGSTOP, SIGCONT).
  absl::Status SignalMember(int i, int signo);

  // Waits until a linearizable read succeeds through `endpoints` (default: every member).
  absl::Status WaitHealthy(absl::Duration deadline, const std::string& endpoints = "");

  // "127.0.0.31:PORT,127.0.0.32:PORT,..." for every member.
  std::string Endpoints() const;
  // "127.0.0.3<i+1>:PORT", member i's client address.
  std::string ClientAddress(int i) const;
  // Member `i`'s stderr so far (etcd logs there).
  std::string Stderr(int i) const;

 private:
  std::vector<std::string> Args(int i) const;

  // Member i's ports, chosen when the cluster is made.
  struct Ports {
    int client = 0;
    int peer = 0;
    int metrics = 0;
  };

  const int members_;
  std::vector<Ports> ports_;
  TempDir dir_;
  std::string token_;
  std::vector<std::unique_ptr<PluginProcess>> processes_;
};

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_TESTING_ETCD_CLUSTER_H_
