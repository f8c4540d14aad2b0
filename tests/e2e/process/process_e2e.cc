#include "tests/e2e/process/process_e2e.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "glog/logging.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/wait_for.h"

namespace infrakit::testing {

namespace gv1 = ::infrakit::group::v1;

namespace {

size_t AppendBody(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

}  // namespace

absl::StatusOr<std::string> HttpGet(const std::string& url, absl::Duration timeout) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  // A proxy from the environment must not stand between the test and loopback servers.
  curl_easy_setopt(curl.get(), CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("GET ", url, ": ", curl_easy_strerror(rc)));
  }
  long code = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
  if (code != 200) return absl::UnavailableError(absl::StrCat("GET ", url, ": HTTP ", code));
  return body;
}

bool Listening(const std::string& address, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  const bool connected = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  close(fd);
  return connected;
}

std::vector<InstanceProcess> InstanceProcesses(const std::string& instances_dir) {
  std::vector<InstanceProcess> out;
  const std::string prefix = absl::StrCat("INFRAKIT_INSTANCE_DIR=", instances_dir, "/");
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/environ"), std::ios::binary);
    std::stringstream environ_text;
    environ_text << in.rdbuf();
    bool ours = false;
    InstanceProcess p;
    p.pid = pid;
    for (absl::string_view var : absl::StrSplit(environ_text.str(), '\0')) {
      if (absl::StartsWith(var, prefix)) ours = true;
      if (absl::ConsumePrefix(&var, "INFRAKIT_INSTANCE_ID=")) p.instance_id = std::string(var);
      if (absl::ConsumePrefix(&var, "INFRAKIT_GROUP=")) p.group = std::string(var);
      if (absl::ConsumePrefix(&var, "INFRAKIT_LOGICAL_ID=")) p.logical_id = std::string(var);
    }
    if (ours) out.push_back(std::move(p));
  }
  closedir(proc);
  return out;
}

std::set<std::string> InstancesWithProcesses(const std::string& instances_dir,
                                             const std::string& group) {
  std::set<std::string> ids;
  for (const InstanceProcess& p : InstanceProcesses(instances_dir)) {
    if (p.group == group) ids.insert(p.instance_id);
  }
  return ids;
}

void ProcessE2eTest::SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
void ProcessE2eTest::TearDownTestSuite() { curl_global_cleanup(); }

bool ProcessE2eTest::StartPlugins(const std::vector<std::string>& group_flags,
                                  const std::vector<std::pair<std::string, int>>& addresses) {
  // The servers' addresses are fixed: one left there (by another program, or by an earlier run
  // killed before its TearDown) would make every server here fail to bind.
  for (const auto& [address, port] : addresses) {
    if (Listening(address, port)) {
      ADD_FAILURE() << address << ":" << port << " is already in use; the test needs it free";
      return false;
    }
  }
  EXPECT_EQ(mkdir(plugins_dir().c_str(), 0700), 0);
  EXPECT_EQ(mkdir(instances_dir().c_str(), 0700), 0);
  process_ = StartPlugin("plugins/instance/process/infrakit-instance-process",
                         {"--dir", instances_dir()}, "instance-process");
  if (process_ == nullptr) return false;
  vanilla_ = StartPlugin("plugins/flavor/vanilla/infrakit-flavor-vanilla", {}, "flavor-vanilla");
  if (vanilla_ == nullptr) return false;
  std::vector<std::string> flags = {"--state-dir", dir_.Join("state"), "--log", "1"};
  flags.insert(flags.end(), group_flags.begin(), group_flags.end());
  group_ = StartPlugin("services/group/server/infrakit-group", flags, "group");
  if (group_ == nullptr) return false;
  groups_ = std::make_unique<client::GroupClient>(
      client::discovery::MakePluginChannel(socket("group")), absl::Seconds(30));
  instances_ = std::make_unique<client::InstanceClient>(
      client::discovery::MakePluginChannel(socket("instance-process")), absl::Seconds(30));
  return true;
}

void ProcessE2eTest::TearDown() {
  for (const std::string& id : watched_) {
    if (groups_ == nullptr) break;
    gv1::DestroyGroupRequest request;
    request.set_id(id);
    auto destroyed = groups_->DestroyGroup(request);
    if (!destroyed.ok()) {
      LOG(WARNING) << "TearDown: destroying " << id << ": " << destroyed.status();
    }
  }
  if (group_ != nullptr) group_->Kill();
  const bool clean = WaitFor(
      [&] {
        std::vector<InstanceProcess> left = InstanceProcesses(instances_dir());
        for (const InstanceProcess& p : left) {
          // Each instance leads its own process group: end the group, then the process (in
          // case it left the group).
          if (getpgid(p.pid) == p.pid) kill(-p.pid, SIGKILL);
          kill(p.pid, SIGKILL);
        }
        return left.empty();
      },
      kE2eWait, kE2ePause);
  EXPECT_TRUE(clean) << "instance processes survived SIGKILL";
}

std::unique_ptr<PluginProcess> ProcessE2eTest::StartPlugin(const std::string& binary,
                                                           std::vector<std::string> args,
                                                           const std::string& name) {
  args.insert(args.begin(), {"--plugins-dir", plugins_dir()});
  auto process = std::make_unique<PluginProcess>(binary, std::move(args), dir_.path());
  absl::Status started = process->Start();
  EXPECT_TRUE(started.ok()) << started;
  if (!started.ok()) return nullptr;
  absl::Status ready = process->WaitReady(socket(name), kE2eStart);
  EXPECT_TRUE(ready.ok()) << ready << "\n" << process->Stderr();
  if (!ready.ok()) return nullptr;
  return process;
}

std::string ProcessE2eTest::Logs() const {
  return absl::StrCat("\n--- group ---\n", group_ ? group_->Stderr() : "",
                      "\n--- instance-process ---\n", process_ ? process_->Stderr() : "");
}

gv1::GroupSpec ProcessE2eTest::LoadConfig(const std::string& path) {
  auto parsed = client::config::ParseConfigFile(RunfilePath(path));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->spec : gv1::GroupSpec();
}

std::string ProcessE2eTest::Watch(const gv1::GroupSpec& spec) {
  gv1::WatchGroupRequest request;
  *request.mutable_spec() = spec;
  auto watched = groups_->WatchGroup(request);
  EXPECT_TRUE(watched.ok()) << watched.status() << Logs();
  if (!watched.ok()) return "";
  watched_.insert(spec.id());
  EXPECT_EQ(watched->message(), absl::StrCat("watching ", spec.id()));
  return watched->config_sha();
}

absl::StatusOr<gv1::InspectGroupResponse> ProcessE2eTest::Inspect(const std::string& id) {
  gv1::InspectGroupRequest request;
  request.set_id(id);
  return groups_->InspectGroup(request);
}

bool ProcessE2eTest::WaitHealthy(const std::string& id, int count) {
  std::string last;
  const bool ok = WaitFor(
      [&] {
        auto group = Inspect(id);
        if (!group.ok()) {
          last = group.status().ToString();
          return false;
        }
        last = group->DebugString();
        return group->members_size() == count && group->status().healthy() == count;
      },
      kE2eWait, kE2ePause);
  EXPECT_TRUE(ok) << last << Logs();
  return ok;
}

void ProcessE2eTest::Destroy(const std::string& id) {
  ASSERT_FALSE(InstancesWithProcesses(instances_dir(), id).empty());
  gv1::DestroyGroupRequest request;
  request.set_id(id);
  auto destroyed = groups_->DestroyGroup(request);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status() << Logs();
  watched_.erase(id);
  // instance-process's Destroy returns once the whole process group has exited.
  for (const InstanceProcess& p : InstanceProcesses(instances_dir())) {
    ADD_FAILURE() << "pid " << p.pid << " of " << p.instance_id << " (group " << p.group
                  << ") outlived the destroy of " << id;
  }
  auto gone = Inspect(id);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound) << gone.status();
}

}  // namespace infrakit::testing
