// A FileOps for tests that numbers every call and makes a chosen one fail (with EIO, ENOSPC,
// EMFILE...) or "crash" the writer there: that call and every later one do nothing, as if the
// process had died at that point (no clean-up runs). A test first counts the calls of an
// operation done without faults, then repeats it with a fault at each index in turn and checks
// what is on disk (reopened with the real calls): the old state or the new one, never a mix.
#ifndef INFRAKIT_COMMON_TESTING_FAULT_FILE_OPS_H_
#define INFRAKIT_COMMON_TESTING_FAULT_FILE_OPS_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/file_ops.h"

namespace infrakit::common::testing {

// Thread-safe. Calls are numbered from 0 in the order they reach this object.
class FaultFileOps final : public FileOps {
 public:
  // Forwards to `base` (not owned; RealFileOps() by default) until a fault is due.
  explicit FaultFileOps(FileOps* base = &RealFileOps()) : base_(base) {}

  // Call number `index` fails with `error` (errno); the calls before and after it are real. A
  // failing Write or Pwrite first writes half of its bytes for real (a torn write), then fails.
  void FailAt(int index, int error);
  // Call number `index` and every later call fail with EIO and do nothing, except that a Write
  // (or Pwrite) at `index` writes half of its bytes: the writer died in the middle of it.
  void CrashAt(int index);
  // No fault from now on (the count goes on).
  void Clear();

  // How many calls were made so far.
  int calls() const;
  // Whether a crash happened (a call reached the CrashAt index).
  bool crashed() const;
  // One line per call so far, e.g. "3 fsync", "4 rename .x.tmp-ab12 -> x": for test messages.
  std::vector<std::string> log() const;

  int Open(const char* path, int flags, mode_t mode) override;
  int Mkostemp(char* path_template, int flags) override;
  ssize_t Write(int fd, const void* data, size_t size) override;
  ssize_t Pwrite(int fd, const void* data, size_t size, off_t offset) override;
  int Fdatasync(int fd) override;
  int Fchmod(int fd, mode_t mode) override;
  int Fsync(int fd) override;
  int Syncfs(int fd) override;
  int Close(int fd) override;
  int Rename(const char* from, const char* to) override;
  int Linkat(int from_dir, const char* from, int to_dir, const char* to, int flags) override;
  int Unlink(const char* path) override;
  int Truncate(const char* path, off_t length) override;

 private:
  enum class Verdict { kReal, kFail, kCrash };
  // Numbers the call, logs `what` and says what to do with it; the errno for kFail / kCrash is
  // in *error.
  Verdict Next(std::string what, int* error) ABSL_LOCKS_EXCLUDED(mu_);

  FileOps* const base_;
  mutable absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_at_ ABSL_GUARDED_BY(mu_) = -1;
  int fail_error_ ABSL_GUARDED_BY(mu_) = 0;
  int crash_at_ ABSL_GUARDED_BY(mu_) = -1;
  bool crashed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::common::testing

#endif  // INFRAKIT_COMMON_TESTING_FAULT_FILE_OPS_H_
