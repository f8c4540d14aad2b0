// instance-file: an instance plugin whose instances are JSON files in a directory.
//
// One file per instance, named by the instance's ID, in the original InfraKit's format (see
// instance_file_format.h). Removing a file removes the instance, adding or editing one by hand
// adds or changes it: the plugin watches the directory with inotify and pushes every change to
// the open watches within milliseconds.
//
// How it works:
// - An in-memory index (ID -> description) mirrors the decodable files of the directory. It is
//   filled by a scan at start and kept current by the plugin's own writes and by one inotify
//   thread; Describe reads only the index.
// - Writes are atomic: the contents go to a file without a name (O_TMPFILE) or, where the
//   filesystem has no such files, to a dot-prefixed temporary file in the same directory; after
//   fsync it is linked to its name (Provision: fails rather than overwrite, so IDs never
//   collide, even between two plugins on one directory) or a temporary file is renamed over it
//   (Label). Dot files are never instances and never events.
// - File changes and their application to the index happen under one mutex (io_mu_), so the
//   index and the events follow the order of the changes on disk; each change is compared with
//   the index, and only a real difference becomes an event.
#ifndef INFRAKIT_PLUGINS_INSTANCE_FILE_FILE_PLUGIN_H_
#define INFRAKIT_PLUGINS_INSTANCE_FILE_FILE_PLUGIN_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::plugins::instance::file {

namespace v1 = ::infrakit::instance::v1;

class FilePlugin : public spi::instance::InstancePlugin {
 public:
  struct Options {
    // Write new instance files as unnamed files (open with O_TMPFILE, then linkat through
    // /proc/self/fd): one directory operation per instance (the link) instead of three (create
    // a temporary name, link, unlink it), and none before the contents are complete. Used only
    // where /proc/self/fd exists; a filesystem without O_TMPFILE makes the plugin fall back to
    // named temporary files for good. False always uses named temporary files (tests).
    bool unnamed_temp_files = true;
  };

  // Opens `dir` (created with its parents when missing), loads the instances in it and starts
  // watching it. Files that do not decode are skipped with a warning. Errors: the directory
  // cannot be created or read, or inotify is unavailable (INTERNAL / the errno's code).
  static absl::StatusOr<std::unique_ptr<FilePlugin>> Create(const std::string& dir);
  static absl::StatusOr<std::unique_ptr<FilePlugin>> Create(const std::string& dir,
                                                            const Options& options);

  // Stops the inotify thread and ends every open watch with OnDone(CANCELLED). Must not be
  // called from a watch sink.
  ~FilePlugin() override;

  FilePlugin(const FilePlugin&) = delete;
  FilePlugin& operator=(const FilePlugin&) = delete;

  // Accepts any JSON object: the properties are only stored.
  absl::Status Validate(const v1::ValidateRequest& request) override;

  // Writes a new file `instance-<unix nanos>`. INVALID_ARGUMENT for an empty tag name or an
  // attachment without ID; with an idempotency key already on an instance file, returns that
  // instance (created = false), also across restarts since the key is stored in the file.
  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest& request) override;

  // What Provision does for each request, in order, with one result each (a key repeated in the
  // batch answers the first item's ID, created = false, as a retry would), but at a fraction of
  // the cost: all the temporary files are written first and made durable together (one syncfs
  // instead of one fsync each), then published (linked) and indexed under one hold of io_mu_,
  // then the directory is fsynced once, so that what the batch answers as created is on disk.
  // A file is only ever visible under its ID when complete, as with Provision. A batch that
  // creates a single instance is exactly a Provision (one fsync). Bad specs fail their own
  // item only. INVALID_ARGUMENT for more than spi::kMaxBatchSize requests.
  absl::StatusOr<v1::BatchProvisionResponse> BatchProvision(
      const v1::BatchProvisionRequest& request) override;

  // Removes the file. NOT_FOUND when there is none; INVALID_ARGUMENT for an ID that cannot be a
  // file name here (empty, has '/', starts with '.').
  absl::Status Destroy(const v1::DestroyRequest& request) override;

  // What Destroy does for each request, in order, with one status each (NOT_FOUND, or
  // INVALID_ARGUMENT for a bad ID, fails its item only), under one hold of io_mu_. The inotify
  // echo of each removal is recognised and not looked at again. INVALID_ARGUMENT for more than
  // spi::kMaxBatchSize requests.
  absl::StatusOr<v1::BatchDestroyResponse> BatchDestroy(
      const v1::BatchDestroyRequest& request) override;

  // From the index, ordered by ID; state RUNNING; with include_properties, the stored spec and
  // properties {"Path": <file>}.
  absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest& request) override;

  // Merges the labels into the file's top-level "Tags" (the spec's tags stay as provisioned).
  // NOT_FOUND when there is no such instance file; INVALID_ARGUMENT for an empty label name.
  absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest& request) override;

  // Delivers the matching instances (ADDED each, then SYNCED) from the calling thread before
  // returning, then every change from the thread that saw it. An instance whose tags start or
  // stop matching the filter is ADDED or REMOVED for this watch; CHANGED only when what the
  // watch sees (with or without properties) changed.
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const v1::WatchRequest& request, spi::instance::WatchSink* sink) override;

  // The directory this plugin serves.
  const std::string& dir() const { return dir_; }

  // Whether new files are currently written as unnamed files (see Options); false after a
  // fallback.
  bool unnamed_temp_files() const { return unnamed_temp_files_.load(std::memory_order_relaxed); }

 private:
  struct Subscriber;
  class Hub;
  class Handle;

  FilePlugin(std::string dir, const Options& options);

  // Sets up inotify, scans and starts the thread.
  absl::Status Start();
  void WatchLoop();
  // Handles one buffer of inotify events.
  void HandleEvents(const char* buffer, size_t length);
  // Re-adds the directory watch after the directory itself went away.
  void RewatchDirectory();

  // Reads all files and brings the index in line with them. Requires io_mu_.
  void RescanLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // What stat() said of a file when its index entry was made from it (by our own write or by
  // reading it). While the file still stats the same, it has not been replaced or rewritten, so
  // the echo of our own write need not be read and decoded again.
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
  };
  static std::optional<FileStamp> StampOf(const std::string& path);
  static FileStamp StampFrom(const struct stat& st);
  // Whether `id`'s file is still the one its index entry was made from. Requires io_mu_.
  bool UnchangedLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);

  // Reads one file and brings its index entry in line. A missing file is removed. An
  // undecodable one is removed with a WARNING, except with `writer_may_be_busy` (only its
  // creation was seen: a writer may not have finished; its close will come): then the index
  // entry stays as it is. Requires io_mu_.
  void ReloadLocked(const std::string& id, bool writer_may_be_busy)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // Sets (or with nullopt removes) an instance in the index and tells the watches what changed,
  // if anything did. Requires io_mu_ so that events keep the order of the changes.
  void ApplyLocked(const std::string& id, std::optional<v1::Description> now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);

  std::string PathOf(const std::string& id) const;
  // Adds state and runtime properties to a decoded file.
  v1::Description Complete(v1::Description decoded) const;
  // Next candidate ID number: unix nanos, strictly increasing within this process.
  int64_t NextIdNumber();
  // A written file not yet published under an instance's name: an unnamed file (fd open, no
  // path) or a dot-prefixed temporary file in dir_ (path, fd closed).
  struct TempFile {
    int fd = -1;
    std::string path;
  };
  // Writes `contents` to a new temporary file (unnamed when possible, see Options), fsynced
  // unless `sync` is false (the caller then makes it durable another way before publishing
  // it). Needs no lock (nothing is named, or the name is unique).
  // `named` asks for a named temporary file (Label renames it over the instance's file).
  absl::StatusOr<TempFile> WriteTemp(const std::string& contents, bool sync = true,
                                     bool named = false);
  // Writes into `fd` and fsyncs it when `sync`. The errno on failure, 0 on success.
  static int WriteAll(int fd, const std::string& contents, bool sync);
  // Forgets a temporary file: closes it, and removes its name if it has one.
  static void Discard(TempFile& temp);
  // Gives `temp` the name `path`, never overwriting: 0 or the errno.
  static int LinkTemp(const TempFile& temp, const std::string& path);
  // Publishes a durable temporary file as instance `instance` (whose encoding is `contents`):
  // links it to the instance's path (never overwriting) and indexes it. Discards the temporary
  // file in every case. ALREADY_EXISTS when the name is taken (another process on the
  // directory; the caller tries another ID). Requires io_mu_.
  absl::Status PublishLocked(TempFile& temp, const v1::Description& instance,
                             const std::string& contents) ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // Removes instance `id` (checked by CheckId) as Destroy does. Requires io_mu_.
  absl::Status DestroyLocked(const v1::DestroyRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // OK when instance `id` exists (looking at the disk when the index may be behind it), else
  // NotFound(id). Requires io_mu_.
  absl::Status KnownLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  absl::Status NotFound(const std::string& id) const;
  // The instance carrying idempotency key `key`, if any (none for an empty key).
  std::optional<std::string> InstanceWithKey(const std::string& key) const;
  // The response to a repeated provision of instance `id`.
  static v1::ProvisionResponse Existing(std::string id, const std::string& key);

  const std::string dir_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;           // eventfd that stops WatchLoop
  int watch_descriptor_ = -1;  // only touched by Start and the inotify thread
  std::thread thread_;
  // Cleared for good by the first open(O_TMPFILE) the filesystem refuses.
  std::atomic<bool> unnamed_temp_files_;

  // Held while changing a file and applying the change to the index and the watches.
  absl::Mutex io_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Stamps of the files the index entries were made from (see FileStamp).
  absl::flat_hash_map<std::string, FileStamp> stamps_ ABSL_GUARDED_BY(io_mu_);
  // Names this plugin unlinked whose IN_DELETE has not been read yet: that event is the echo of
  // a change already applied, and is dropped. Cleared by a rescan (an overflow may lose them).
  absl::flat_hash_set<std::string> unlinked_ ABSL_GUARDED_BY(io_mu_);
  // Names this plugin linked (published) whose IN_CREATE has not been read yet: that event is
  // the echo of a change already applied, dropped without a stat. Cleared by a rescan.
  absl::flat_hash_set<std::string> linked_ ABSL_GUARDED_BY(io_mu_);
  // Guards the index; held briefly, never while calling a sink or doing I/O.
  mutable absl::Mutex mu_;
  std::map<std::string, v1::Description> index_ ABSL_GUARDED_BY(mu_);
  // Idempotency key -> IDs of the files carrying it (several only if a user copied a file).
  absl::flat_hash_map<std::string, std::set<std::string>> keys_ ABSL_GUARDED_BY(mu_);
  int64_t last_id_number_ ABSL_GUARDED_BY(mu_) = 0;

  std::shared_ptr<Hub> hub_;
};

}  // namespace infrakit::plugins::instance::file

#endif  // INFRAKIT_PLUGINS_INSTANCE_FILE_FILE_PLUGIN_H_
