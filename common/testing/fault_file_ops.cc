#include "common/testing/fault_file_ops.h"

#include <errno.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace infrakit::common::testing {

void FaultFileOps::FailAt(int index, int error) {
  absl::MutexLock lock(&mu_);
  fail_at_ = index;
  fail_error_ = error;
}

void FaultFileOps::CrashAt(int index) {
  absl::MutexLock lock(&mu_);
  crash_at_ = index;
}

void FaultFileOps::Clear() {
  absl::MutexLock lock(&mu_);
  fail_at_ = -1;
  crash_at_ = -1;
  crashed_ = false;
}

int FaultFileOps::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

bool FaultFileOps::crashed() const {
  absl::MutexLock lock(&mu_);
  return crashed_;
}

std::vector<std::string> FaultFileOps::log() const {
  absl::MutexLock lock(&mu_);
  return log_;
}

FaultFileOps::Verdict FaultFileOps::Next(std::string what, int* error) {
  absl::MutexLock lock(&mu_);
  const int index = calls_++;
  log_.push_back(absl::StrCat(index, " ", what));
  if (crashed_ || index == crash_at_) {
    crashed_ = true;
    *error = EIO;
    return Verdict::kCrash;
  }
  if (index == fail_at_) {
    *error = fail_error_;
    return Verdict::kFail;
  }
  return Verdict::kReal;
}

int FaultFileOps::Open(const char* path, int flags, mode_t mode) {
  int error = 0;
  if (Next(absl::StrCat("open ", path), &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Open(path, flags, mode);
}

int FaultFileOps::Mkostemp(char* path_template, int flags) {
  int error = 0;
  if (Next(absl::StrCat("mkostemp ", path_template), &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Mkostemp(path_template, flags);
}

ssize_t FaultFileOps::Write(int fd, const void* data, size_t size) {
  int error = 0;
  const Verdict verdict = Next(absl::StrCat("write ", size, " bytes"), &error);
  if (verdict == Verdict::kReal) return base_->Write(fd, data, size);
  // A torn write: half of the bytes reach the file before the failure (or the death).
  if (size > 1) {
    const ssize_t ignored = base_->Write(fd, data, size / 2);
    (void)ignored;
  }
  errno = error;
  return -1;
}

ssize_t FaultFileOps::Pwrite(int fd, const void* data, size_t size, off_t offset) {
  int error = 0;
  const Verdict verdict = Next(absl::StrCat("pwrite ", size, " bytes at ", offset), &error);
  if (verdict == Verdict::kReal) return base_->Pwrite(fd, data, size, offset);
  if (size > 1) {
    const ssize_t ignored = base_->Pwrite(fd, data, size / 2, offset);
    (void)ignored;
  }
  errno = error;
  return -1;
}

int FaultFileOps::Fdatasync(int fd) {
  int error = 0;
  if (Next("fdatasync", &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Fdatasync(fd);
}

int FaultFileOps::Fchmod(int fd, mode_t mode) {
  int error = 0;
  if (Next("fchmod", &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Fchmod(fd, mode);
}

int FaultFileOps::Fsync(int fd) {
  int error = 0;
  if (Next("fsync", &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Fsync(fd);
}

int FaultFileOps::Syncfs(int fd) {
  int error = 0;
  if (Next("syncfs", &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Syncfs(fd);
}

int FaultFileOps::Close(int fd) {
  int error = 0;
  const Verdict verdict = Next("close", &error);
  // The descriptor is released in every case (as close(2) does, and as a dead process's are).
  const int result = base_->Close(fd);
  if (verdict != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return result;
}

int FaultFileOps::Rename(const char* from, const char* to) {
  int error = 0;
  if (Next(absl::StrCat("rename ", from, " -> ", to), &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Rename(from, to);
}

int FaultFileOps::Linkat(int from_dir, const char* from, int to_dir, const char* to, int flags) {
  int error = 0;
  if (Next(absl::StrCat("link ", from, " -> ", to), &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Linkat(from_dir, from, to_dir, to, flags);
}

int FaultFileOps::Unlink(const char* path) {
  int error = 0;
  if (Next(absl::StrCat("unlink ", path), &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Unlink(path);
}

int FaultFileOps::Truncate(const char* path, off_t length) {
  int error = 0;
  if (Next(absl::StrCat("truncate ", path, " to ", length), &error) != Verdict::kReal) {
    errno = error;
    return -1;
  }
  return base_->Truncate(path, length);
}

}  // namespace infrakit::common::testing
