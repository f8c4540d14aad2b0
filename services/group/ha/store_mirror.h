// A follower's copy of the group records in etcd, kept by watching them.
#ifndef INFRAKIT_SERVICES_GROUP_HA_STORE_MIRROR_H_
#define INFRAKIT_SERVICES_GROUP_HA_STORE_MIRROR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/etcd/etcd_client.h"
#include "infrakit/group/v1/group.pb.h"
#include "services/group/ha/store_reads.h"
#include "services/group/state.pb.h"

namespace infrakit::services::group::ha {

// What a group's record says of its status, as a follower reports it: desired and config_sha
// of the stored spec, the stored update's state (updating, paused with its reason as
// last_error, stopped), from_store set; no live count. Pure.
::infrakit::group::v1::GroupStatus StoredStatus(const GroupRecord& record);

struct StoreMirrorOptions {
  // Pause before reading again after etcd failed a read.
  absl::Duration retry_pause = absl::Milliseconds(500);
};

// Keeps a read-only copy of every group record under a prefix of etcd (EtcdStore's layout): a
// linearizable range read, then a watch from the revision after it. etcd::Client::Watch opens
// a watch whose stream dies (its member killed, cut off from the majority) again from the next
// revision, so no change is missed; a watch that ends (its revision compacted away) makes the
// mirror read everything again and watch anew. A record that cannot be decoded is listed by its
// ID with last_error saying why (the leader refuses to resume such a record; readers should see
// it too).
//
// Staleness: the copy follows etcd by a watch's latency (milliseconds). While etcd cannot be
// reached or has no majority it stays at the last revision it saw (ListGroups says which).
//
// Threading: thread-safe. Start runs the reads and re-reads on a thread of the mirror's own;
// tests drive Refresh instead, with a fake client, on their own thread. The watch's callback
// takes the mirror's lock briefly; ListGroups never blocks on etcd.
class StoreMirror : public StoreReads {
 public:
  // `client` is not owned and must outlive the mirror. `records_prefix` is the prefix of every
  // record's key (EtcdStore::RecordsPrefix(), "<prefix>/groups/"); a key's ID is what follows.
  StoreMirror(etcd::Client* client, std::string records_prefix,
              StoreMirrorOptions options = StoreMirrorOptions());
  // Stops the thread (when started) and the watch.
  ~StoreMirror() override;
  StoreMirror(const StoreMirror&) = delete;
  StoreMirror& operator=(const StoreMirror&) = delete;

  // Starts the thread that calls Refresh whenever a read is due, every retry_pause while it
  // fails. Call at most once.
  void Start();

  // When a read is due (never read yet, or the watch ended): reads every record, replaces the
  // copy, and watches from the next revision. OK at once when no read is due. Errors: the etcd
  // client's, prefixed; the copy is kept as it was and the read stays due. Call from one thread
  // at a time (the mirror's thread, or a test that did not Start it).
  absl::Status Refresh();

  // Whether a read is due (see Refresh).
  bool ReadDue() const;
  // The etcd revision the copy reflects; 0 before the first read.
  int64_t revision() const;

  absl::StatusOr<::infrakit::group::v1::ListGroupsResponse> ListGroups() const override;

 private:
  using Summary = std::shared_ptr<const ::infrakit::group::v1::GroupSummary>;

  // The summary of the record `value` stored at `key` (decoded, or listed with its error).
  Summary SummaryOf(const std::string& key, const std::string& value) const;
  // The watch's callback; `generation` tells the current watch from one replaced.
  void OnWatch(int64_t generation, const etcd::WatchUpdate& update);
  void Run();

  etcd::Client* const client_;
  const std::string prefix_;
  const StoreMirrorOptions options_;

  mutable absl::Mutex mu_;
  absl::btree_map<std::string, Summary> groups_ ABSL_GUARDED_BY(mu_);  // by group ID
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  bool read_due_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // Only Refresh (one caller at a time) and the destructor, after the thread, touch it.
  std::unique_ptr<etcd::WatchHandle> watch_;
  std::thread thread_;
};

}  // namespace infrakit::services::group::ha

#endif  // INFRAKIT_SERVICES_GROUP_HA_STORE_MIRROR_H_
