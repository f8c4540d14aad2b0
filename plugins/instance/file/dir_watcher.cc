#include "plugins/instance/file/dir_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace infrakit::plugins::instance::file {
namespace {

constexpr uint32_t kWatchMask = IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE |
                                IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

}  // namespace

absl::StatusOr<std::unique_ptr<DirWatcher>> DirWatcher::Create(const std::string& dir) {
  std::unique_ptr<DirWatcher> watcher(new DirWatcher(dir));
  watcher->inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (watcher->inotify_fd_ < 0) return absl::ErrnoToStatus(errno, "inotify_init1");
  watcher->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (watcher->wake_fd_ < 0) return absl::ErrnoToStatus(errno, "eventfd");
  watcher->watch_descriptor_ = inotify_add_watch(watcher->inotify_fd_, dir.c_str(), kWatchMask);
  if (watcher->watch_descriptor_ < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("watching directory ", dir));
  }
  return watcher;
}

DirWatcher::~DirWatcher() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof(one)) != sizeof(one)) {
      PLOG(ERROR) << "instance-file: waking the inotify thread";
    }
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void DirWatcher::Start(Listener* listener) {
  listener_ = listener;
  thread_ = std::thread(&DirWatcher::Loop, this);
}

void DirWatcher::Loop() {
  alignas(struct inotify_event) char buffer[64 * 1024];
  while (true) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      PLOG(ERROR) << "instance-file: poll; no more change events for " << dir_;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    ssize_t n = read(inotify_fd_, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      PLOG(ERROR) << "instance-file: reading inotify; no more change events for " << dir_;
      return;
    }
    Batch batch = Coalesce(buffer, static_cast<size_t>(n), watch_descriptor_);
    if (batch.directory_gone) {
      Rewatch();
      listener_->OnRescanNeeded();
    } else if (batch.overflow) {
      LOG(WARNING) << "instance-file: inotify queue overflowed; rescanning " << dir_;
      listener_->OnRescanNeeded();
    } else if (!batch.names.empty()) {
      listener_->OnNamesChanged(batch.names);
    }
  }
}

DirWatcher::Batch DirWatcher::Coalesce(const char* buffer, size_t length, int wd) {
  Batch batch;
  // Index in batch.names of each name seen.
  absl::flat_hash_map<std::string, size_t> seen;
  for (size_t offset = 0; offset < length;) {
    const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + offset);
    offset += sizeof(struct inotify_event) + event->len;
    if (event->mask & IN_Q_OVERFLOW) {
      batch.overflow = true;
      continue;
    }
    if (event->wd != wd) continue;
    if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
      batch.directory_gone = true;
      continue;
    }
    if (event->len == 0 || (event->mask & IN_ISDIR)) continue;
    std::string name(event->name);                 // NUL-padded
    if (name.empty() || name[0] == '.') continue;  // temporary files are never instances
    auto [it, inserted] = seen.try_emplace(name, batch.names.size());
    if (inserted) {
      NameEvents& added = batch.names.emplace_back();
      added.name = std::move(name);
      added.only_created = true;
      added.only_deleted = true;
    }
    NameEvents& events = batch.names[it->second];
    if ((event->mask & IN_CREATE) == 0) events.only_created = false;
    // Moved out (instance-file's own spare files, or a move by hand) is gone as well.
    if ((event->mask & (IN_DELETE | IN_MOVED_FROM)) == 0) events.only_deleted = false;
  }
  return batch;
}

void DirWatcher::Rewatch() {
  LOG(WARNING) << "instance-file: directory " << dir_ << " went away; recreating it";
  if (watch_descriptor_ >= 0) inotify_rm_watch(inotify_fd_, watch_descriptor_);
  watch_descriptor_ = -1;
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) {
    LOG(ERROR) << "instance-file: cannot recreate " << dir_ << ": " << error.message();
    return;
  }
  watch_descriptor_ = inotify_add_watch(inotify_fd_, dir_.c_str(), kWatchMask);
  if (watch_descriptor_ < 0) {
    PLOG(ERROR) << "instance-file: cannot watch " << dir_ << "; no more change events";
  }
}

void EchoFilter::Clear() {
  linked_.clear();
  unlinked_.clear();
}

bool EchoFilter::IsEcho(const DirWatcher::NameEvents& events) {
  // Only removed, by us: the echo of our own unlink. Anything else after our unlink (the name
  // created again) is not.
  const bool unlinked = unlinked_.erase(events.name) > 0;
  if (unlinked && events.only_deleted) return true;
  // Only appeared, and we linked it: the echo of our own link (which never overwrites, so the
  // creation seen is ours; whatever replaces the file later makes events of its own).
  const bool linked = linked_.erase(events.name) > 0;
  return linked && events.only_created;
}

}  // namespace infrakit::plugins::instance::file
