// One instance plugin per instance directory: the directory-based plugins (instance-file,
// instance-process, instance-terraform, instance-vagrant) hold an exclusive lock on it while
// they run. Two plugins on one directory would both act on the same instances (adopt and
// supervise the same processes, delete what the other is creating); a second one, whatever
// its --name, is refused before it reads anything there.
#ifndef INFRAKIT_PLUGINS_INSTANCE_DIRECTORY_LOCK_H_
#define INFRAKIT_PLUGINS_INSTANCE_DIRECTORY_LOCK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace infrakit::plugins::instance {

// A held lock on a directory; released when destroyed, and by the kernel when the process
// dies (kill -9 included), so a crash never leaves the directory locked. Movable, not copyable.
class DirectoryLock {
 public:
  DirectoryLock(DirectoryLock&& other) noexcept;
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();

 private:
  friend absl::StatusOr<DirectoryLock> LockDirectory(const std::string& dir,
                                                     absl::string_view plugin);
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Creates `dir` (and its parents) if missing and takes an exclusive, non-blocking flock on the
// directory itself (nothing is added to it). `plugin` names the caller in the error. Errors:
// FAILED_PRECONDITION "instance directory DIR is in use by another instance plugin (it holds a
// lock on it); stop it, or give this PLUGIN another --dir" when another open of it holds the
// lock; the errno status naming the directory when it cannot be made or opened. Thread-safe.
absl::StatusOr<DirectoryLock> LockDirectory(const std::string& dir, absl::string_view plugin);

}  // namespace infrakit::plugins::instance

#endif  // INFRAKIT_PLUGINS_INSTANCE_DIRECTORY_LOCK_H_
