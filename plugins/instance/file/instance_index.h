// What instance-file knows of each instance file: its description (what Describe and the
// watches see), the idempotency key it carries, and what stat() said of the file the
// description was made from.
#ifndef INFRAKIT_PLUGINS_INSTANCE_FILE_INSTANCE_INDEX_H_
#define INFRAKIT_PLUGINS_INSTANCE_FILE_INSTANCE_INDEX_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/cow_sorted_map.h"
#include "common/paging/paging.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "plugins/instance/watch_fanout.h"

namespace infrakit::plugins::instance::file {

// What stat() said of a file. While a file still stats the same, it has not been replaced or
// rewritten, so the echo of our own write need not be read and decoded again.
struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  bool operator==(const FileStamp& other) const {
    return device == other.device && inode == other.inode && size == other.size &&
           mtime_ns == other.mtime_ns && ctime_ns == other.ctime_ns;
  }

  // The stamp of `path` now; nullopt when it cannot be stat'ed. Thread-safe.
  static std::optional<FileStamp> Of(const std::string& path);
  // The stamp of a stat result. Thread-safe (pure).
  static FileStamp From(const struct stat& st);
};

// Threading: every read is thread-safe. Writes (Apply and the stamp setters) must be
// serialized by the caller (instance-file: under its I/O lock). The pointers the index hands
// out (Change::after, All) point into it and stay valid until the caller's next write, so the
// caller may read them without the index's lock, which is never held during I/O or while
// calling out. The descriptions are kept in a copy-on-write map: a read (Describe) takes a
// snapshot under the lock in O(1) and copies what it answers without it, so writes never wait
// for a reader copying thousands of instances.
class InstanceIndex {
 public:
  // What a write changed.
  struct Change {
    // What the index held before; nullopt when the ID is new.
    std::optional<::infrakit::instance::v1::Description> before;
    // What it holds now; null when the ID was removed.
    const ::infrakit::instance::v1::Description* after = nullptr;
  };

  // Sets `id`'s description to `now`, or with nullopt removes it. Returns what changed, or
  // nullopt when nothing did (the same description, or an unknown ID removed). A write.
  std::optional<Change> Apply(const std::string& id,
                              std::optional<::infrakit::instance::v1::Description> now);

  // `id`'s description, if indexed.
  std::optional<::infrakit::instance::v1::Description> Find(const std::string& id) const;
  bool Contains(const std::string& id) const;
  // Every indexed ID, in order.
  std::vector<std::string> Ids() const;
  size_t size() const;

  // What Describe answers: the descriptions having every tag of `filter`, ordered by ID, as
  // View(description, include_properties).
  std::vector<::infrakit::instance::v1::Description> Matching(const TagMap& filter,
                                                              bool include_properties) const;
  // One page of Matching: those after cursor.after_key, as many as the page may hold, with the
  // next page's token for `fingerprint` (common/paging/paging.h), built in `out` (empty; it may
  // be on an arena). O(page) when most instances match, never a copy of the others.
  void MatchingPage(const TagMap& filter, bool include_properties, const common::PageCursor& cursor,
                    absl::string_view fingerprint,
                    ::infrakit::instance::v1::DescribeResponse* out) const;

  // Every description, ordered by ID: pointers for a writer's caller (see above).
  std::vector<const ::infrakit::instance::v1::Description*> All() const;

  // The instance carrying idempotency key `key`, if any (none for an empty key; the first by
  // ID when a user copied a file).
  std::optional<std::string> InstanceWithKey(const std::string& key) const;

  // Stamps: what `id`'s entry was made from. Writes.
  void SetStamp(const std::string& id, const FileStamp& stamp);
  void ForgetStamp(const std::string& id);
  void ForgetStamps();

  // Whether the file at `path` (`id`'s file) still stats as the one `id`'s entry was made
  // from; false when no stamp is known. Stats the file without the index's lock.
  bool Unchanged(const std::string& id, const std::string& path) const;

 private:
  using Instances = common::CowSortedMap<::infrakit::instance::v1::Description>;
  // Every description, in a snapshot taken under the lock.
  std::shared_ptr<const Instances::Snapshot> Snapshot() const;

  mutable absl::Mutex mu_;
  Instances index_ ABSL_GUARDED_BY(mu_);
  // Idempotency key -> IDs of the files carrying it (several only if a user copied a file).
  absl::flat_hash_map<std::string, std::set<std::string>> keys_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, FileStamp> stamps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::plugins::instance::file

#endif  // INFRAKIT_PLUGINS_INSTANCE_FILE_INSTANCE_INDEX_H_
