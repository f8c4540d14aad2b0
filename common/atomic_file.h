// Files that appear complete or not at all: the contents go to a temporary file in the target's
// directory, which is made durable before it gets its final name (a link that never overwrites,
// or a rename over the old file). A crash leaves the old file or the new one, never a part.
//
// Temporary files are unnamed (O_TMPFILE: no directory entry until the link) where the
// filesystem has them and the caller wants them, else dot-prefixed names in the same directory,
// which readers of the directory skip.
//
// Every call that changes the disk goes through a FileOps (common/file_ops.h; the real calls by
// default), so that tests can fail or stop a writer at any of them.
#ifndef INFRAKIT_COMMON_ATOMIC_FILE_H_
#define INFRAKIT_COMMON_ATOMIC_FILE_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/file_ops.h"

namespace infrakit::common {

// A written file not yet published under its final name: an unnamed file (descriptor open, no
// path) or a named temporary file (path, descriptor closed). Move-only; destroying it discards
// the file (closes its descriptor, removes its temporary name). Not thread-safe.
class TempFile {
 public:
  TempFile() = default;
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&& other) noexcept;
  ~TempFile() { Discard(); }

  // Whether the file has no name (its descriptor is open); false for an empty TempFile too.
  bool unnamed() const { return fd_ >= 0; }
  // The temporary name; empty for an unnamed file.
  const std::string& path() const { return path_; }

  // Gives the file the name `path` too, never overwriting: 0, or the errno (EEXIST when the
  // name is taken). An unnamed file is linked through /proc/self/fd (needs no capability). The
  // TempFile still has to be discarded (its temporary name removed) afterwards.
  int Link(const std::string& path) const;

  // Renames a named temporary file over `path`, replacing what is there: 0, or the errno
  // (EINVAL for an unnamed file). On success the TempFile is left empty.
  int RenameOver(const std::string& path);

  // fstat of an unnamed file's open descriptor: 0, or the errno (EBADF for a named one).
  int Stat(struct stat* st) const;

  // Closes the descriptor and removes the temporary name, if any; leaves the TempFile empty.
  void Discard();

 private:
  friend class TempFileWriter;
  TempFile(FileOps* ops, int fd, std::string path) : ops_(ops), fd_(fd), path_(std::move(path)) {}

  FileOps* ops_ = &RealFileOps();
  int fd_ = -1;
  std::string path_;
};

// Writes temporary files in one directory. Thread-safe: each call writes its own file.
class TempFileWriter {
 public:
  struct Options {
    // Write unnamed files (open with O_TMPFILE) where /proc/self/fd exists: no directory
    // operation until the link, and none before the contents are complete. The first refusal
    // by the filesystem (EOPNOTSUPP, EISDIR, EINVAL) turns to named files for good.
    bool unnamed = true;
    // The files' permissions, whatever the umask.
    mode_t mode = 0644;
    // Named temporary files are `<dir>/<name_prefix>XXXXXX`; keep the prefix starting with '.'.
    std::string name_prefix = ".tmp-";
    // The calls that write, sync, link, rename and remove files (not owned; must outlive the
    // writer and its files).
    FileOps* file_ops = &RealFileOps();
  };

  TempFileWriter(std::string dir, Options options);

  // Writes `contents` to a new temporary file in the directory, fsynced unless `sync` is false
  // (the caller then makes it durable another way, e.g. syncfs, before publishing it). `named`
  // asks for a named file whatever the options (to rename it over another). When the process is
  // out of descriptors, falls back to a named file, which is closed at once. Errors: the errno's
  // code, naming the directory or the file; nothing is left behind.
  absl::StatusOr<TempFile> Write(absl::string_view contents, bool sync = true, bool named = false);

  // Writes `contents` over the existing file `path` (emptied first; it must be a temporary
  // file the caller owns, e.g. one it renamed to a name of its own), fsynced unless `sync` is
  // false: a named TempFile of that path. Writing into an existing file allocates no inode (see
  // plugins/instance/file/spare_files.h for why that matters). Errors: the errno's code, naming
  // the file; the file is left in place (its contents undefined) for the caller to remove.
  absl::StatusOr<TempFile> WriteOver(const std::string& path, absl::string_view contents,
                                     bool sync = true) const;

  // Whether new files are currently written unnamed; false after a fallback.
  bool unnamed() const { return unnamed_.load(std::memory_order_relaxed); }

  const std::string& dir() const { return dir_; }

 private:
  absl::StatusOr<TempFile> WriteNamed(absl::string_view contents, bool sync) const;

  const std::string dir_;
  const Options options_;
  std::atomic<bool> unnamed_;
};

// Replaces (or creates) `path` with a file holding `contents`, crash-safely: a named temporary
// file `.<name>.tmp-XXXXXX` in the same directory, of mode `mode`, fsynced, renamed over `path`,
// then, with `sync_directory`, the directory fsynced (without, readers never see a part, but
// the new name may not survive a crash). Errors: the errno's code, naming the file or the
// directory (a failed directory fsync is reported although the new file is in place: it may
// not survive a crash); no temporary file is left behind. The calls go through `ops`.
// Thread-safe (every call has its own temporary file).
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents,
                                 mode_t mode = 0600, bool sync_directory = true,
                                 FileOps& ops = RealFileOps());

// Makes the names in `dir` durable (fsync of the directory, through `ops`). Errors: the errno's
// code, naming the directory. Thread-safe.
absl::Status SyncDirectory(const std::string& dir, FileOps& ops = RealFileOps());

// The whole contents of `path`. Errors: the errno's code (NOT_FOUND when there is no such
// file), naming the file. Thread-safe.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_ATOMIC_FILE_H_
