// instance-file's view of its directory changing: an inotify watch read on a thread of its
// own, which reports the names that changed, and the filter that recognises the echo of the
// plugin's own links and unlinks among them.
#ifndef INFRAKIT_PLUGINS_INSTANCE_FILE_DIR_WATCHER_H_
#define INFRAKIT_PLUGINS_INSTANCE_FILE_DIR_WATCHER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"

namespace infrakit::plugins::instance::file {

// Watches one directory. The events of one read are coalesced: each name is reported once,
// after all its events, since only the final state of a file matters. Dot files (temporary
// files) and directories are never reported. When the directory itself goes away it is
// recreated (with its parents) and watched again, and a rescan is asked for.
class DirWatcher {
 public:
  // What one read of events said of one name.
  struct NameEvents {
    std::string name;
    // Its only events were creations: a writer may not have finished (its close comes later).
    bool only_created = false;
    // Its only events were deletions or moves out of the directory.
    bool only_deleted = false;
  };

  // What the watcher reports, on its own thread, one call at a time.
  class Listener {
   public:
    virtual ~Listener() = default;
    // The names that changed in one read of events, in the order first seen.
    virtual void OnNamesChanged(const std::vector<NameEvents>& names) = 0;
    // Events were lost (the inotify queue overflowed) or the directory was recreated: every
    // file must be read again.
    virtual void OnRescanNeeded() = 0;
  };

  // Starts watching `dir` (which must exist). Nothing is reported before Start, so that the
  // caller can scan the directory in between: a change during the scan is then seen twice,
  // never missed. Errors: the errno's code, naming inotify, eventfd or the directory.
  static absl::StatusOr<std::unique_ptr<DirWatcher>> Create(const std::string& dir);

  // Stops and joins the thread (a listener call under way finishes first). Must not run
  // inside a listener call.
  ~DirWatcher();

  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;

  // Starts the thread that reports to `listener`, which must outlive the watcher. Call once.
  void Start(Listener* listener);

  // Coalesces one buffer of inotify events (as read(2) returns them) for watch descriptor
  // `wd`: the names that changed, and whether events were lost or the directory went away.
  // Exposed for tests. Thread-safe (pure).
  struct Batch {
    std::vector<NameEvents> names;
    bool overflow = false;
    bool directory_gone = false;
  };
  static Batch Coalesce(const char* buffer, size_t length, int wd);

 private:
  explicit DirWatcher(std::string dir) : dir_(std::move(dir)) {}

  void Loop();
  // Watches the directory again after it went away (recreating it first).
  void Rewatch();

  const std::string dir_;
  Listener* listener_ = nullptr;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;           // eventfd that stops Loop
  int watch_descriptor_ = -1;  // only touched by Create and the thread
  std::thread thread_;
};

// Recognises the inotify echo of the owner's own changes: a name it linked whose IN_CREATE has
// not been read yet, a name it removed (unlinked, or moved out to its spare files) whose
// IN_DELETE or IN_MOVED_FROM has not. Such events tell what the owner has already applied. Not
// thread-safe: the owner serializes every call with its changes (instance-file: under its I/O
// lock), so that a record is always made before its echo is read.
class EchoFilter {
 public:
  // Records that the owner linked (published) `name`.
  void Linked(const std::string& name) { linked_.insert(name); }
  // Records that the owner removed `name` (unlinked it, or moved it out of the directory).
  void Unlinked(const std::string& name) { unlinked_.insert(name); }
  // Forgets every record (a rescan reads everything; an overflow may have lost their events).
  void Clear();

  // Whether `events` are only the echo of our own removal (only deletions) or link (only
  // creations); consumes the records of the name that the events answer.
  bool IsEcho(const DirWatcher::NameEvents& events);

 private:
  absl::flat_hash_set<std::string> linked_;
  absl::flat_hash_set<std::string> unlinked_;
};

}  // namespace infrakit::plugins::instance::file

#endif  // INFRAKIT_PLUGINS_INSTANCE_FILE_DIR_WATCHER_H_
