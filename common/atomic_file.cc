#include "common/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace infrakit::common {
namespace {

// Sets the mode, writes all of `contents` into `fd` and fsyncs it when `sync`. The errno on
// failure, 0 on success.
int WriteAll(FileOps& ops, int fd, absl::string_view contents, mode_t mode, bool sync) {
  // mkostemp makes files owner-only and O_TMPFILE applies the umask: the mode is set here.
  if (ops.Fchmod(fd, mode) != 0) return errno;
  while (!contents.empty()) {
    ssize_t n = ops.Write(fd, contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    contents.remove_prefix(static_cast<size_t>(n));
  }
  if (sync && ops.Fsync(fd) != 0) return errno;
  return 0;
}

// Writes a named temporary file `<dir>/<prefix>XXXXXX`, closed before it is returned.
absl::StatusOr<std::string> WriteNamedFile(FileOps& ops, const std::string& dir,
                                           absl::string_view prefix, absl::string_view contents,
                                           mode_t mode, bool sync) {
  std::string path = absl::StrCat(dir, "/", prefix, "XXXXXX");
  int fd = ops.Mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("creating a file in ", dir));
  if (const int error = WriteAll(ops, fd, contents, mode, sync); error != 0) {
    ops.Close(fd);
    ops.Unlink(path.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("writing ", path));
  }
  if (ops.Close(fd) != 0) {
    const int error = errno;
    ops.Unlink(path.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("close ", path));
  }
  return path;
}

}  // namespace

TempFile::TempFile(TempFile&& other) noexcept
    : ops_(other.ops_), fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {
  other.path_.clear();
}

TempFile& TempFile::operator=(TempFile&& other) noexcept {
  if (this != &other) {
    Discard();
    ops_ = other.ops_;
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

int TempFile::Link(const std::string& path) const {
  if (fd_ < 0) {
    return ops_->Linkat(AT_FDCWD, path_.c_str(), AT_FDCWD, path.c_str(), 0) == 0 ? 0 : errno;
  }
  // The data was written (and made durable) through the descriptor before this, the only
  // moment the file gets a name: it is complete or absent under it. AT_EMPTY_PATH would need
  // CAP_DAC_READ_SEARCH; /proc/self/fd with AT_SYMLINK_FOLLOW needs nothing.
  const std::string proc = absl::StrCat("/proc/self/fd/", fd_);
  return ops_->Linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0
             ? 0
             : errno;
}

int TempFile::RenameOver(const std::string& path) {
  if (fd_ >= 0 || path_.empty()) return EINVAL;
  if (ops_->Rename(path_.c_str(), path.c_str()) != 0) return errno;
  path_.clear();
  return 0;
}

int TempFile::Stat(struct stat* st) const {
  if (fd_ < 0) return EBADF;
  return fstat(fd_, st) == 0 ? 0 : errno;
}

void TempFile::Discard() {
  if (fd_ >= 0) ops_->Close(fd_);
  if (!path_.empty()) ops_->Unlink(path_.c_str());
  fd_ = -1;
  path_.clear();
}

TempFileWriter::TempFileWriter(std::string dir, Options options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      unnamed_(options_.unnamed && access("/proc/self/fd", X_OK) == 0) {}

absl::StatusOr<TempFile> TempFileWriter::Write(absl::string_view contents, bool sync, bool named) {
  if (!named && unnamed_.load(std::memory_order_relaxed)) {
    // No name, so no directory operation (and no wait on the directory's lock) until the link.
    FileOps& ops = *options_.file_ops;
    const int fd = ops.Open(dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, options_.mode);
    if (fd >= 0) {
      TempFile temp(&ops, fd, "");
      if (const int error = WriteAll(ops, fd, contents, options_.mode, sync); error != 0) {
        return absl::ErrnoToStatus(error, absl::StrCat("writing an unnamed file in ", dir_));
      }
      return temp;
    }
    const int error = errno;
    if (error == EOPNOTSUPP || error == EISDIR || error == EINVAL) {
      // The filesystem (or kernel) has no unnamed files: named ones from now on.
      if (unnamed_.exchange(false)) {
        LOG(INFO) << dir_ << " has no O_TMPFILE (" << strerror(error)
                  << "); writing named temporary files";
      }
    } else if (error != EMFILE && error != ENFILE) {
      // (Out of descriptors, with the files of large batches open at once, a named file,
      // closed at once, still works.)
      return absl::ErrnoToStatus(error, absl::StrCat("creating a file in ", dir_));
    }
  }
  return WriteNamed(contents, sync);
}

absl::StatusOr<TempFile> TempFileWriter::WriteOver(const std::string& path,
                                                   absl::string_view contents, bool sync) const {
  FileOps& ops = *options_.file_ops;
  const int fd = ops.Open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd < 0) {
    const int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat("opening ", path));
  }
  if (const int error = WriteAll(ops, fd, contents, options_.mode, sync); error != 0) {
    ops.Close(fd);
    return absl::ErrnoToStatus(error, absl::StrCat("writing ", path));
  }
  if (ops.Close(fd) != 0) {
    const int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat("close ", path));
  }
  return TempFile(&ops, -1, path);
}

absl::StatusOr<TempFile> TempFileWriter::WriteNamed(absl::string_view contents, bool sync) const {
  absl::StatusOr<std::string> path =
      WriteNamedFile(*options_.file_ops, dir_, options_.name_prefix, contents, options_.mode, sync);
  if (!path.ok()) return path.status();
  return TempFile(options_.file_ops, -1, *std::move(path));
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode,
                                 bool sync_directory, FileOps& ops) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  absl::StatusOr<std::string> temp =
      WriteNamedFile(ops, dir, absl::StrCat(".", name, ".tmp-"), contents, mode, /*sync=*/true);
  if (!temp.ok()) return temp.status();
  if (ops.Rename(temp->c_str(), path.c_str()) != 0) {
    const int error = errno;
    ops.Unlink(temp->c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("renaming ", *temp, " to ", path));
  }
  return sync_directory ? SyncDirectory(dir, ops) : absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& dir, FileOps& ops) {
  const int fd = ops.Open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("opening directory ", dir));
  if (ops.Fsync(fd) != 0) {
    const int error = errno;
    ops.Close(fd);
    return absl::ErrnoToStatus(error, absl::StrCat("fsync of directory ", dir));
  }
  if (ops.Close(fd) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("closing directory ", dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::string contents;
  char buffer[16 * 1024];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return absl::ErrnoToStatus(error, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return contents;
}

}  // namespace infrakit::common
