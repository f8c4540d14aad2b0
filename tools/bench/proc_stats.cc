#include "tools/bench/proc_stats.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace infrakit::tools::bench {
namespace {

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    const int error = errno;
    if (error == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such process"));
    return absl::ErrnoToStatus(error, absl::StrCat("cannot read ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "VmRSS:\t   1234 kB" -> 1234 for key "VmRSS".
absl::StatusOr<int64_t> StatusField(absl::string_view status, absl::string_view key,
                                    const std::string& path) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, key) || !absl::ConsumePrefix(&line, ":")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    int64_t value = 0;
    if (!absl::SimpleAtoi(line, &value)) {
      return absl::InternalError(absl::StrCat(path, ": cannot parse ", key, " \"", line, "\""));
    }
    return value;
  }
  return absl::InternalError(absl::StrCat(path, ": no ", key, " line"));
}

}  // namespace

absl::StatusOr<ProcessSample> ReadProcessSample(pid_t pid) {
  const std::string base = absl::StrCat("/proc/", pid);
  ProcessSample sample;

  const std::string status_path = base + "/status";
  absl::StatusOr<std::string> status = ReadAll(status_path);
  if (!status.ok()) return status.status();
  absl::StatusOr<int64_t> rss = StatusField(*status, "VmRSS", status_path);
  if (!rss.ok()) return rss.status();
  absl::StatusOr<int64_t> hwm = StatusField(*status, "VmHWM", status_path);
  if (!hwm.ok()) return hwm.status();
  absl::StatusOr<int64_t> threads = StatusField(*status, "Threads", status_path);
  if (!threads.ok()) return threads.status();
  absl::StatusOr<int64_t> anon = StatusField(*status, "RssAnon", status_path);
  if (!anon.ok()) return anon.status();
  sample.rss_kib = *rss;
  sample.peak_rss_kib = *hwm;
  sample.anon_rss_kib = *anon;
  // Linux >= 4.14; older kernels (or a hidden file) leave the PSS unknown.
  const std::string rollup_path = base + "/smaps_rollup";
  if (absl::StatusOr<std::string> rollup = ReadAll(rollup_path); rollup.ok()) {
    if (absl::StatusOr<int64_t> pss = StatusField(*rollup, "Pss", rollup_path); pss.ok()) {
      sample.pss_kib = *pss;
    }
  }
  sample.threads = static_cast<int>(*threads);

  // /proc/<pid>/stat: "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields are counted from the last ')'. utime and stime are fields 14 and 15 (1-based),
  // i.e. the 12th and 13th after the state field's predecessor ')'.
  const std::string stat_path = base + "/stat";
  absl::StatusOr<std::string> stat = ReadAll(stat_path);
  if (!stat.ok()) return stat.status();
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) {
    return absl::InternalError(absl::StrCat(stat_path, ": no ')' after the command name"));
  }
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(close + 1), ' ', absl::SkipEmpty());
  // fields[0] is the state (field 3), so field k is fields[k - 3].
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[14 - 3], &utime) ||
      !absl::SimpleAtoi(fields[15 - 3], &stime)) {
    return absl::InternalError(absl::StrCat(stat_path, ": cannot parse utime / stime"));
  }
  const int64_t ticks_per_second = sysconf(_SC_CLK_TCK);
  sample.cpu = absl::Seconds(utime + stime) / ticks_per_second;

  const std::string fd_path = base + "/fd";
  DIR* dir = opendir(fd_path.c_str());
  if (dir == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot list ", fd_path));
  }
  int fds = 0;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++fds;
  }
  closedir(dir);
  sample.fds = fds;
  return sample;
}

}  // namespace infrakit::tools::bench
