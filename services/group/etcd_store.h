// The Store in etcd: one key per group under a prefix, every write fenced by leadership.
#ifndef INFRAKIT_SERVICES_GROUP_ETCD_STORE_H_
#define INFRAKIT_SERVICES_GROUP_ETCD_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/etcd/etcd_client.h"
#include "services/group/state.pb.h"
#include "services/group/store.h"

namespace infrakit::services::group {

// Keeps each group's record at "<prefix>/groups/<id>" as JSON (the file store's format, with
// its format_version). Every write (Put, Delete) is one etcd transaction that also compares the
// *fence*: the leader key's create_revision must still be the one this service created when it
// became leader. A leader key that expired (lease lost: paused, partitioned) and was created
// again by another service has a new create_revision, so a stale leader's write changes nothing
// and fails. Until a fence is set, and after it is cleared, every write fails.
//
// Errors: Store's; FAILED_PRECONDITION "not the leader" when no fence is set or the fence no
// longer holds (nothing was written); the etcd client's UNAVAILABLE / DEADLINE_EXCEEDED when
// etcd cannot be reached or has no majority (a write that timed out may have been applied:
// Put and Delete are idempotent). LoadAll reads linearizably.
//
// Thread-safe.
class EtcdStore : public Store {
 public:
  // Why a write was refused for want of leadership.
  enum class Refusal {
    // No fence is set: this service knows it does not lead; nothing was sent to etcd.
    kNoFence,
    // etcd refused the transaction: the leader key is no longer the one this service created
    // (it still believed it led: paused or cut off past its lease, and replaced).
    kFenceFailed,
  };
  // Told of every write refused for want of leadership, from the writing thread, after the
  // fact (nothing was written). Must be thread-safe and must not call the store.
  using RefusalObserver = std::function<void(Refusal)>;

  // `client` is not owned and must outlive the store. `prefix` (e.g. "/infrakit/group") must
  // not end with '/'. `on_refused` may be null.
  EtcdStore(etcd::Client* client, std::string prefix, RefusalObserver on_refused = nullptr);

  // Fences every later write on `leader_key` having create_revision `create_revision`.
  void SetFence(std::string leader_key, int64_t create_revision);
  // Makes every later write fail (this service is no longer the leader).
  void ClearFence();

  absl::Status Put(const GroupRecord& record) override;
  absl::Status Delete(absl::string_view id) override;
  absl::StatusOr<std::vector<GroupRecord>> LoadAll() override;

  // The key of group `id`'s record.
  std::string KeyOf(absl::string_view id) const;
  // The prefix of every record's key ("<prefix>/groups/").
  std::string RecordsPrefix() const;

 private:
  // Runs `op` if the fence holds. FAILED_PRECONDITION naming `what` when it does not.
  absl::Status Fenced(const etcd::Op& op, absl::string_view what);

  etcd::Client* const client_;
  const std::string prefix_;
  const RefusalObserver on_refused_;
  absl::Mutex mu_;
  std::string leader_key_ ABSL_GUARDED_BY(mu_);
  int64_t fence_revision_ ABSL_GUARDED_BY(mu_) = 0;  // 0: no fence, every write fails
};

// Decodes one record's JSON as the store keeps it; `where` names it in errors (DATA_LOSS for
// corrupt content or a record of another group than `expected_id`, FAILED_PRECONDITION for a
// newer format). Thread-safe (pure).
absl::StatusOr<GroupRecord> DecodeEtcdRecord(absl::string_view json, absl::string_view expected_id,
                                             absl::string_view where);

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_ETCD_STORE_H_
