// A small etcd v3 client interface in plain C++ (no gRPC or protobuf types): the key-value
// operations, transactions, leases and watches that the group service's etcd store and leader
// election need. GrpcEtcdClient (grpc_etcd_client.h) implements it over etcd's gRPC API.
#ifndef INFRAKIT_COMMON_ETCD_ETCD_CLIENT_H_
#define INFRAKIT_COMMON_ETCD_ETCD_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace infrakit::etcd {

// One key as etcd keeps it. Revisions are etcd's store revisions (> 0 for a key that exists).
struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;  // the revision that created the key
  int64_t mod_revision = 0;     // the revision that last changed it
  int64_t version = 0;          // changes since creation (1 after creation)
  int64_t lease = 0;            // the lease the key is attached to, 0 for none
};

// The keys a Range read and the store revision it was read at.
struct RangeResult {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;
};

// One condition of a transaction: a property of `key` equals the given value. A key that does
// not exist has create_revision, mod_revision and version 0 (so "create_revision == 0" means
// "absent") and fails every value comparison.
struct Compare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kValue };
  std::string key;
  Target target = Target::kCreateRevision;
  int64_t number = 0;  // for kCreateRevision, kModRevision, kVersion
  std::string value;   // for kValue

  static Compare CreateRevisionIs(std::string key, int64_t revision);
  static Compare ModRevisionIs(std::string key, int64_t revision);
  static Compare ValueIs(std::string key, std::string value);
};

// One write of a transaction: put `key` = `value` (attached to `lease` when not 0), or delete
// `key` (and, with a non-empty `range_end`, every key in [key, range_end)).
struct Op {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  std::string key;
  std::string value;
  int64_t lease = 0;
  std::string range_end;

  static Op Put(std::string key, std::string value, int64_t lease = 0);
  static Op Delete(std::string key);
};

// The outcome of a transaction: whether every compare held (the success ops ran) or not (the
// failure ops ran), and the store revision after it.
struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;
};

// A change seen by a watch.
struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for a delete: the key and its mod_revision (the deletion's revision)
};

// What a watch delivers: events in revision order, or (status not OK) the end of the watch.
struct WatchUpdate {
  std::vector<WatchEvent> events;
  // The store revision this update brings the watcher up to.
  int64_t revision = 0;
  // OK for events. Not OK exactly once, as the last update: OUT_OF_RANGE when the revision to
  // resume from has been compacted away (the caller must read the keys again and watch anew).
  absl::Status status;
};

// The key just after every key starting with `prefix`: Range(prefix, PrefixEnd(prefix)) reads
// the whole prefix. "\0" (etcd's "every key") for an empty prefix or one of only 0xff bytes.
std::string PrefixEnd(absl::string_view prefix);

// A running watch (Client::Watch). Destroying it stops the watch: once the destructor returns,
// the callback is not running and is never called again. Do not destroy it from its callback.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

// A running lease keepalive (Client::KeepAlive). Destroying it stops the keepalives (the lease
// then expires after its TTL unless revoked); once the destructor returns, the callback is not
// running and is never called again. Do not destroy it from its callback.
class KeepAliveHandle {
 public:
  virtual ~KeepAliveHandle() = default;

  // Until when the lease is surely alive as far as this holder can tell: the moment the last
  // successful keepalive was sent plus the TTL etcd granted with it (etcd counts from when it
  // received the keepalive, later). InfinitePast once the lease is lost. A holder acts on what
  // the lease guards only before this time: a process paused past it (SIGSTOP, a long GC-like
  // stall) or cut off from etcd's majority sees it in the past as soon as it runs again, before
  // its keepalive thread has noticed anything. Thread-safe.
  virtual absl::Time ValidUntil() const = 0;
};

// A client of one etcd cluster.
//
// Errors of every call: UNAVAILABLE when no member could be reached (or none had a leader) in
// time, DEADLINE_EXCEEDED when a member did not answer in time (etcd may still apply a write
// that timed out: callers write idempotently), INVALID_ARGUMENT for requests etcd refuses;
// messages name the member. Implementations retry on another member before giving up.
//
// Threading: thread-safe; calls block (network round trips) and must not be made while holding
// a lock that a watch or keepalive callback takes.
class Client {
 public:
  virtual ~Client() = default;

  // Reads `key`, or every key in [key, range_end) when `range_end` is not empty, linearizably
  // (through etcd's leader: a minority member answers UNAVAILABLE), ordered by key.
  virtual absl::StatusOr<RangeResult> Range(absl::string_view key, absl::string_view range_end) = 0;

  // Writes `key` = `value`, attached to `lease` (0: none). Returns the new store revision.
  // NOT_FOUND when the lease does not exist (expired).
  virtual absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view value,
                                      int64_t lease) = 0;

  // If every compare holds, runs `success`, else `failure`, atomically. NOT_FOUND when a put
  // names a lease that does not exist.
  virtual absl::StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                        const std::vector<Op>& success,
                                        const std::vector<Op>& failure) = 0;

  // Grants a lease of `ttl` (whole seconds, at least 1). Returns its ID.
  virtual absl::StatusOr<int64_t> LeaseGrant(absl::Duration ttl) = 0;

  // Revokes lease `id`, deleting the keys attached to it. OK when it no longer exists.
  virtual absl::Status LeaseRevoke(int64_t id) = 0;

  // Keeps lease `id` (granted with `ttl`) alive: a keepalive about every ttl/3, moving to
  // another member when one fails. `on_lost` is called once, from the keepalive's own thread,
  // when the lease is lost: etcd says it expired (NOT_FOUND), or no keepalive succeeded for
  // `ttl` since the last one that did (UNAVAILABLE: it must be taken as expired). Keep the
  // callback short and non-blocking.
  virtual std::unique_ptr<KeepAliveHandle> KeepAlive(
      int64_t id, absl::Duration ttl, std::function<void(const absl::Status&)> on_lost) = 0;

  // Watches `key` (or [key, range_end)) from store revision `start_revision` (inclusive; 0 for
  // "from now"). `on_update` is called from the watch's own thread, one update at a time, in
  // revision order. A stream that dies (its member killed, partitioned, restarted) is opened
  // again on a member, from the revision after the last one delivered, so no change is missed
  // or repeated. Keep the callback short and non-blocking.
  virtual std::unique_ptr<WatchHandle> Watch(absl::string_view key, absl::string_view range_end,
                                             int64_t start_revision,
                                             std::function<void(const WatchUpdate&)> on_update) = 0;
};

}  // namespace infrakit::etcd

#endif  // INFRAKIT_COMMON_ETCD_ETCD_CLIENT_H_
