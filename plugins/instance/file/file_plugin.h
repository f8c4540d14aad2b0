// instance-file: an instance plugin whose instances are JSON files in a directory.
//
// One file per instance, named by the instance's ID, in the original InfraKit's format (see
// instance_file_format.h). Removing a file removes the instance, adding or editing one by hand
// adds or changes it: the plugin watches the directory with inotify and pushes every change to
// the open watches within milliseconds.
//
// How it works (this core composes the parts):
// - An in-memory index (ID -> description, instance_index.h) mirrors the decodable files of
//   the directory. It is filled by a scan at start and kept current by the plugin's own writes
//   and by the directory watcher (dir_watcher.h: one inotify thread, and the filter that drops
//   the echo of our own links and unlinks); Describe reads only the index.
// - Writes are atomic (common/atomic_file.h): the contents go to a file without a name
//   (O_TMPFILE) or, where the filesystem has no such files, to a dot-prefixed temporary file in
//   the same directory; after fsync it is linked to its name (Provision: fails rather than
//   overwrite, so IDs never collide, even between two plugins on one directory) or a temporary
//   file is renamed over it (Label). Dot files are never instances and never events.
// - A destroyed instance's file is moved to `<dir>/.spare` and emptied, and a new instance is
//   written into such a file when there is one (spare_files.h): on ext4 without a journal a new
//   inode costs O(recently freed inodes); a reused one costs nothing.
// - File changes and their application to the index happen under one mutex (io_mu_), so the
//   index and the events follow the order of the changes on disk; each change is compared with
//   the index, and only a real difference becomes an event, which the watch fan-out
//   (plugins/instance/watch_fanout.h) delivers to the matching watches on the same thread.
#ifndef INFRAKIT_PLUGINS_INSTANCE_FILE_FILE_PLUGIN_H_
#define INFRAKIT_PLUGINS_INSTANCE_FILE_FILE_PLUGIN_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/atomic_file.h"
#include "plugins/instance/file/dir_watcher.h"
#include "plugins/instance/file/instance_index.h"
#include "plugins/instance/file/spare_files.h"
#include "plugins/instance/watch_fanout.h"
#include "spi/instance/instance_plugin.h"

namespace infrakit::plugins::instance::file {

namespace v1 = ::infrakit::instance::v1;

class FilePlugin : public spi::instance::InstancePlugin, private DirWatcher::Listener {
 public:
  struct Options {
    // Write new instance files as unnamed files (open with O_TMPFILE, then linkat through
    // /proc/self/fd): one directory operation per instance (the link) instead of three (create
    // a temporary name, link, unlink it), and none before the contents are complete. Used only
    // where /proc/self/fd exists; a filesystem without O_TMPFILE makes the plugin fall back to
    // named temporary files for good. False always uses named temporary files (tests).
    bool unnamed_temp_files = true;
    // How many emptied files of destroyed instances are kept in `<dir>/.spare` for new
    // instances to be written into (spare_files.h: no inode freed or allocated); 0 keeps none.
    size_t spare_files = 16384;
    // The calls that write, sync, link, rename and remove files (not owned; must outlive the
    // plugin). Tests inject faults there (common/testing/fault_file_ops.h).
    common::FileOps* file_ops = &common::RealFileOps();
  };

  // Opens `dir` (created with its parents when missing), loads the instances in it and starts
  // watching it. A file that does not decode (empty, truncated, corrupt: INVALID_ARGUMENT; of a
  // newer format: FAILED_PRECONDITION) is refused, with a message naming it and saying what to
  // do; later, such files are skipped with a warning. Other errors: the directory cannot be
  // created or read, or inotify is unavailable (INTERNAL / the errno's code).
  static absl::StatusOr<std::unique_ptr<FilePlugin>> Create(const std::string& dir);
  static absl::StatusOr<std::unique_ptr<FilePlugin>> Create(const std::string& dir,
                                                            const Options& options);

  // Stops watching the directory and ends every open watch with OnDone(CANCELLED). Must not be
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
  // From the index's snapshot: copies only the page (InstanceIndex::MatchingPage), without
  // blocking (the snapshot is taken under the index's lock, which no one holds across I/O).
  absl::Status DescribePaged(const v1::DescribeRequest& request, const common::PageCursor& cursor,
                             absl::string_view fingerprint, v1::DescribeResponse* out) override;
  bool DescribePagedNeverBlocks() const override { return true; }

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
  bool unnamed_temp_files() const { return writer_.unnamed(); }

 private:
  FilePlugin(std::string dir, const Options& options);

  // Watches the directory, scans it and starts reporting its changes.
  absl::Status Start();

  // DirWatcher::Listener, on the watcher's thread: each name's file is read again unless its
  // events are the echo of our own change.
  void OnNamesChanged(const std::vector<DirWatcher::NameEvents>& names) override;
  void OnRescanNeeded() override;

  // Reads all files and brings the index in line with them. A file that does not decode is
  // skipped with a warning, except `at_start`: then it fails the scan (RefuseAtStart). Requires
  // io_mu_.
  absl::Status RescanLocked(bool at_start) ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // Why the plugin does not start with the file at `path` (`why`: its decoding error, whose
  // code it keeps), and what to do about it.
  absl::Status RefuseAtStart(const std::string& path, const absl::Status& why) const;
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
  // A temporary file holding `contents` (fsynced with `sync`): a spare file when one can be
  // claimed, else a new one (common::TempFileWriter::Write).
  absl::StatusOr<common::TempFile> WriteTemp(const std::string& contents, bool sync);
  // Removes the instance file at `path` as unlink(2) does, moving it to the spare files when
  // there is room (its name there in *retired, for SpareFiles::Settle once io_mu_ is
  // released): 0 or the errno.
  int RemoveFile(const std::string& path, std::string* retired);
  // Publishes a durable temporary file as instance `instance` (whose encoding is `contents`):
  // links it to the instance's path (never overwriting) and indexes it. Discards the temporary
  // file in every case. ALREADY_EXISTS when the name is taken (another process on the
  // directory; the caller tries another ID). Requires io_mu_.
  absl::Status PublishLocked(common::TempFile& temp, const v1::Description& instance,
                             const std::string& contents) ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // BatchProvision's steps (see there). An instance to create: the request item, its
  // description and encoding, and its temporary file once written.
  struct PendingWrite {
    int index = 0;
    v1::Description instance;
    std::string contents;
    std::optional<common::TempFile> temp;  // empty until written (or when the write failed)
  };
  struct BatchPlan {
    std::vector<PendingWrite> writes;
    std::vector<std::pair<int, int>> repeats;  // (item, the earlier item with its key)
  };
  // Fails the items Provision would refuse, answers those whose key is on an instance, and
  // plans a write for each other item but repeats of a key in the batch.
  BatchPlan PlanBatch(const v1::BatchProvisionRequest& request,
                      v1::BatchProvisionResponse* response);
  // Writes the temporary files without syncing, then makes them durable with one syncfs on
  // `dir_fd`; fails the items that could not be. Returns how many are written and durable.
  int WriteDurably(int dir_fd, std::vector<PendingWrite>& writes,
                   v1::BatchProvisionResponse* response);
  // Publishes and indexes the written files under one hold of io_mu_, in request order;
  // items whose ID was taken go to `again`. Returns how many were created.
  int PublishBatch(std::vector<PendingWrite>& writes, v1::BatchProvisionResponse* response,
                   std::vector<int>* again) ABSL_LOCKS_EXCLUDED(io_mu_);
  // Removes instance `id` (checked by CheckId) as Destroy does; a retired spare file's name
  // goes to *retired. Requires io_mu_.
  absl::Status DestroyLocked(const v1::DestroyRequest& request, std::string* retired)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // BatchDestroy's removals of the items marked `valid`, under one hold of io_mu_; their
  // results in *response, the retired spare files' names in *retired. Returns how many
  // instances were destroyed.
  size_t BatchDestroyLocked(const v1::BatchDestroyRequest& request, const std::vector<bool>& valid,
                            v1::BatchDestroyResponse* response, std::vector<std::string>* retired)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // OK when instance `id` exists (looking at the disk when the index may be behind it), else
  // NotFound(id). Requires io_mu_.
  absl::Status KnownLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  absl::Status NotFound(const std::string& id) const;
  // The response to a repeated provision of instance `id`.
  static v1::ProvisionResponse Existing(std::string id, const std::string& key);

  const std::string dir_;
  common::FileOps& ops_;
  common::TempFileWriter writer_;
  const size_t spare_capacity_;
  // Null when spare files are off (capacity 0) or their directory could not be opened.
  std::unique_ptr<SpareFiles> spares_;

  // Held while changing a file and applying the change to the index and the watches.
  absl::Mutex io_mu_;
  // Written only under io_mu_ (see InstanceIndex); read from anywhere.
  InstanceIndex index_;
  EchoFilter echoes_ ABSL_GUARDED_BY(io_mu_);
  absl::Mutex id_mu_;
  int64_t last_id_number_ ABSL_GUARDED_BY(id_mu_) = 0;
  // Sinks are called under io_mu_, in the order of the changes.
  WatchFanout fanout_{WatchFanout::Delivery::kCallingThread};
  // Declared last, so destroyed first: it calls back into the members above.
  std::unique_ptr<DirWatcher> watcher_;
};

}  // namespace infrakit::plugins::instance::file

#endif  // INFRAKIT_PLUGINS_INSTANCE_FILE_FILE_PLUGIN_H_
