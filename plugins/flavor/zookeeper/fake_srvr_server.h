// A stand-in for a ZooKeeper server's client port, for tests of the srvr probe: it listens on
// 127.0.0.1 (a port of the kernel's choosing) and answers each connection with a canned text,
// or accepts connections and never answers.
#ifndef INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_FAKE_SRVR_SERVER_H_
#define INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_FAKE_SRVR_SERVER_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace infrakit::plugins::flavor::zookeeper {

class FakeSrvrServer {
 public:
  enum class Behavior {
    // Read the four-letter word, send the answer, close.
    kAnswer,
    // Let connections complete (in the listen backlog) and never read or answer.
    kHang,
  };

  // Starts listening at once. Dies (CHECK) if it cannot.
  explicit FakeSrvrServer(Behavior behavior, std::string answer = "");
  FakeSrvrServer(const FakeSrvrServer&) = delete;
  FakeSrvrServer& operator=(const FakeSrvrServer&) = delete;
  // Stops listening and joins its thread.
  ~FakeSrvrServer();

  int port() const { return port_; }
  // The words received so far, concatenated. Thread-safe.
  std::string received() const;

 private:
  void Serve();

  const Behavior behavior_;
  const std::string answer_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable absl::Mutex mu_;
  std::string received_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// A port on 127.0.0.1 nothing listens on (it was free a moment ago): connections are refused.
int UnusedPort();

}  // namespace infrakit::plugins::flavor::zookeeper

#endif  // INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_FAKE_SRVR_SERVER_H_
