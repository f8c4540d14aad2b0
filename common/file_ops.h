// The file-system calls that crash-safe writers make (common/atomic_file, the group service's
// FileStore, instance-file), behind one interface, so that tests can make any of them fail or
// "crash" the writer at that call (common/testing/fault_file_ops.h) and check that what is on
// disk afterwards is the old state or the new one, and that the failure was reported.
#ifndef INFRAKIT_COMMON_FILE_OPS_H_
#define INFRAKIT_COMMON_FILE_OPS_H_

#include <sys/stat.h>
#include <sys/types.h>

namespace infrakit::common {

// Each method is the POSIX call of the same name: it returns what the call returns (-1 on
// failure) and leaves the error in errno, so that callers read as plain POSIX code.
//
// Threading: implementations are thread-safe; calls may block (disk I/O).
class FileOps {
 public:
  virtual ~FileOps() = default;

  // open(2): a descriptor or -1.
  virtual int Open(const char* path, int flags, mode_t mode) = 0;
  // mkostemp(3): creates and opens a unique file from `path_template` (rewritten in place).
  virtual int Mkostemp(char* path_template, int flags) = 0;
  // write(2): the number of bytes written (possibly fewer than `size`) or -1.
  virtual ssize_t Write(int fd, const void* data, size_t size) = 0;
  // pwrite(2): the number of bytes written at `offset` (possibly fewer than `size`) or -1.
  virtual ssize_t Pwrite(int fd, const void* data, size_t size, off_t offset) = 0;
  // fchmod(2): 0 or -1.
  virtual int Fchmod(int fd, mode_t mode) = 0;
  // fsync(2) of a file or a directory: 0 or -1.
  virtual int Fsync(int fd) = 0;
  // fdatasync(2): 0 or -1.
  virtual int Fdatasync(int fd) = 0;
  // syncfs(2) of the filesystem holding `fd`: 0 or -1.
  virtual int Syncfs(int fd) = 0;
  // close(2): 0 or -1 (the descriptor is released either way).
  virtual int Close(int fd) = 0;
  // rename(2): 0 or -1.
  virtual int Rename(const char* from, const char* to) = 0;
  // linkat(2): 0 or -1.
  virtual int Linkat(int from_dir, const char* from, int to_dir, const char* to, int flags) = 0;
  // unlink(2): 0 or -1.
  virtual int Unlink(const char* path) = 0;
  // truncate(2): 0 or -1.
  virtual int Truncate(const char* path, off_t length) = 0;
};

// The real calls. A process-wide instance that is never destroyed; thread-safe.
FileOps& RealFileOps();

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_FILE_OPS_H_
