#include "plugins/instance/file/spare_files.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/atomic_file.h"
#include "glog/logging.h"

namespace infrakit::plugins::instance::file {
namespace {

constexpr absl::string_view kClaimPrefix = ".claim-";

// Lists the pool: the spare files' names (regular files without a leading dot), up to
// `capacity`; claims older than `stale_claim_age` are removed on the way.
absl::StatusOr<std::vector<std::string>> ListPool(const std::string& dir, size_t capacity,
                                                  absl::Duration stale_claim_age,
                                                  common::FileOps& ops) {
  DIR* listing = opendir(dir.c_str());
  if (listing == nullptr) {
    const int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat("listing ", dir));
  }
  std::vector<std::string> names;
  const absl::Time now = absl::Now();
  const struct dirent* entry = nullptr;
  // readdir leaves errno alone at the end: it is cleared before each call.
  for (errno = 0; (entry = readdir(listing)) != nullptr; errno = 0) {
    const std::string name = entry->d_name;
    const std::string path = absl::StrCat(dir, "/", name);
    struct stat st;
    if (name.empty() || lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (absl::StartsWith(name, kClaimPrefix)) {
      if (now - absl::TimeFromTimespec(st.st_ctim) >= stale_claim_age) ops.Unlink(path.c_str());
    } else if (name[0] != '.' && st.st_nlink == 1 && names.size() < capacity) {
      names.push_back(name);
    }
  }
  const int error = errno;
  closedir(listing);
  if (error != 0) return absl::ErrnoToStatus(error, absl::StrCat("listing ", dir));
  return names;
}

// A process's own part of the pool's names: its pid and 32 random bits, since two processes
// serving one directory from two PID namespaces (two containers) may have the same pid.
std::string NewToken() {
  absl::BitGen bits;
  return absl::StrCat(getpid(), "-", absl::Hex(absl::Uniform<uint32_t>(bits), absl::kZeroPad8));
}

}  // namespace

SpareFiles::SpareFiles(std::string instance_dir, size_t capacity, common::FileOps* ops)
    : instance_dir_(std::move(instance_dir)),
      dir_(absl::StrCat(instance_dir_, "/", kDirName)),
      capacity_(capacity),
      ops_(ops),
      token_(NewToken()) {}

absl::StatusOr<std::unique_ptr<SpareFiles>> SpareFiles::Open(const std::string& dir,
                                                             size_t capacity, common::FileOps* ops,
                                                             absl::Duration stale_claim_age) {
  std::string pool = absl::StrCat(dir, "/", kDirName);
  if (mkdir(pool.c_str(), 0755) != 0 && errno != EEXIST) {
    const int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat("creating ", pool));
  }
  struct stat st;
  if (lstat(pool.c_str(), &st) != 0) {
    const int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat("stat ", pool));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(pool, " is not a directory (instance-file keeps spare files there)"));
  }
  absl::StatusOr<std::vector<std::string>> names = ListPool(pool, capacity, stale_claim_age, *ops);
  if (!names.ok()) return names.status();
  std::unique_ptr<SpareFiles> spares(new SpareFiles(dir, capacity, ops));
  spares->names_ = *std::move(names);
  return spares;
}

int SpareFiles::Retire(const std::string& path, std::string* retired) {
  retired->clear();
  // Only a plain file with no other name is kept: emptying one with other names would empty
  // them; anything else is removed as unlink(2) would (and fails as it would).
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return errno;
  bool full = !S_ISREG(st.st_mode) || st.st_nlink != 1;
  if (!full) {
    absl::MutexLock lock(&mu_);
    full = names_.size() + retiring_ >= capacity_;
    if (!full) ++retiring_;
  }
  if (full) return ops_->Unlink(path.c_str()) == 0 ? 0 : errno;
  std::string name = NextName();
  const std::string spare = absl::StrCat(dir_, "/", name);
  if (ops_->Rename(path.c_str(), spare.c_str()) == 0) {
    *retired = std::move(name);
    return 0;
  }
  {
    absl::MutexLock lock(&mu_);
    --retiring_;
  }
  // A rename fails where an unlink may not (the pool's directory gone, EXDEV, ENOSPC...); ENOENT
  // may be either the file's or the pool's.
  const int error = ops_->Unlink(path.c_str()) == 0 ? 0 : errno;
  // The instance directory was removed and recreated (its watcher does that): so is the pool.
  if (mkdir(dir_.c_str(), 0755) == 0) LOG(INFO) << "instance-file: recreated " << dir_;
  return error;
}

void SpareFiles::Settle(const std::vector<std::string>& retired) {
  if (retired.empty()) return;
  // 1. The instance names' removal on disk first: until then a crash could bring a retired name
  // back, and it must not come back emptied or holding another instance.
  const bool durable = common::SyncDirectory(instance_dir_, *ops_).ok();
  // 2. Emptied, so that the pool holds no disk blocks and no destroyed instance's data.
  std::vector<std::string> kept;
  kept.reserve(retired.size());
  for (const std::string& name : retired) {
    const std::string spare = absl::StrCat(dir_, "/", name);
    if (durable && ops_->Truncate(spare.c_str(), 0) == 0) {
      kept.push_back(name);
    } else {
      ops_->Unlink(spare.c_str());  // removed after all, as unlink(2) would have
    }
  }
  absl::MutexLock lock(&mu_);
  retiring_ -= retired.size();
  for (std::string& name : kept) names_.push_back(std::move(name));
}

std::optional<std::string> SpareFiles::Claim() {
  while (true) {
    std::string name;
    int64_t claim_number = 0;
    {
      absl::MutexLock lock(&mu_);
      if (names_.empty()) return std::nullopt;
      name = std::move(names_.back());
      names_.pop_back();
      claim_number = ++claims_;
    }
    const std::string spare = absl::StrCat(dir_, "/", name);
    std::string claim = absl::StrCat(dir_, "/", kClaimPrefix, token_, "-", claim_number);
    if (ops_->Rename(spare.c_str(), claim.c_str()) == 0) return claim;
    // ENOENT: another process on the directory claimed it first, or it was removed by hand;
    // anything else: it is not usable. Either way it is no longer ours: the next one.
    if (errno != ENOENT) PLOG(WARNING) << "instance-file: claiming spare file " << spare;
  }
}

size_t SpareFiles::size() const {
  absl::MutexLock lock(&mu_);
  return names_.size();
}

std::string SpareFiles::NextName() {
  const int64_t now = absl::ToUnixNanos(absl::Now());
  absl::MutexLock lock(&mu_);
  last_nanos_ = std::max(last_nanos_ + 1, now);
  return absl::StrCat(last_nanos_, "-", token_);
}

}  // namespace infrakit::plugins::instance::file
