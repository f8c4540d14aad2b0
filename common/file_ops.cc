#include "common/file_ops.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

namespace infrakit::common {
namespace {

// Forwards every call to the C library.
class RealOps final : public FileOps {
 public:
  int Open(const char* path, int flags, mode_t mode) override { return open(path, flags, mode); }
  int Mkostemp(char* path_template, int flags) override { return mkostemp(path_template, flags); }
  ssize_t Write(int fd, const void* data, size_t size) override { return write(fd, data, size); }
  ssize_t Pwrite(int fd, const void* data, size_t size, off_t offset) override {
    return pwrite(fd, data, size, offset);
  }
  int Fchmod(int fd, mode_t mode) override { return fchmod(fd, mode); }
  int Fdatasync(int fd) override { return fdatasync(fd); }
  int Fsync(int fd) override { return fsync(fd); }
  int Syncfs(int fd) override { return syncfs(fd); }
  int Close(int fd) override { return close(fd); }
  int Rename(const char* from, const char* to) override { return rename(from, to); }
  int Linkat(int from_dir, const char* from, int to_dir, const char* to, int flags) override {
    return linkat(from_dir, from, to_dir, to, flags);
  }
  int Unlink(const char* path) override { return unlink(path); }
  int Truncate(const char* path, off_t length) override { return truncate(path, length); }
};

}  // namespace

FileOps& RealFileOps() {
  static FileOps* const ops = new RealOps();
  return *ops;
}

}  // namespace infrakit::common
