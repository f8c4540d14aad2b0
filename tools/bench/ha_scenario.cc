#include "tools/bench/ha_scenario.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/config/group_config.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "common/etcd/grpc_etcd_client.h"
#include "infrakit/group/v1/group.pb.h"
#include "services/group/etcd_store.h"
#include "services/group/state.pb.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/plugin_process.h"
#include "tests/testing/temp_dir.h"
#include "tools/bench/dir_watcher.h"
#include "tools/bench/stats.h"

namespace infrakit::tools::bench {
namespace {

namespace gv1 = ::infrakit::group::v1;

constexpr char kSection[] = "ha";
constexpr char kPrefix[] = "/bench-ha";
const char* const kServices[] = {"group-a", "group-b", "group-c"};
// Generous: a condition that holds is seen within a second on a quiet machine.
constexpr absl::Duration kWait = absl::Seconds(60);

constexpr char kConfig[] = R"({"ID": "cattle", "Properties": {
    "Instance": {"Plugin": "instance-file", "Properties": {"Note": "ha"}},
    "Flavor": {"Plugin": "flavor-vanilla", "Properties": {"Size": 2}}}})";

// Polls `condition` every 10 ms until it holds (returns the time) or kWait passes.
template <typename Cond>
absl::StatusOr<absl::Time> Await(const std::string& what, Cond condition) {
  const absl::Time deadline = absl::Now() + kWait;
  for (;;) {
    if (condition()) return absl::Now();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("not within ", absl::FormatDuration(kWait), ": ", what));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

// Three group services on one etcd prefix, instance-file and flavor-vanilla, in a TempDir.
class HaStack {
 public:
  HaStack(const Binaries& binaries, std::string endpoints, absl::Duration ttl)
      : binaries_(binaries), endpoints_(std::move(endpoints)), ttl_(ttl) {}

  absl::Status Start() {
    if (mkdir(instances_dir().c_str(), 0700) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", instances_dir()));
    }
    if (absl::Status s = StartProcess(binaries_.instance_file, "instance-file",
                                      {"--dir", instances_dir()}, &file_);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = StartProcess(binaries_.flavor_vanilla, "flavor-vanilla", {}, &vanilla_);
        !s.ok()) {
      return s;
    }
    for (const char* name : kServices) {
      if (absl::Status s = StartGroup(name); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status StartGroup(const std::string& name) {
    return StartProcess(
        binaries_.group, name,
        {"--store", "etcd://" + endpoints_, "--etcd-prefix", kPrefix, "--etcd-lease-ttl",
         absl::StrCat(absl::ToInt64Seconds(ttl_), "s"), "--advertise", name, "--resync-period",
         "1s", "--peer-listen", "127.0.0.1:0"},
        &groups_[name]);
  }

  void Kill(const std::string& name) {
    groups_[name]->Kill();
    groups_[name].reset();
  }

  std::unique_ptr<client::GroupClient> Client(const std::string& name) {
    return std::make_unique<client::GroupClient>(
        client::discovery::MakePluginChannel(dir_.Join(name + ".sock")), absl::Seconds(5));
  }

  // The service whose ListGroups says "leading"; "" when none does.
  std::string Leader() {
    for (const auto& [name, process] : groups_) {
      if (process == nullptr) continue;
      auto listed = Client(name)->ListGroups(gv1::ListGroupsRequest());
      if (listed.ok() && listed->status() == "leading") return name;
    }
    return "";
  }

  std::string instances_dir() const { return dir_.Join("instances"); }

 private:
  absl::Status StartProcess(const std::string& binary, const std::string& name,
                            std::vector<std::string> args,
                            std::unique_ptr<testing::PluginProcess>* out) {
    args.insert(args.begin(), {"--plugins-dir", dir_.path(), "--name", name});
    auto process = std::make_unique<testing::PluginProcess>(binary, std::move(args), dir_.path());
    if (absl::Status s = process->Start(); !s.ok()) return s;
    if (absl::Status s = process->WaitReady(dir_.Join(name + ".sock"), absl::Seconds(30));
        !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(s.message(), "\n", process->Stderr()));
    }
    *out = std::move(process);
    return absl::OkStatus();
  }

  const Binaries binaries_;
  const std::string endpoints_;
  const absl::Duration ttl_;
  testing::TempDir dir_;
  std::unique_ptr<testing::PluginProcess> file_;
  std::unique_ptr<testing::PluginProcess> vanilla_;
  std::map<std::string, std::unique_ptr<testing::PluginProcess>> groups_;
};

std::string Note(const Summary& s, const std::string& what) {
  return absl::StrCat(s.count, " ", what, "; min ", absl::FormatDuration(s.min), ", max ",
                      absl::FormatDuration(s.max));
}

// One failover: kill -9 of the leader, an instance file removed; until another leads and until
// the replacement exists. The killed service comes back as a follower.
absl::Status OneFailover(HaStack& stack, DirWatcher& watcher, std::vector<absl::Duration>* takeover,
                         std::vector<absl::Duration>* first_action) {
  auto converged = watcher.WaitForCount(2, kWait);
  if (!converged.ok()) return converged.status();
  std::string leader;
  auto led = Await("a leader", [&] { return !(leader = stack.Leader()).empty(); });
  if (!led.ok()) return led.status();
  const std::vector<std::string> names = watcher.Names();
  const int64_t next_creation = watcher.creations();

  const absl::Time killed = absl::Now();
  stack.Kill(leader);
  if (unlink(absl::StrCat(stack.instances_dir(), "/", names[0]).c_str()) != 0) {
    return absl::ErrnoToStatus(errno, "unlink an instance file");
  }
  auto took_over = Await("another group service leads", [&] { return !stack.Leader().empty(); });
  if (!took_over.ok()) return took_over.status();
  auto acted = watcher.WaitForCreation(next_creation, kWait);
  if (!acted.ok()) return acted.status();
  takeover->push_back(*took_over - killed);
  first_action->push_back(*acted - killed);
  return stack.StartGroup(leader);
}

// Follower reads: ListGroups answered by a follower from its copy of etcd against the leader's
// own, InspectGroup forwarded by a follower against the leader's own (the hop a local read
// saves), and how long after the leader's write (WatchGroup / UnwatchGroup of a group of none,
// alternately) the follower's copy shows it (its ListGroups called back to back).
absl::Status TimeFollowerReads(HaStack& stack, const std::string& follower, Report* report) {
  constexpr int kCalls = 500;
  constexpr int kChanges = 40;
  const std::string leader = stack.Leader();
  auto leader_client = stack.Client(leader);
  auto follower_client = stack.Client(follower);
  std::vector<absl::Duration> from_copy, from_leader, lag, inspect_forwarded, inspect_leader;
  gv1::InspectGroupRequest inspect;
  inspect.set_id("cattle");
  for (int i = 0; i < kCalls; ++i) {
    absl::Time start = absl::Now();
    if (auto r = follower_client->InspectGroup(inspect); !r.ok()) return r.status();
    inspect_forwarded.push_back(absl::Now() - start);
    start = absl::Now();
    if (auto r = leader_client->InspectGroup(inspect); !r.ok()) return r.status();
    inspect_leader.push_back(absl::Now() - start);
  }
  for (int i = 0; i < kCalls; ++i) {
    absl::Time start = absl::Now();
    auto listed = follower_client->ListGroups(gv1::ListGroupsRequest());
    if (!listed.ok()) return listed.status();
    if (listed->store_revision() == 0) return absl::InternalError("the follower forwarded");
    from_copy.push_back(absl::Now() - start);
    start = absl::Now();
    if (auto l = leader_client->ListGroups(gv1::ListGroupsRequest()); !l.ok()) return l.status();
    from_leader.push_back(absl::Now() - start);
  }
  auto spec = client::config::ParseGroupConfig(kConfig);
  if (!spec.ok()) return spec.status();
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = *spec;
  watch.mutable_spec()->set_id("lag");
  watch.mutable_spec()->mutable_allocation()->set_size(0);
  gv1::UnwatchGroupRequest unwatch;
  unwatch.set_id("lag");
  for (int i = 0; i < kChanges; ++i) {
    const bool add = i % 2 == 0;
    absl::Status written = add ? leader_client->WatchGroup(watch).status()
                               : leader_client->UnwatchGroup(unwatch).status();
    if (!written.ok()) return written;
    const absl::Time start = absl::Now();
    for (;;) {
      auto listed = follower_client->ListGroups(gv1::ListGroupsRequest());
      if (!listed.ok()) return listed.status();
      bool has = false;
      for (const gv1::GroupSummary& g : listed->groups()) has = has || g.spec().id() == "lag";
      if (has == add) break;
      if (absl::Now() - start > kWait) return absl::DeadlineExceededError("the copy lags");
    }
    lag.push_back(absl::Now() - start);
  }
  const Summary c = Summarize(from_copy);
  const Summary l = Summarize(from_leader);
  const Summary g = Summarize(lag);
  report->AddDuration(kSection, "ListGroups by a follower (its copy of etcd), p50", c.p50, "ms",
                      std::nullopt, Note(c, "calls, 1 group"));
  report->AddDuration(kSection, "ListGroups by a follower (its copy of etcd), p99", c.p99, "ms");
  report->AddDuration(kSection, "ListGroups by the leader, p50", l.p50, "ms", std::nullopt,
                      Note(l, "calls, interleaved"));
  report->AddDuration(kSection, "ListGroups by the leader, p99", l.p99, "ms");
  const Summary fi = Summarize(inspect_forwarded);
  const Summary li = Summarize(inspect_leader);
  report->AddDuration(kSection, "InspectGroup through a follower (forwarded), p50", fi.p50, "ms",
                      std::nullopt, Note(fi, "calls, a group of 2: one hop to the leader"));
  report->AddDuration(kSection, "InspectGroup through a follower (forwarded), p99", fi.p99, "ms");
  report->AddDuration(kSection, "InspectGroup by the leader, p50", li.p50, "ms", std::nullopt,
                      Note(li, "calls, interleaved"));
  report->AddDuration(kSection, "InspectGroup by the leader, p99", li.p99, "ms");
  report->AddDuration(kSection, "leader's write -> seen in a follower's ListGroups, p50", g.p50,
                      "ms", std::nullopt,
                      Note(g, "WatchGroup / UnwatchGroup answered, then the follower polled"));
  report->AddDuration(kSection, "leader's write -> seen in a follower's ListGroups, max", g.max,
                      "ms");
  return absl::OkStatus();
}

absl::Status TimeFailovers(const testing::EtcdCluster& etcd, const Binaries& binaries,
                           const HaOptions& options, Report* report) {
  HaStack stack(binaries, etcd.Endpoints(), options.lease_ttl);
  if (absl::Status s = stack.Start(); !s.ok()) return s;
  auto spec = client::config::ParseGroupConfig(kConfig);
  if (!spec.ok()) return spec.status();
  gv1::WatchGroupRequest watch;
  *watch.mutable_spec() = *spec;
  // Through a service that may follow (then forwarded to the leader), once it knows the leader.
  auto led = Await("group-c knows the leader", [&] {
    auto listed = stack.Client(kServices[2])->ListGroups(gv1::ListGroupsRequest());
    return listed.ok() && !listed->leader().empty() && !stack.Leader().empty();
  });
  if (!led.ok()) return led.status();
  auto watched = stack.Client(kServices[2])->WatchGroup(watch);
  if (!watched.ok()) return watched.status();
  auto watcher = DirWatcher::Start(stack.instances_dir());
  if (!watcher.ok()) return watcher.status();
  {
    std::string follower;
    auto copied = Await("a follower's copy of etcd is read", [&] {
      const std::string leader = stack.Leader();
      for (const char* name : kServices) {
        if (name == leader) continue;
        auto listed = stack.Client(name)->ListGroups(gv1::ListGroupsRequest());
        if (listed.ok() && listed->store_revision() > 0 && listed->groups_size() == 1) {
          follower = name;
          return true;
        }
      }
      return false;
    });
    if (!copied.ok()) return copied.status();
    if (absl::Status s = TimeFollowerReads(stack, follower, report); !s.ok()) return s;
  }
  std::vector<absl::Duration> takeover, first_action;
  for (int run = 0; run < options.runs; ++run) {
    if (absl::Status s = OneFailover(stack, **watcher, &takeover, &first_action); !s.ok()) {
      return s;
    }
  }
  const std::string ttl = absl::FormatDuration(options.lease_ttl);
  const Summary t = Summarize(takeover);
  const Summary a = Summarize(first_action);
  report->AddDuration(kSection,
                      absl::StrCat("leader kill -9 -> another leads (TTL ", ttl, "), p50"), t.p50,
                      "s", std::nullopt, Note(t, "failovers; ListGroups polled every 10 ms"));
  report->AddDuration(
      kSection, absl::StrCat("leader kill -9 -> new leader's first action (TTL ", ttl, "), p50"),
      a.p50, "s", std::nullopt,
      Note(a, "failovers; the replacement of a removed instance file (inotify)"));
  report->AddDuration(
      kSection, absl::StrCat("leader kill -9 -> new leader's first action (TTL ", ttl, "), max"),
      a.max, "s");
  return absl::OkStatus();
}

// Writes of a group record: fenced (EtcdStore::Put, a transaction comparing the leader key's
// create_revision) against plain puts of the same bytes.
absl::Status TimeFencedWrites(const testing::EtcdCluster& etcd, const HaOptions& options,
                              Report* report) {
  auto client = etcd::GrpcEtcdClient::Create(etcd.Endpoints());
  if (!client.ok()) return client.status();
  const std::string leader_key = absl::StrCat(kPrefix, "-fence/leader");
  auto put = (*client)->Put(leader_key, "bench", 0);
  if (!put.ok()) return put.status();
  services::group::EtcdStore store(client->get(), absl::StrCat(kPrefix, "-fence"));
  store.SetFence(leader_key, *put);  // created at that revision
  auto spec = client::config::ParseGroupConfig(kConfig);
  if (!spec.ok()) return spec.status();
  services::group::GroupRecord record;
  *record.mutable_spec() = *spec;
  const std::string plain_key = absl::StrCat(kPrefix, "-plain/groups/cattle");
  std::string bytes;
  std::vector<absl::Duration> fenced, plain;
  const int warmup = std::max(1, options.fenced_writes / 10);
  for (int i = 0; i < options.fenced_writes + warmup; ++i) {
    record.mutable_spec()->mutable_allocation()->set_size(i % 7);
    absl::Time start = absl::Now();
    if (absl::Status s = store.Put(record); !s.ok()) return s;
    const absl::Duration fenced_time = absl::Now() - start;
    if (bytes.empty()) {  // the JSON the store wrote, for the plain puts
      auto range = (*client)->Range(store.KeyOf("cattle"), "");
      if (!range.ok() || range->kvs.empty())
        return absl::InternalError("the record was not written");
      bytes = range->kvs[0].value;
    }
    start = absl::Now();
    if (auto p = (*client)->Put(plain_key, bytes, 0); !p.ok()) return p.status();
    const absl::Duration plain_time = absl::Now() - start;
    if (i >= warmup) {
      fenced.push_back(fenced_time);
      plain.push_back(plain_time);
    }
  }
  const Summary f = Summarize(fenced);
  const Summary p = Summarize(plain);
  const std::string note = absl::StrCat(f.count, " writes of a ", bytes.size(),
                                        "-byte record, 3-member etcd on loopback");
  report->AddDuration(kSection, "fenced write (EtcdStore::Put, txn), p50", f.p50, "ms",
                      std::nullopt, note);
  report->AddDuration(kSection, "fenced write (EtcdStore::Put, txn), p99", f.p99, "ms");
  report->AddDuration(kSection, "plain etcd put of the same bytes, p50", p.p50, "ms", std::nullopt,
                      "interleaved with the fenced writes");
  report->AddDuration(kSection, "plain etcd put of the same bytes, p99", p.p99, "ms");
  return absl::OkStatus();
}

}  // namespace

absl::Status RunHa(const Binaries& binaries, const HaOptions& options, Report* report) {
  if (!testing::EtcdCluster::Installed()) {
    const std::string why = absl::StrCat("ha: skipped: ", testing::EtcdCluster::kNotInstalled);
    report->AddContext(why);
    return absl::OkStatus();
  }
  testing::EtcdCluster etcd(3);
  if (absl::Status s = etcd.Start(); !s.ok()) return s;
  if (absl::Status s = TimeFencedWrites(etcd, options, report); !s.ok()) return s;
  return TimeFailovers(etcd, binaries, options, report);
}

}  // namespace infrakit::tools::bench
