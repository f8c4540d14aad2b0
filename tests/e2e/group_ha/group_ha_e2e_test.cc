// High availability end to end: three real infrakit-group processes (--store etcd://, each with
// --peer-listen) on a real three-member etcd (127.0.0.31-.33 on ports chosen free, shared by the
// cases, each case on its own --etcd-prefix and with every member running when it starts), with
// the real instance-file and flavor-vanilla plugins. Calls go to followers (they forward writes
// to the leader and list the groups from their copy of etcd). kill -9 of the leader mid rolling
// update, SIGSTOP of the leader past its lease (its write refused by the fence), kill -9 of one
// etcd member, two of three etcd members down. Skipped without etcd.
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "common/etcd/grpc_etcd_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "spec/group_spec.h"
#include "spec/tags.h"
#include "tests/e2e/tutorial/cli_runner.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/exposition_checker.h"
#include "tests/testing/http_get.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::infrakit::testing::EtcdCluster;
using ::infrakit::testing::PluginProcess;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;

constexpr char kGroupBinary[] = "services/group/server/infrakit-group";
constexpr char kFileBinary[] = "plugins/instance/file/infrakit-instance-file";
constexpr char kVanillaBinary[] = "plugins/flavor/vanilla/infrakit-flavor-vanilla";
constexpr char kCliBinary[] = "tools/infrakitctl/infrakitctl";
constexpr absl::Duration kStart = absl::Seconds(30);
constexpr absl::Duration kWait = absl::Seconds(60);
// The group services' lease TTL. 3 s (the flag's default) leaves room for etcd electing a new
// raft leader (about 1 s here) when the member killed was the raft leader.
constexpr absl::Duration kTtl = absl::Seconds(3);
// How long a negative is watched for ("nothing is replaced"): three resync periods.
constexpr absl::Duration kQuietWindow = absl::Seconds(3);
const std::vector<std::string> kServices = {"group-a", "group-b", "group-c"};

// A cattle group of `size` on instance-file with a rolling update of surge 1, none unavailable,
// each new member counted after 1 s healthy (so that an update of 4 lasts seconds).
std::string Config(const std::string& note, int size) {
  return absl::StrCat(R"({"ID": "cattle", "Properties": {
    "Instance": {"Plugin": "instance-file", "Properties": {"Note": ")",
                      note, R"("}},
    "Flavor": {"Plugin": "flavor-vanilla", "Properties": {"Size": )",
                      size, R"(}},
    "Update": {"MaxSurge": 1, "MaxUnavailable": 0, "MinReadySeconds": 1}}})");
}

gv1::GroupSpec Spec(const std::string& note, int size) {
  auto spec = client::config::ParseGroupConfig(Config(note, size));
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : gv1::GroupSpec();
}

// Bytes waiting unread in the sockets of process `pid` (stopped or not): the receive queues of
// its connections, read through duplicates of its descriptors (pidfd_getfd). -1 on error.
int64_t UnreadBytes(pid_t pid) {
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return -1;
  int64_t total = 0;
  const std::string fds = absl::StrCat("/proc/", pid, "/fd");
  DIR* d = opendir(fds.c_str());
  while (d != nullptr) {
    dirent* e = readdir(d);
    if (e == nullptr) break;
    int target = 0;
    if (!absl::SimpleAtoi(e->d_name, &target)) continue;
    char link[64] = {};
    if (readlink(absl::StrCat(fds, "/", e->d_name).c_str(), link, sizeof(link) - 1) <= 0 ||
        !absl::StartsWith(link, "socket:")) {
      continue;
    }
    const int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, target, 0));
    if (fd < 0) continue;
    int unread = 0;
    if (ioctl(fd, FIONREAD, &unread) == 0) total += unread;  // EINVAL for a listening socket
    close(fd);
  }
  if (d != nullptr) closedir(d);
  close(pidfd);
  return total;
}

// The port in "Serving metrics on http://127.0.0.1:PORT/metrics" of a plugin's log; 0 if absent.
int MetricsPort(const std::string& log) {
  const std::string marker = "Serving metrics on http://127.0.0.1:";
  const size_t at = log.find(marker);
  if (at == std::string::npos) return 0;
  const size_t start = at + marker.size();
  int port = 0;
  return absl::SimpleAtoi(log.substr(start, log.find('/', start) - start), &port) ? port : 0;
}

// The peak of `count` (the instance files), sampled every 2 ms on a thread of its own from
// construction until Stop.
class PeakSampler {
 public:
  explicit PeakSampler(std::function<int()> count)
      : count_(std::move(count)), thread_([this] {
          while (sampling_) {
            peak_ = std::max(peak_.load(), count_());
            absl::SleepFor(absl::Milliseconds(2));
          }
        }) {}
  ~PeakSampler() { Stop(); }
  // Stops sampling; the peak seen.
  int Stop() {
    sampling_ = false;
    if (thread_.joinable()) thread_.join();
    return peak_;
  }

 private:
  const std::function<int()> count_;
  std::atomic<bool> sampling_{true};
  std::atomic<int> peak_{0};
  std::thread thread_;
};

// True when `holds` stays true (polled every 50 ms) for `window`: for negatives ("nothing is
// replaced while etcd has no majority"), which no event can confirm.
template <typename Pred>
bool HoldsFor(Pred holds, absl::Duration window) {
  const absl::Time end = absl::Now() + window;
  while (absl::Now() < end) {
    if (!holds()) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return holds();
}

class GroupHaE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!EtcdCluster::Installed()) return;
    etcd_ = new EtcdCluster(3);
    absl::Status started = etcd_->Start();
    if (!started.ok()) {
      std::cerr << "etcd: " << started << "\n";
      delete etcd_;
      etcd_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }

  void SetUp() override {
    if (!EtcdCluster::Installed()) GTEST_SKIP() << EtcdCluster::kNotInstalled;
    ASSERT_NE(etcd_, nullptr) << "the etcd cluster did not start";
    absl::Status healthy = etcd_->WaitHealthy(kWait);
    ASSERT_TRUE(healthy.ok()) << healthy;
    prefix_ =
        absl::StrCat("/e2e-", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(mkdir(dir_.Join("plugins").c_str(), 0700), 0);
    ASSERT_EQ(mkdir(dir_.Join("instances").c_str(), 0700), 0);
    file_ = StartPlugin(kFileBinary, {"--dir", dir_.Join("instances")}, "instance-file");
    vanilla_ = StartPlugin(kVanillaBinary, {}, "flavor-vanilla");
    // group-a first, so that it leads; then the followers.
    groups_["group-a"] = StartGroup("group-a");
    ASSERT_TRUE(WaitFor([&] { return Status("group-a") == "leading"; }, kWait));
    groups_["group-b"] = StartGroup("group-b");
    groups_["group-c"] = StartGroup("group-c");
    for (const char* name : {"group-b", "group-c"}) {
      ASSERT_TRUE(WaitFor([&] { return List(name).leader() == "group-a"; }, kWait)) << name;
    }
  }

  void TearDown() override {
    // Every member runs again for the next case.
    if (etcd_ != nullptr) {
      for (int i = 0; i < EtcdCluster::kMaxMembers; ++i) {
        if (stopped_members_[i]) {
          ASSERT_TRUE(etcd_->StartMember(i).ok());
        }
      }
    }
  }

  std::string Socket(const std::string& name) { return dir_.Join("plugins/" + name + ".sock"); }

  std::unique_ptr<PluginProcess> StartPlugin(const std::string& binary,
                                             std::vector<std::string> args,
                                             const std::string& name) {
    args.insert(args.begin(), {"--plugins-dir", dir_.Join("plugins"), "--name", name});
    auto process = std::make_unique<PluginProcess>(binary, std::move(args), dir_.path());
    absl::Status started = process->Start();
    EXPECT_TRUE(started.ok()) << started;
    absl::Status ready = process->WaitReady(Socket(name), kStart);
    EXPECT_TRUE(ready.ok()) << ready << "\n" << process->Stderr();
    return process;
  }

  std::unique_ptr<PluginProcess> StartGroup(const std::string& name) {
    return StartPlugin(
        kGroupBinary,
        {"--store", "etcd://" + etcd_->Endpoints(), "--etcd-prefix", prefix_, "--etcd-lease-ttl",
         absl::StrCat(absl::ToInt64Seconds(kTtl), "s"), "--advertise", name, "--resync-period",
         "1s", "--peer-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
         // Every group event in the log, which a failure prints (ServiceLogs).
         "--log", "1"},
        name);
  }

  // The groups follower `name` lists from its copy of etcd, "ID:SIZE ..."; "" when it answers
  // otherwise.
  std::string StoredGroups(const std::string& name) {
    gv1::ListGroupsResponse list = List(name);
    if (list.store_revision() == 0) return "";
    std::vector<std::string> groups;
    for (const gv1::GroupSummary& g : list.groups()) {
      if (!g.status().from_store()) return "";
      groups.push_back(absl::StrCat(g.spec().id(), ":", g.spec().allocation().size()));
    }
    return absl::StrJoin(groups, " ");
  }

  // The writes group service `name` had refused for want of leadership (its metrics), by
  // itself or by etcd's fence, which it reports.
  double RefusedWrites(const std::string& name) {
    const testing::Exposition metrics = Scrape(name);
    const double by_etcd =
        metrics.Sum("infrakit_group_store_writes_refused_total", {{"by", "etcd"}});
    const double by_itself =
        metrics.Sum("infrakit_group_store_writes_refused_total", {{"by", "this_service"}});
    std::cerr << name << "'s refused writes: " << by_etcd << " by etcd's fence, " << by_itself
              << " by itself once it knew\n";
    return by_etcd + by_itself;
  }

  // Group service `name`'s metrics, checked against the text format's rules.
  testing::Exposition Scrape(const std::string& name) {
    const int port = MetricsPort(groups_[name]->Stderr());
    EXPECT_GT(port, 0) << groups_[name]->Stderr();
    absl::StatusOr<testing::HttpResponse> r = testing::HttpGet(port, "/metrics");
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    absl::StatusOr<testing::Exposition> e = testing::ParseExposition(r->body);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : testing::Exposition();
  }

  std::unique_ptr<client::GroupClient> Client(const std::string& name) {
    return std::make_unique<client::GroupClient>(client::discovery::MakePluginChannel(Socket(name)),
                                                 absl::Seconds(10));
  }

  // ListGroups of group service `name`; an empty response when it does not answer.
  gv1::ListGroupsResponse List(const std::string& name) {
    auto listed = Client(name)->ListGroups(gv1::ListGroupsRequest());
    return listed.ok() ? *listed : gv1::ListGroupsResponse();
  }
  std::string Status(const std::string& name) { return List(name).status(); }

  // The service that says it leads (and acts), among those not in `except`; "" when none.
  std::string Leader(const std::vector<std::string>& except = {}) {
    for (const std::string& name : kServices) {
      if (std::find(except.begin(), except.end(), name) != except.end()) continue;
      if (Status(name) == "leading") return name;
    }
    return "";
  }

  // The instance files (dot files are instance-file's temporaries).
  // Every group service's log, for a failure's message.
  std::string ServiceLogs() {
    std::string out;
    for (const std::string& name : kServices) {
      if (groups_.count(name) == 0) continue;
      absl::StrAppend(&out, "--- ", name, " ---\n", groups_[name]->Stderr(), "\n");
    }
    return out;
  }
  int Instances() {
    int n = 0;
    DIR* d = opendir(dir_.Join("instances").c_str());
    if (d == nullptr) return -1;
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
    return n;
  }
  std::vector<std::string> InstanceIds() {
    std::vector<std::string> out;
    DIR* d = opendir(dir_.Join("instances").c_str());
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }

  // Whether group "cattle", asked through `name`, has `size` members, all on `sha`, converged
  // and not updating.
  bool Converged(const std::string& name, int size, const std::string& sha) {
    gv1::InspectGroupRequest inspect;
    inspect.set_id("cattle");
    auto r = Client(name)->InspectGroup(inspect);
    if (!r.ok() || !r->status().converged() || r->status().updating() ||
        r->members_size() != size) {
      return false;
    }
    for (const gv1::Member& m : r->members()) {
      auto tag = m.tags().find(spec::kShaTag);
      if (tag == m.tags().end() || tag->second != sha) return false;
    }
    return Instances() == size;
  }

  // Commits the group through follower `via` and waits until it converged.
  void WatchVia(const std::string& via, const gv1::GroupSpec& spec) {
    gv1::WatchGroupRequest watch;
    *watch.mutable_spec() = spec;
    auto watched = Client(via)->WatchGroup(watch);
    ASSERT_TRUE(watched.ok()) << watched.status();
    ASSERT_TRUE(WaitFor(
        [&] { return Converged(via, spec.allocation().size(), spec::ConfigSha(spec)); }, kWait));
  }

  void KillMember(int i) {
    etcd_->KillMember(i);
    stopped_members_[i] = true;
  }
  void RestartMember(int i) {
    ASSERT_TRUE(etcd_->StartMember(i).ok());
    stopped_members_[i] = false;
  }

  static EtcdCluster* etcd_;
  TempDir dir_;
  std::string prefix_;
  bool stopped_members_[EtcdCluster::kMaxMembers] = {};
  std::unique_ptr<PluginProcess> file_;
  std::unique_ptr<PluginProcess> vanilla_;
  std::map<std::string, std::unique_ptr<PluginProcess>> groups_;
};

EtcdCluster* GroupHaE2eTest::etcd_ = nullptr;

TEST_F(GroupHaE2eTest, Kill9OfTheLeaderMidRollingUpdateAnotherTakesOverAndFinishesIt) {
  const gv1::GroupSpec v1 = Spec("v1", 4);
  WatchVia("group-b", v1);  // a follower: forwarded to group-a

  // The instance count, sampled throughout: never above size + surge.
  PeakSampler sampler([this] { return Instances(); });

  // The update, through the other follower: its stream is relayed from group-a and ends when
  // group-a dies; the update goes on under the next leader.
  const gv1::GroupSpec v2 = Spec("v2", 4);
  const std::string sha2 = spec::ConfigSha(v2);
  std::thread updater([&] {
    gv1::UpdateGroupRequest update;
    *update.mutable_spec() = v2;
    absl::Status ended =
        Client("group-c")->UpdateGroup(update, [](const gv1::UpdateGroupResponse&) {});
    std::cerr << "update stream through group-c ended: " << ended << "\n";
  });
  // Mid update: a member on the new config exists, the update is not done.
  ASSERT_TRUE(WaitFor(
      [&] {
        gv1::InspectGroupRequest inspect;
        inspect.set_id("cattle");
        auto r = Client("group-a")->InspectGroup(inspect);
        if (!r.ok() || !r->status().updating()) return false;
        for (const gv1::Member& m : r->members()) {
          auto tag = m.tags().find(spec::kShaTag);
          if (tag != m.tags().end() && tag->second == sha2) return true;
        }
        return false;
      },
      kWait));

  const absl::Time killed = absl::Now();
  ASSERT_TRUE(groups_["group-a"]->Signal(SIGKILL).ok());
  groups_["group-a"]->Wait();
  std::string next;
  EXPECT_TRUE(WaitFor(
      [&] {
        next = Leader({"group-a"});
        return !next.empty();
      },
      killed + kTtl + absl::Seconds(1) - absl::Now()))
      << "no group service took over within the lease TTL + 1 s";
  ASSERT_TRUE(WaitFor([&] { return !(next = Leader({"group-a"})).empty(); }, kWait));
  std::cerr << next << " took over " << absl::FormatDuration(absl::Now() - killed)
            << " after kill -9 of group-a\n";

  // The new leader finishes the update; asked through the remaining follower.
  const std::string follower = next == "group-b" ? "group-c" : "group-b";
  EXPECT_TRUE(WaitFor([&] { return Converged(follower, 4, sha2); }, kWait));
  const int peak = sampler.Stop();
  updater.join();
  EXPECT_LE(peak, 4 + 1) << "more members than size + surge at some point";
  EXPECT_GE(peak, 4);

  // infrakitctl against a follower: forwarded to the new leader.
  auto scaled = tests::e2e::tutorial::RunCommand(
      kCliBinary, {"group", "--name", follower, "scale", "cattle", "3"}, "",
      {{"INFRAKIT_PLUGINS_DIR", dir_.Join("plugins")}, {"INFRAKIT_HOME", dir_.Join("home")}},
      kWait);
  ASSERT_TRUE(scaled.ok()) << scaled.status();
  EXPECT_EQ(scaled->exit_code, 0) << scaled->err;
  EXPECT_EQ(scaled->out, "cattle: size 4 -> 3\n");
  EXPECT_TRUE(WaitFor([&] { return Converged(next, 3, sha2); }, kWait));
}

// The paused leader must try a write when it wakes, or nothing would show its writes fail: a
// WatchGroup it took just before the pause waits in a flavor's Validate (that flavor stopped),
// past the leadership gate and before the group's record is written. Once the old leader wakes,
// the answer comes and it writes the record: the fence must refuse it (etcd's compare when the
// Controller gets there before the election noticed the lost lease, this service's own refusal
// once it noticed), so the client is told "not the leader" and etcd holds no such record. Without
// the fence the write would succeed and both checks fail.
TEST_F(GroupHaE2eTest, SigstopOfTheLeaderPastItsLeaseItsWritesFailTheFenceAndNothingIsDoubled) {
  WatchVia("group-b", Spec("v1", 3));
  // flavor-stale: a second flavor-vanilla, used by a group of none, watched and unwatched, so
  // that group-a's connection to it is open (its requests then wait in that connection, where
  // they can be seen) and that nothing else group-a does calls it.
  auto stale_flavor = StartPlugin(kVanillaBinary, {}, "flavor-stale");
  gv1::WatchGroupRequest probe;
  *probe.mutable_spec() = Spec("probe", 0);
  probe.mutable_spec()->set_id("probe");
  probe.mutable_spec()->mutable_flavor()->set_plugin("flavor-stale");
  auto probed = Client("group-a")->WatchGroup(probe);
  ASSERT_TRUE(probed.ok()) << probed.status();
  gv1::UnwatchGroupRequest unwatch;
  unwatch.set_id("probe");
  ASSERT_TRUE(Client("group-a")->UnwatchGroup(unwatch).ok());

  // The instance count, sampled throughout: never above the size.
  PeakSampler sampler([this] { return Instances(); });

  ASSERT_TRUE(stale_flavor->Signal(SIGSTOP).ok());
  gv1::WatchGroupRequest stale = probe;
  stale.mutable_spec()->set_id("stale");
  absl::Status committed;
  std::thread committer([&] {
    auto answered = std::make_unique<client::GroupClient>(
                        client::discovery::MakePluginChannel(Socket("group-a")), kWait)
                        ->WatchGroup(stale);
    committed = answered.status();
  });
  // group-a's Validate call waits, unread, in flavor-stale's end of the connection.
  ASSERT_TRUE(WaitFor([&] { return UnreadBytes(stale_flavor->pid()) > 0; }, kWait));
  ASSERT_TRUE(groups_["group-a"]->Signal(SIGSTOP).ok());

  std::string next;
  ASSERT_TRUE(WaitFor([&] { return !(next = Leader({"group-a"})).empty(); }, kWait));
  // The new leader changes the group while group-a sleeps: group-a's view (3) is stale.
  gv1::SetSizeRequest shrink;
  shrink.set_id("cattle");
  shrink.set_size(2);
  auto resized = Client(next)->SetSize(shrink);
  ASSERT_TRUE(resized.ok()) << resized.status();
  ASSERT_TRUE(WaitFor([&] { return Instances() == 2; }, kWait));

  // flavor-stale answers (the answer waits for group-a), then group-a wakes and writes.
  ASSERT_TRUE(stale_flavor->Signal(SIGCONT).ok());
  ASSERT_TRUE(groups_["group-a"]->Signal(SIGCONT).ok());
  committer.join();
  std::cerr << "WatchGroup taken by group-a before its pause: " << committed << "\n";
  EXPECT_TRUE(absl::IsFailedPrecondition(committed)) << committed;
  EXPECT_THAT(std::string(committed.message()), HasSubstr("not the leader"));
  // Nothing of it in etcd.
  auto etcd = etcd::GrpcEtcdClient::Create(etcd_->Endpoints());
  ASSERT_TRUE(etcd.ok()) << etcd.status();
  auto record = (*etcd)->Range(prefix_ + "/groups/stale", "");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_TRUE(record->kvs.empty()) << "the stale leader's write went through";
  // group-a counted it, and says by whom it was refused.
  EXPECT_GE(RefusedWrites("group-a"), 1);

  // It steps down and follows the new leader...
  ASSERT_TRUE(WaitFor(
      [&] {
        gv1::ListGroupsResponse list = List("group-a");
        return list.follower() && list.leader() == next && list.status() == "following";
      },
      kWait));
  EXPECT_TRUE(absl::StrContains(groups_["group-a"]->Stderr(), "no longer leads"));
  // ...and nothing is doubled: the group stays at the new leader's size, its record too.
  int seen = 2;
  EXPECT_TRUE(HoldsFor(
      [&] {
        seen = Instances();
        return seen == 2;
      },
      kQuietWindow))
      << seen << " instances (" << absl::StrJoin(InstanceIds(), " ") << ")\n"
      << ServiceLogs();
  EXPECT_LE(sampler.Stop(), 3) << "more instances than the group's size at some point";
  gv1::InspectGroupRequest inspect;
  inspect.set_id("cattle");
  auto inspected = Client(next)->InspectGroup(inspect);
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  EXPECT_EQ(inspected->spec().allocation().size(), 2);
  // Every follower lists the same groups from its copy of etcd: no "stale".
  for (const std::string& name : kServices) {
    if (name != next) {
      EXPECT_TRUE(WaitFor([&] { return StoredGroups(name) == "cattle:2"; }, kWait))
          << name << ": " << StoredGroups(name);
    }
  }
  EXPECT_EQ(Leader(), next);
}

TEST_F(GroupHaE2eTest, Kill9OfOneEtcdMemberIsNotNoticed) {
  WatchVia("group-b", Spec("v1", 2));
  // Member 0 is every client's first endpoint: its keepalive and watch streams die with it.
  KillMember(0);
  EXPECT_TRUE(HoldsFor(
      [&] { return Status("group-a") == "leading" && List("group-b").leader() == "group-a"; },
      2 * kTtl))
      << "group-a: " << Status("group-a");
  // Still acting: a lost instance is replaced.
  const std::vector<std::string> before = InstanceIds();
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(unlink(dir_.Join("instances/" + before[0]).c_str()), 0);
  EXPECT_TRUE(WaitFor([&] { return Instances() == 2 && InstanceIds() != before; }, kWait));
  EXPECT_EQ(Leader(), "group-a");
  // The followers' copies still follow etcd: their watches moved to another member.
  gv1::SetSizeRequest grow;
  grow.set_id("cattle");
  grow.set_size(3);
  ASSERT_TRUE(Client("group-b")->SetSize(grow).ok());
  for (const char* follower : {"group-b", "group-c"}) {
    EXPECT_TRUE(WaitFor([&] { return StoredGroups(follower) == "cattle:3"; }, kWait))
        << follower << ": " << StoredGroups(follower);
  }
  EXPECT_TRUE(WaitFor([&] { return Instances() == 3; }, kWait));
  RestartMember(0);
}

TEST_F(GroupHaE2eTest, WithoutEtcdsMajorityTheLeaderStopsActingAndResumesAfter) {
  WatchVia("group-b", Spec("v1", 2));
  KillMember(1);
  KillMember(2);
  // Every service says it does not act; the leader within its lease TTL.
  for (const std::string& name : kServices) {
    EXPECT_TRUE(WaitFor([&] { return absl::StartsWith(Status(name), "not acting"); }, kTtl + kWait))
        << name << ": " << Status(name);
  }
  std::cerr << "group-a while etcd has no majority: " << Status("group-a") << "\n";
  // A lost instance is not replaced while the majority is lost.
  const std::vector<std::string> before = InstanceIds();
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(unlink(dir_.Join("instances/" + before[0]).c_str()), 0);
  EXPECT_TRUE(HoldsFor([&] { return Instances() == 1; }, kQuietWindow));

  RestartMember(1);
  RestartMember(2);
  ASSERT_TRUE(etcd_->WaitHealthy(kWait).ok());
  // Some service leads again and replaces it.
  EXPECT_TRUE(WaitFor([&] { return !Leader().empty(); }, kWait));
  EXPECT_TRUE(WaitFor([&] { return Instances() == 2; }, kWait));
  std::cerr << Leader() << " leads after etcd's majority came back\n";
}

}  // namespace
}  // namespace infrakit
