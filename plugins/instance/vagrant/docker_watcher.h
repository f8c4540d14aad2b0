// Tells instance-vagrant when an instance's container stops or disappears behind its back
// (`docker rm -f`, a crash, an engine restart), through the docker CLI that vagrant's docker
// provider itself uses: `docker events` filtered on the containers carrying the label
// infrakit.instance (set by the default Vagrantfile template), and `docker ps -a` for the full
// picture each time the event stream (re)connects.
#ifndef INFRAKIT_PLUGINS_INSTANCE_VAGRANT_DOCKER_WATCHER_H_
#define INFRAKIT_PLUGINS_INSTANCE_VAGRANT_DOCKER_WATCHER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "plugins/instance/vagrant/subprocess.h"

namespace infrakit::plugins::instance::vagrant {

class DockerWatcher {
 public:
  struct Options {
    // The docker CLI.
    std::string docker = "docker";
    // Its environment (DOCKER_HOST picks the engine).
    std::vector<std::string> env;
    // The first pause before reconnecting after the stream ended; doubles up to 30 s.
    absl::Duration retry = absl::Seconds(1);
  };
  // The instance whose container died or was removed.
  using GoneCallback = std::function<void(const std::string& id)>;
  // The instances that had a running container when the listing started at `taken_at`.
  using ListingCallback =
      std::function<void(const absl::flat_hash_set<std::string>& running, absl::Time taken_at)>;

  // Does not start anything yet. The callbacks run on the watcher's thread, one at a time; they
  // may block briefly but must not destroy the watcher.
  DockerWatcher(Options options, GoneCallback on_gone, ListingCallback on_listing);
  // Stop().
  ~DockerWatcher();
  DockerWatcher(const DockerWatcher&) = delete;
  DockerWatcher& operator=(const DockerWatcher&) = delete;

  // Starts the watcher's thread: stream, listing, and reconnection when the stream ends (the
  // engine is down or restarted: a warning is logged each time). Call once.
  void Start();
  // Ends the stream and joins the thread: no callback runs after it returns. Idempotent; not
  // from a callback.
  void Stop();

 private:
  void Run();
  // One connection: the stream, then the listing, then events until the stream ends. Returns
  // the stream's last output, for the log.
  std::string Connect();
  void List();

  const Options options_;
  const GoneCallback on_gone_;
  const ListingCallback on_listing_;
  std::thread thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The running `docker events`, killed by Stop.
  Subprocess* events_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace infrakit::plugins::instance::vagrant

#endif  // INFRAKIT_PLUGINS_INSTANCE_VAGRANT_DOCKER_WATCHER_H_
