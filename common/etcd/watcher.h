// One etcd watch kept open from a thread of its own (Client::Watch).
#ifndef INFRAKIT_COMMON_ETCD_WATCHER_H_
#define INFRAKIT_COMMON_ETCD_WATCHER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/etcd/endpoints.h"
#include "common/etcd/etcd_client.h"

namespace infrakit::etcd {

// Watches a key or range on the current member with etcd's "hasleader" requirement and
// progress notifications. When the stream dies (member killed or restarted, cut off from the
// majority, the watch cancelled by etcd) it is opened again on the next member, after a pause
// growing from 100 ms to 1 s, from the revision after the last one delivered: events are
// delivered once each, in order. A compacted start revision ends the watch with OUT_OF_RANGE.
//
// Thread-safe: the constructor starts the thread, the destructor stops and joins it. The
// callback runs on that thread, never concurrently with itself.
class Watcher : public WatchHandle {
 public:
  // `endpoints` must outlive this object.
  Watcher(Endpoints* endpoints, std::string key, std::string range_end, int64_t start_revision,
          std::function<void(const WatchUpdate&)> on_update);
  ~Watcher() override;

 private:
  void Run();
  // One stream on `member` until it dies or the watch is stopped. Returns CANCELLED only when
  // stopped, OUT_OF_RANGE when compacted, another error to watch again; `next_revision` advances
  // past every revision delivered. `progressed` is set when the stream delivered or confirmed
  // anything.
  absl::Status WatchOnce(const Endpoints::Member& member, int64_t* next_revision, bool* progressed);
  // Waits `pause` or until stopped. Returns false when stopped.
  bool Pause(absl::Duration pause);

  Endpoints* const endpoints_;
  const std::string key_;
  const std::string range_end_;
  const int64_t start_revision_;
  const std::function<void(const WatchUpdate&)> on_update_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The stream under way, cancelled by the destructor; null between streams.
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace infrakit::etcd

#endif  // INFRAKIT_COMMON_ETCD_WATCHER_H_
