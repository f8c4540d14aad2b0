#include "tests/e2e/chaos/ground_truth.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "spec/tags.h"

namespace infrakit::testing {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A string member of a JSON object, "" when absent or not a string.
std::string StringField(const google::protobuf::Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? "" : it->second.string_value();
}

// Calls `fn(pid, environment)` for each process whose environment has INFRAKIT_INSTANCE_DIR
// under `instances_dir`.
void ForEachInstanceProcess(
    const std::string& instances_dir,
    const std::function<void(pid_t, const std::vector<absl::string_view>&)>& fn) {
  const std::string dir_prefix = absl::StrCat("INFRAKIT_INSTANCE_DIR=", instances_dir, "/");
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  while (dirent* e = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    const std::string environ_text = ReadAll(absl::StrCat("/proc/", pid, "/environ"));
    std::vector<absl::string_view> vars = absl::StrSplit(environ_text, '\0');
    if (std::any_of(vars.begin(), vars.end(),
                    [&](absl::string_view v) { return absl::StartsWith(v, dir_prefix); })) {
      fn(pid, vars);
    }
  }
  closedir(proc);
}

}  // namespace

std::vector<pid_t> InstancePids(const std::string& instances_dir) {
  std::vector<pid_t> pids;
  ForEachInstanceProcess(instances_dir, [&](pid_t pid, const std::vector<absl::string_view>&) {
    pids.push_back(pid);
  });
  return pids;
}

ProcessTableTruth::ProcessTableTruth(std::string instances_dir, std::string group)
    : instances_dir_(std::move(instances_dir)), group_(std::move(group)) {}

Reading ProcessTableTruth::Read() {
  // A scan of /proc takes milliseconds, during which the group may destroy an instance and
  // create its successor: both may be seen, though they never lived at once. So the scan only
  // proposes; what is judged is the instances still alive at its end (all alive together then),
  // with their ready marker looked at then (an instance that became ready during the scan may
  // already count for the group).
  Reading seen;
  std::map<std::string, std::vector<pid_t>> pids;
  ForEachInstanceProcess(
      instances_dir_, [&](pid_t pid, const std::vector<absl::string_view>& vars) {
        std::string group;
        LiveInstance instance;
        for (absl::string_view var : vars) {
          if (absl::ConsumePrefix(&var, "INFRAKIT_INSTANCE_ID=")) instance.id = std::string(var);
          if (absl::ConsumePrefix(&var, "INFRAKIT_GROUP=")) group = std::string(var);
          if (absl::ConsumePrefix(&var, "INFRAKIT_LOGICAL_ID="))
            instance.logical_id = std::string(var);
          if (absl::ConsumePrefix(&var, "INFRAKIT_TAG_INFRAKIT_CONFIG_SHA=")) {
            instance.config_sha = std::string(var);
          }
        }
        if (group != group_ || instance.id.empty()) return;
        pids[instance.id].push_back(pid);
        seen[instance.id] = std::move(instance);  // The instance's processes agree on all of it.
      });
  Reading out;
  for (auto& [id, instance] : seen) {
    // Alive: one of its processes still has its environment (a zombie has none; a reused pid
    // has another one).
    const std::string entry = absl::StrCat("INFRAKIT_INSTANCE_ID=", id);
    const bool alive = std::any_of(pids[id].begin(), pids[id].end(), [&](pid_t pid) {
      const std::string environ_text = ReadAll(absl::StrCat("/proc/", pid, "/environ"));
      for (absl::string_view var : absl::StrSplit(environ_text, '\0')) {
        if (var == entry) return true;
      }
      return false;
    });
    if (!alive) continue;
    instance.healthy = Exists(absl::StrCat(instances_dir_, "/", id, "/ready"));
    out[id] = std::move(instance);
  }
  return out;
}

std::string ProcessTableTruth::ProbeCommand() const {
  return absl::StrCat("test -e ", instances_dir_, "/$INFRAKIT_INSTANCE_ID/ready");
}

InstanceFilesTruth::InstanceFilesTruth(std::string instances_dir, std::string ready_dir,
                                       std::string group, absl::Duration boot_time)
    : instances_dir_(std::move(instances_dir)),
      ready_dir_(std::move(ready_dir)),
      group_(std::move(group)),
      boot_time_(boot_time) {}

Reading InstanceFilesTruth::Read() {
  Reading seen;
  const absl::Time now = absl::Now();
  DIR* d = opendir(instances_dir_.c_str());
  if (d == nullptr) return seen;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    google::protobuf::Struct json;
    if (!google::protobuf::util::JsonStringToMessage(ReadAll(instances_dir_ + "/" + name), &json)
             .ok()) {
      // Caught mid-replacement (or removed meanwhile): as the previous reading had it.
      auto it = previous_.find(name);
      if (it != previous_.end()) seen.insert(*it);
      continue;
    }
    google::protobuf::Struct tags;
    auto t = json.fields().find("Tags");
    if (t != json.fields().end()) tags = t->second.struct_value();
    if (StringField(tags, spec::kGroupTag) != group_) continue;
    LiveInstance instance;
    instance.id = name;
    instance.logical_id = StringField(tags, spec::kLogicalIdTag);
    instance.config_sha = StringField(tags, spec::kShaTag);
    const std::string marker = ready_dir_ + "/" + name;
    instance.healthy = Exists(marker);
    const absl::Time first_seen = first_seen_.emplace(name, now).first->second;
    if (!instance.healthy && now - first_seen >= boot_time_) {
      const int fd = open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      // The probe may pass from now on, and the group act on it before this reading ends.
      instance.healthy = fd >= 0;
      if (fd >= 0) close(fd);
    }
    seen[name] = std::move(instance);
  }
  closedir(d);
  // As for the process table: a file removed during the listing (its successor may be in it
  // too) is not judged; the files still there at the end all exist together.
  Reading out;
  for (auto& [name, instance] : seen) {
    if (Exists(instances_dir_ + "/" + name)) out[name] = std::move(instance);
  }
  previous_ = out;
  return out;
}

std::string InstanceFilesTruth::ProbeCommand() const {
  return absl::StrCat("test -e ", ready_dir_, "/$INFRAKIT_INSTANCE_ID");
}

}  // namespace infrakit::testing
