#include "tools/bench/machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace infrakit::tools::bench {
namespace {

std::string ReadAll(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The value after "key<spaces>:" on the first line that starts with `key`, stripped; empty
// when there is none.
std::string Field(absl::string_view text, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, key)) continue;
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, ":")) continue;
    return std::string(absl::StripAsciiWhitespace(line));
  }
  return "";
}

std::vector<double> LoadAverages() {
  std::vector<double> loads;
  for (absl::string_view field : absl::StrSplit(ReadAll("/proc/loadavg"), ' ', absl::SkipEmpty())) {
    double value = 0;
    if (loads.size() == 3 || !absl::SimpleAtod(field, &value)) break;
    loads.push_back(value);
  }
  return loads;
}

}  // namespace

MachineInfo ReadMachineInfo() {
  MachineInfo info;
  info.cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  info.cpu_model = Field(ReadAll("/proc/cpuinfo"), "model name");
  if (info.cpu_model.empty()) info.cpu_model = "unknown";
  struct utsname names;
  if (uname(&names) == 0) {
    info.kernel = absl::StrCat(names.sysname, " ", names.release, " ", names.machine);
  } else {
    info.kernel = "unknown";
  }
  std::string memory = Field(ReadAll("/proc/meminfo"), "MemTotal");
  absl::string_view kib = memory;
  absl::ConsumeSuffix(&kib, " kB");
  if (!absl::SimpleAtoi(kib, &info.memory_kib)) info.memory_kib = 0;
  const std::vector<double> loads = LoadAverages();
  if (loads.size() == 3) {
    info.load1 = loads[0];
    info.load5 = loads[1];
    info.load15 = loads[2];
  }
  return info;
}

double ReadLoad1() {
  const std::vector<double> loads = LoadAverages();
  return loads.empty() ? -1 : loads[0];
}

}  // namespace infrakit::tools::bench
