#include "tools/bench/dir_watcher.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace infrakit::tools::bench {
namespace {

constexpr uint32_t kMask =
    IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR | IN_EXCL_UNLINK;

bool IsInstanceName(const char* name) { return name[0] != '\0' && name[0] != '.'; }

}  // namespace

absl::StatusOr<std::unique_ptr<DirWatcher>> DirWatcher::Start(const std::string& dir) {
  const int inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd < 0) return absl::ErrnoToStatus(errno, "inotify_init1");
  if (inotify_add_watch(inotify_fd, dir.c_str(), kMask) < 0) {
    const int error = errno;
    close(inotify_fd);
    return absl::ErrnoToStatus(error, absl::StrCat("cannot watch ", dir));
  }
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const int error = errno;
    close(inotify_fd);
    return absl::ErrnoToStatus(error, "eventfd");
  }
  std::unique_ptr<DirWatcher> watcher(new DirWatcher(dir, inotify_fd, wake_fd));
  // The watch is in place before the listing, so nothing created meanwhile is missed (and a
  // name seen twice is one entry of the set).
  if (absl::Status s = watcher->Rescan(absl::Now(), /*as_creations=*/false); !s.ok()) return s;
  watcher->thread_ = std::thread([w = watcher.get()] { w->Loop(); });
  return watcher;
}

DirWatcher::DirWatcher(std::string dir, int inotify_fd, int wake_fd)
    : dir_(std::move(dir)), inotify_fd_(inotify_fd), wake_fd_(wake_fd) {}

DirWatcher::~DirWatcher() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
    thread_.join();
  }
  close(inotify_fd_);
  close(wake_fd_);
}

void DirWatcher::Loop() {
  // Large enough for thousands of events per read: a burst costs few wake-ups.
  // (operator new's alignment suits struct inotify_event.)
  std::vector<char> storage(256 << 10);
  char* const buffer = storage.data();
  struct pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    for (;;) {
      const ssize_t n = read(inotify_fd_, buffer, storage.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EAGAIN: drained
      Apply(buffer, static_cast<size_t>(n), absl::Now());
    }
  }
}

void DirWatcher::Apply(const char* buffer, size_t length, absl::Time now) {
  bool overflow = false;
  {
    absl::MutexLock lock(&mu_);
    for (size_t offset = 0; offset < length;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + offset);
      offset += sizeof(struct inotify_event) + event->len;
      if ((event->mask & IN_Q_OVERFLOW) != 0) {
        overflow = true;
        continue;
      }
      if (event->len == 0 || !IsInstanceName(event->name)) continue;
      if ((event->mask & (IN_CREATE | IN_MOVED_TO)) != 0) {
        AddLocked(event->name, now, /*is_creation=*/true);
      } else if ((event->mask & (IN_DELETE | IN_MOVED_FROM)) != 0) {
        RemoveLocked(event->name, now);
      }
    }
  }
  if (overflow) {
    {
      absl::MutexLock lock(&mu_);
      overflowed_ = true;
    }
    // Best effort: on failure the set keeps what the events said.
    (void)Rescan(now, /*as_creations=*/true);
  }
}

absl::Status DirWatcher::Rescan(absl::Time now, bool as_creations) {
  DIR* dir = opendir(dir_.c_str());
  if (dir == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot list ", dir_));
  absl::flat_hash_set<std::string> listed;
  while (struct dirent* entry = readdir(dir)) {
    if (IsInstanceName(entry->d_name)) listed.insert(entry->d_name);
  }
  closedir(dir);
  absl::MutexLock lock(&mu_);
  std::vector<std::string> gone;
  for (const std::string& name : names_) {
    if (!listed.contains(name)) gone.push_back(name);
  }
  for (const std::string& name : gone) RemoveLocked(name, now);
  for (const std::string& name : listed) AddLocked(name, now, as_creations);
  return absl::OkStatus();
}

void DirWatcher::AddLocked(const std::string& name, absl::Time now, bool is_creation) {
  if (!names_.insert(name).second) return;
  count_changed_at_ = now;
  peak_ = std::max(peak_, static_cast<int>(names_.size()));
  if (is_creation) creation_times_.push_back(now);
}

void DirWatcher::RemoveLocked(const std::string& name, absl::Time now) {
  if (names_.erase(name) == 0) return;
  count_changed_at_ = now;
}

int DirWatcher::count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(names_.size());
}

int DirWatcher::peak() const {
  absl::MutexLock lock(&mu_);
  return peak_;
}

void DirWatcher::ResetPeak() {
  absl::MutexLock lock(&mu_);
  peak_ = static_cast<int>(names_.size());
}

int64_t DirWatcher::creations() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(creation_times_.size());
}

std::vector<std::string> DirWatcher::Names() const {
  absl::MutexLock lock(&mu_);
  return std::vector<std::string>(names_.begin(), names_.end());
}

bool DirWatcher::overflowed() const {
  absl::MutexLock lock(&mu_);
  return overflowed_;
}

absl::StatusOr<absl::Time> DirWatcher::WaitForCount(int n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(names_.size()) == n;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&reached), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(dir_, ": ", names_.size(), " entries after ",
                                                    absl::FormatDuration(timeout), ", not ", n));
  }
  return count_changed_at_;
}

absl::StatusOr<absl::Time> DirWatcher::WaitForCreation(int64_t sequence,
                                                       absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto happened = [this, sequence]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int64_t>(creation_times_.size()) > sequence;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&happened), timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat(dir_, ": no new entry within ", absl::FormatDuration(timeout)));
  }
  return creation_times_[static_cast<size_t>(sequence)];
}

absl::Status DirWatcher::WaitForName(const std::string& name, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto present = [this, &name]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return names_.contains(name); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&present), timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat(dir_, ": no ", name, " within ", absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

}  // namespace infrakit::tools::bench
