#include "plugins/instance/process/proc_stat.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace infrakit::plugins::instance::process {

absl::StatusOr<ProcStat> ParseProcStat(absl::string_view text) {
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == absl::string_view::npos || close == absl::string_view::npos || close < open) {
    return absl::InvalidArgumentError("stat: no (command) field");
  }
  ProcStat stat;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text.substr(0, open)), &stat.pid)) {
    return absl::InvalidArgumentError("stat: bad pid field");
  }
  // Fields 3.. follow the command name; fields[0] is field 3.
  std::vector<absl::string_view> fields =
      absl::StrSplit(text.substr(close + 1), ' ', absl::SkipWhitespace());
  constexpr size_t kStartTimeIndex = 22 - 3;
  if (fields.size() <= kStartTimeIndex) {
    return absl::InvalidArgumentError(
        absl::StrCat("stat: ", fields.size() + 2, " fields, want at least 22"));
  }
  if (fields[0].size() != 1) return absl::InvalidArgumentError("stat: bad state field");
  stat.state = fields[0][0];
  if (!absl::SimpleAtoi(fields[1], &stat.ppid) || !absl::SimpleAtoi(fields[2], &stat.pgrp) ||
      !absl::SimpleAtoi(fields[3], &stat.session) ||
      !absl::SimpleAtoi(fields[kStartTimeIndex], &stat.start_time)) {
    return absl::InvalidArgumentError("stat: bad numeric field");
  }
  return stat;
}

absl::StatusOr<ProcStat> ReadProcStat(pid_t pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/stat");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ESRCH) {
      return absl::NotFoundError(absl::StrCat("no process ", pid));
    }
    return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  }
  // One read: the kernel produces the whole line at once, and it is far below 4 KiB.
  char buf[4096];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  const int read_errno = errno;
  close(fd);
  if (n < 0) {
    // A process that is reaped between open and read reads as ESRCH.
    if (read_errno == ESRCH) return absl::NotFoundError(absl::StrCat("no process ", pid));
    return absl::InternalError(absl::StrCat("read ", path, ": ", std::strerror(read_errno)));
  }
  if (n == 0) return absl::NotFoundError(absl::StrCat("no process ", pid));
  return ParseProcStat(absl::string_view(buf, static_cast<size_t>(n)));
}

absl::StatusOr<std::string> ReadBootId() {
  constexpr char kPath[] = "/proc/sys/kernel/random/boot_id";
  const int fd = open(kPath, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", kPath, ": ", std::strerror(errno)));
  char buf[128];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  const int read_errno = errno;
  close(fd);
  if (n < 0) {
    return absl::InternalError(absl::StrCat("read ", kPath, ": ", std::strerror(read_errno)));
  }
  const std::string id(absl::StripAsciiWhitespace(absl::string_view(buf, static_cast<size_t>(n))));
  if (id.empty()) return absl::InternalError(absl::StrCat(kPath, " is empty"));
  return id;
}

std::vector<pid_t> LiveProcessGroupMembers(pid_t pgid) {
  std::vector<pid_t> members;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return members;
  while (struct dirent* entry = readdir(proc)) {
    pid_t pid;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
    if (stat.ok() && stat->pgrp == pgid && stat->alive()) members.push_back(pid);
  }
  closedir(proc);
  return members;
}

std::vector<pid_t> ProcessesWithEnvironmentEntry(absl::string_view entry) {
  std::vector<pid_t> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  std::string environ_text;
  char buffer[4096];
  while (struct dirent* e = readdir(proc)) {
    pid_t pid;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    const int fd = open(absl::StrCat("/proc/", pid, "/environ").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    environ_text.clear();
    ssize_t n;
    while ((n = read(fd, buffer, sizeof(buffer))) > 0) environ_text.append(buffer, n);
    close(fd);
    for (absl::string_view var : absl::StrSplit(environ_text, '\0')) {
      if (var == entry) {
        found.push_back(pid);
        break;
      }
    }
  }
  closedir(proc);
  return found;
}

}  // namespace infrakit::plugins::instance::process
