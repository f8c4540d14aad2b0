#include "plugins/instance/process/process_plugin.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "plugins/instance/process/proc_stat.h"
#include "spec/tags.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::process {
namespace {

namespace fs = std::filesystem;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kDeadline = absl::Seconds(10);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool IsGone(pid_t pid) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  return !stat.ok() || !stat->alive();
}

pid_t WaitForPidFile(const std::string& path) {
  pid_t pid = 0;
  WaitFor([&] { return absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(path)), &pid); },
          kDeadline);
  return pid;
}

class RecordingSink : public spi::instance::WatchSink {
 public:
  void OnEvent(const v1::WatchResponse& event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  }
  void OnDone(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    done_ = status;
  }
  std::vector<v1::WatchResponse> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // Index of the first event of `type` for `id` ("" for SYNCED), if any.
  std::optional<size_t> Find(v1::EventType type, const std::string& id) {
    std::vector<v1::WatchResponse> all = events();
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i].type() == type && all[i].instance().id() == id) return i;
    }
    return std::nullopt;
  }
  bool Has(v1::EventType type, const std::string& id) { return Find(type, id).has_value(); }
  std::optional<absl::Status> done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::WatchResponse> events_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> done_ ABSL_GUARDED_BY(mu_);
};

class ProcessPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    instances_dir_ = dir_.Join("instances");
    out_ = dir_.Join("out");
    fs::create_directories(out_);
    Restart();
  }

  void TearDown() override {
    // No test leaves processes behind, whatever it did.
    if (plugin_ != nullptr) {
      for (pid_t pid : LivePids()) extra_groups_.push_back(pid);
    }
    plugin_.reset();
    for (pid_t pgid : extra_groups_) kill(-pgid, SIGKILL);
  }

  // A new plugin over the same directory (the old one is destroyed first, as on a restart).
  void Restart() {
    if (plugin_ != nullptr) {
      for (pid_t pid : LivePids()) extra_groups_.push_back(pid);
    }
    plugin_.reset();
    absl::StatusOr<std::unique_ptr<ProcessPlugin>> plugin = ProcessPlugin::Create(instances_dir_);
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    plugin_ = std::move(*plugin);
  }

  std::vector<pid_t> LivePids() {
    std::vector<pid_t> pids;
    for (const v1::Description& d : DescribeAll(true)) {
      pids.push_back(static_cast<pid_t>(d.properties().fields().at("Pid").number_value()));
    }
    return pids;
  }

  v1::Spec Spec(const std::string& init, const std::string& properties_json = "{}") {
    v1::Spec spec;
    spec.set_init(init);
    google::protobuf::Struct properties;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(properties_json, &properties).ok())
        << properties_json;
    (*properties.mutable_fields())["Env"].mutable_struct_value();
    // Every test instance knows where to leave its evidence.
    (*(*properties.mutable_fields())["Env"].mutable_struct_value()->mutable_fields())["OUT"]
        .set_string_value(out_);
    *spec.mutable_properties() = properties;
    return spec;
  }

  std::string ProvisionOk(const v1::Spec& spec) {
    v1::ProvisionRequest request;
    *request.mutable_spec() = spec;
    absl::StatusOr<v1::ProvisionResponse> response = plugin_->Provision(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return "";
    EXPECT_TRUE(response->created());
    return response->id();
  }

  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::Spec& spec) {
    v1::ProvisionRequest request;
    *request.mutable_spec() = spec;
    return plugin_->Provision(request);
  }

  absl::Status Destroy(const std::string& id) {
    v1::DestroyRequest request;
    request.set_id(id);
    request.set_reason(v1::DESTROY_REASON_TERMINATE);
    return plugin_->Destroy(request);
  }

  std::vector<v1::Description> DescribeAll(
      bool include_properties = false, std::vector<std::pair<std::string, std::string>> tags = {}) {
    v1::DescribeRequest request;
    request.set_include_properties(include_properties);
    for (const auto& [k, v] : tags) (*request.mutable_tags())[k] = v;
    absl::StatusOr<v1::DescribeResponse> response = plugin_->Describe(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    return {response->instances().begin(), response->instances().end()};
  }

  std::optional<v1::Description> Find(const std::string& id) {
    for (const v1::Description& d : DescribeAll(true)) {
      if (d.id() == id) return d;
    }
    return std::nullopt;
  }

  pid_t PidOf(const std::string& id) {
    std::optional<v1::Description> d = Find(id);
    if (!d.has_value()) return 0;
    return static_cast<pid_t>(d->properties().fields().at("Pid").number_value());
  }

  std::string InstanceDir(const std::string& id) { return absl::StrCat(instances_dir_, "/", id); }
  std::string Out(const std::string& name) { return absl::StrCat(out_, "/", name); }

  TempDir dir_;
  std::string instances_dir_;
  std::string out_;
  std::unique_ptr<ProcessPlugin> plugin_;
  std::vector<pid_t> extra_groups_;
};

TEST_F(ProcessPluginTest, ProvisionRunsTheInitScriptWithItsEnvironment) {
  v1::Spec spec = Spec(
      "{ echo \"id=$INFRAKIT_INSTANCE_ID\"; echo \"logical=$INFRAKIT_LOGICAL_ID\";"
      "  echo \"group=$INFRAKIT_GROUP\"; echo \"tag=$INFRAKIT_TAG_INFRAKIT_CONFIG_SHA\";"
      "  echo \"odd=$INFRAKIT_TAG_MY_TAG_X\"; echo \"dir=$INFRAKIT_INSTANCE_DIR\";"
      "  echo \"pwd=$(pwd)\"; echo \"custom=$CUSTOM\"; } > \"$OUT/env.tmp\";"
      "mv \"$OUT/env.tmp\" \"$OUT/env\"; exec sleep 1000",
      R"({"Env": {"CUSTOM": "yes"}})");
  spec.set_logical_id("10.0.0.1");
  (*spec.mutable_tags())[spec::kGroupTag] = "web";
  (*spec.mutable_tags())[spec::kShaTag] = "abc";
  (*spec.mutable_tags())["my-tag.x"] = "v";
  const std::string id = ProvisionOk(spec);
  ASSERT_TRUE(absl::StartsWith(id, "instance-")) << id;

  ASSERT_TRUE(WaitFor([&] { return fs::exists(Out("env")); }, kDeadline));
  const std::string dir = InstanceDir(id);
  EXPECT_EQ(ReadFile(Out("env")),
            absl::StrCat("id=", id, "\nlogical=10.0.0.1\ngroup=web\ntag=abc\nodd=v\ndir=", dir,
                         "\npwd=", dir, "\ncustom=yes\n"));

  std::optional<v1::Description> d = Find(id);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->state(), v1::LIFECYCLE_STATE_RUNNING);
  EXPECT_EQ(d->logical_id(), "10.0.0.1");
  EXPECT_EQ(d->tags().at(spec::kGroupTag), "web");
  EXPECT_EQ(d->spec().init(), spec.init());
  const auto& props = d->properties().fields();
  EXPECT_EQ(props.at("LogFile").string_value(), dir + "/output.log");
  EXPECT_EQ(props.at("InstanceDir").string_value(), dir);
  const pid_t pid = static_cast<pid_t>(props.at("Pid").number_value());
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->session, pid);  // Its own session.
  EXPECT_EQ(absl::StrCat(stat->start_time), props.at("StartTime").string_value());
  EXPECT_TRUE(fs::exists(dir + "/instance.json"));

  // Without include_properties: no spec, no properties.
  std::vector<v1::Description> plain = DescribeAll();
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_FALSE(plain[0].has_spec());
  EXPECT_FALSE(plain[0].has_properties());
}

TEST_F(ProcessPluginTest, OutputGoesToTheLogFile) {
  const std::string id = ProvisionOk(Spec("echo to-out; echo to-err >&2; exec sleep 1000"));
  const std::string log = InstanceDir(id) + "/output.log";
  EXPECT_TRUE(WaitFor(
      [&] {
        const std::string text = ReadFile(log);
        return absl::StrContains(text, "to-out\n") && absl::StrContains(text, "to-err\n");
      },
      kDeadline))
      << ReadFile(log);
}

TEST_F(ProcessPluginTest, CommandRunsAfterTheInitScriptInDirAsTheSameProcess) {
  const std::string work = dir_.Join("work");
  fs::create_directories(work);
  const std::string id = ProvisionOk(
      Spec("echo init >> \"$OUT/order\"",
           absl::StrCat(R"({"Dir": ")", work,
                        R"(", "Command": "echo cmd >> \"$OUT/order\"; pwd > \"$OUT/pwd\"; )"
                        R"(echo $$ > \"$OUT/pid\"; exec sleep 1000"})")));
  const pid_t pid = WaitForPidFile(Out("pid"));
  EXPECT_EQ(pid, PidOf(id));
  EXPECT_EQ(ReadFile(Out("order")), "init\ncmd\n");
  EXPECT_EQ(ReadFile(Out("pwd")), work + "\n");
}

TEST_F(ProcessPluginTest, ABlankInitScriptRunsTheCommandAtOnceAsTheInstancesProcess) {
  // Nothing to run first: the command's shell is started directly, and is the instance's
  // process until it execs the command.
  const std::string id =
      ProvisionOk(Spec(" \n\t\n", R"({"Command": "echo $$ > \"$OUT/pid\"; exec sleep 1000"})"));
  const pid_t pid = WaitForPidFile(Out("pid"));
  EXPECT_EQ(pid, PidOf(id));
  // Not run, so not written.
  EXPECT_FALSE(fs::exists(absl::StrCat(InstanceDir(id), "/init.sh")));
  EXPECT_TRUE(WaitFor(
      [&] {
        return ReadFile(absl::StrCat("/proc/", pid, "/cmdline"))
                   .rfind(std::string("sleep\0", 6), 0) == 0;
      },
      kDeadline));
}

TEST_F(ProcessPluginTest, ASimpleCommandIsExecutedWithoutAShell) {
  // The shell would only look the program up and exec it: the instance's process is the program
  // from the start, with what a shell would have given it (arguments, PWD, the environment).
  const std::string work = dir_.Join("work");
  fs::create_directories(work);
  const std::string tool = work + "/tool";
  std::ofstream(tool)
      << "#!/bin/sh\n"
         "{ echo \"args=$*\"; echo \"pwd=$PWD\"; echo \"id=$INFRAKIT_INSTANCE_ID\"; }"
         " > \"$OUT/tool.tmp\"; mv \"$OUT/tool.tmp\" \"$OUT/tool\"; exec sleep 1000\n";
  ASSERT_EQ(chmod(tool.c_str(), 0755), 0);
  const std::string id = ProvisionOk(
      Spec("", absl::StrCat(R"({"Dir": ")", work, R"(", "Command": "./tool a b=c --d"})")));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(Out("tool")); }, kDeadline));
  EXPECT_EQ(ReadFile(Out("tool")), absl::StrCat("args=a b=c --d\npwd=", work, "\nid=", id, "\n"));

  // Found in PATH, and already the program when Provision returns: posix_spawn returns once
  // the child's exec has replaced its memory, whose executable is set by then (its arguments
  // may still be on their way in, so the cmdline is awaited). A shell would be /bin/sh then,
  // until it execs sleep a millisecond later.
  const std::string sleeper = ProvisionOk(Spec("\n", R"({"Command": "exec sleep 1000"})"));
  const pid_t pid = PidOf(sleeper);
  ASSERT_GT(pid, 0);
  std::error_code ec;
  const fs::path exe = fs::read_symlink(absl::StrCat("/proc/", pid, "/exe"), ec);
  EXPECT_EQ(exe.filename(), "sleep") << exe;
  const std::string expected(
      "sleep\0"
      "1000\0",
      11);
  EXPECT_TRUE(WaitFor([&] { return ReadFile(absl::StrCat("/proc/", pid, "/cmdline")) == expected; },
                      kDeadline));
}

TEST_F(ProcessPluginTest, ASimpleCommandThatCannotStartIsLeftToTheShell) {
  // Not found: the shell says so and exits 127, so the instance dies at once. A script without
  // "#!" (which the kernel refuses to execute) is run by the shell as it always was.
  RecordingSink sink;
  auto watch = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(watch.ok());
  const std::string missing = ProvisionOk(Spec("", R"({"Command": "no-such-program-here 1"})"));
  ASSERT_TRUE(WaitFor([&] { return sink.Has(v1::EVENT_TYPE_REMOVED, missing); }, kDeadline));

  const std::string script = dir_.Join("script");
  std::ofstream(script) << "echo \"$1\" > \"$OUT/script\"; exec sleep 1000\n";
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  const std::string id =
      ProvisionOk(Spec("", absl::StrCat(R"({"Command": ")", script, R"( ran"})")));
  ASSERT_TRUE(WaitFor([&] { return ReadFile(Out("script")) == "ran\n"; }, kDeadline));
  EXPECT_TRUE(Find(id).has_value());
}

TEST_F(ProcessPluginTest, FailingInitScriptSkipsTheCommandAndTheInstanceDies) {
  RecordingSink sink;
  auto watch = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(watch.ok());
  const std::string id =
      ProvisionOk(Spec("exit 4", R"({"Command": "echo ran > \"$OUT/cmd\"; exec sleep 1000"})"));
  ASSERT_TRUE(WaitFor([&] { return sink.Has(v1::EVENT_TYPE_REMOVED, id); }, kDeadline));
  EXPECT_FALSE(fs::exists(Out("cmd")));
  EXPECT_FALSE(Find(id).has_value());
}

TEST_F(ProcessPluginTest, DestroyStopsTheWholeTreeAndDeletesTheDirectory) {
  const std::string id = ProvisionOk(Spec("sleep 1000 & echo $! > \"$OUT/child\"; wait"));
  const pid_t child = WaitForPidFile(Out("child"));
  ASSERT_GT(child, 0);
  const pid_t pid = PidOf(id);
  ASSERT_GT(pid, 0);
  ASSERT_FALSE(IsGone(child));

  ASSERT_TRUE(Destroy(id).ok());
  EXPECT_TRUE(IsGone(pid));
  EXPECT_TRUE(IsGone(child));
  EXPECT_FALSE(fs::exists(InstanceDir(id)));
  EXPECT_TRUE(DescribeAll().empty());
  EXPECT_EQ(Destroy(id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Destroy("instance-404").code(), absl::StatusCode::kNotFound);
}

TEST_F(ProcessPluginTest, DestroySendsTheStopSignalThenKillsAfterTheGrace) {
  // The trap records SIGINT and goes on running: only SIGKILL ends it.
  const std::string id =
      ProvisionOk(Spec("trap 'echo got-int >> \"$OUT/trap\"' INT; echo ready > \"$OUT/ready\";"
                       "while :; do sleep 0.05; done",
                       R"({"StopSignal": "INT", "StopGraceSeconds": 1})"));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(Out("ready")); }, kDeadline));
  const pid_t pid = PidOf(id);
  ASSERT_TRUE(Destroy(id).ok());
  EXPECT_TRUE(IsGone(pid));
  EXPECT_TRUE(absl::StrContains(ReadFile(Out("trap")), "got-int"));
  EXPECT_FALSE(Find(id).has_value());
}

TEST_F(ProcessPluginTest, KilledProcessIsRemovedAtOnce) {
  RecordingSink sink;
  auto watch = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(watch.ok());
  const std::string keep = ProvisionOk(Spec("exec sleep 1000"));
  const std::string id =
      ProvisionOk(Spec("sleep 1000 & echo $! > \"$OUT/child\"; exec sleep 1000"));
  const pid_t child = WaitForPidFile(Out("child"));
  ASSERT_TRUE(WaitFor([&] { return sink.Has(v1::EVENT_TYPE_ADDED, id); }, kDeadline));
  const pid_t pid = PidOf(id);
  ASSERT_GT(pid, 0);

  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return sink.Has(v1::EVENT_TYPE_REMOVED, id); }, kDeadline));
  std::vector<v1::Description> left = DescribeAll();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id(), keep);
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(InstanceDir(id)); }, kDeadline));
  EXPECT_TRUE(WaitFor([&] { return IsGone(child); }, kDeadline));  // Its leftovers too.
  EXPECT_FALSE(sink.Has(v1::EVENT_TYPE_REMOVED, keep));
}

TEST_F(ProcessPluginTest, EmptyInitIsAnInstanceThatDiesAtOnce) {
  RecordingSink sink;
  auto watch = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(watch.ok());
  const std::string id = ProvisionOk(Spec(""));
  ASSERT_TRUE(WaitFor([&] { return sink.Has(v1::EVENT_TYPE_REMOVED, id); }, kDeadline));
  std::optional<size_t> added = sink.Find(v1::EVENT_TYPE_ADDED, id);
  ASSERT_TRUE(added.has_value());
  EXPECT_LT(*added, *sink.Find(v1::EVENT_TYPE_REMOVED, id));
  EXPECT_FALSE(Find(id).has_value());
}

TEST_F(ProcessPluginTest, RestartReadoptsTheLivingAndDropsTheDead) {
  const std::string alive = ProvisionOk(Spec("exec sleep 1000"));
  const std::string dead = ProvisionOk(Spec("exec sleep 1000"));
  const pid_t alive_pid = PidOf(alive);
  const pid_t dead_pid = PidOf(dead);
  plugin_.reset();
  // The plugin's end is not the processes' end.
  EXPECT_FALSE(IsGone(alive_pid));
  EXPECT_FALSE(IsGone(dead_pid));
  extra_groups_ = {alive_pid, dead_pid};
  ASSERT_EQ(kill(dead_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return IsGone(dead_pid); }, kDeadline));

  Restart();
  std::vector<v1::Description> all = DescribeAll(true);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id(), alive);
  EXPECT_EQ(all[0].state(), v1::LIFECYCLE_STATE_RUNNING);
  EXPECT_EQ(all[0].properties().fields().at("Pid").number_value(), alive_pid);
  EXPECT_FALSE(fs::exists(InstanceDir(dead)));
  EXPECT_TRUE(fs::exists(InstanceDir(alive)));
  EXPECT_FALSE(ReadProcStat(dead_pid).ok());  // The zombie was reaped.

  // The re-adopted process is supervised: its death is seen at once.
  RecordingSink sink;
  auto watch = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(watch.ok());
  ASSERT_EQ(kill(alive_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return sink.Has(v1::EVENT_TYPE_REMOVED, alive); }, kDeadline));
  EXPECT_TRUE(DescribeAll().empty());
}

TEST_F(ProcessPluginTest, RestartDoesNotAdoptAReusedPid) {
  // A living process that is not the recorded one: same pid, another start time.
  const pid_t unrelated = fork();
  ASSERT_GE(unrelated, 0);
  if (unrelated == 0) {
    setsid();
    execl("/bin/sleep", "sleep", "1000", nullptr);
    _exit(127);
  }
  extra_groups_.push_back(unrelated);
  ASSERT_TRUE(WaitFor([&] { return ReadProcStat(unrelated).ok(); }, kDeadline));
  absl::StatusOr<ProcStat> stat = ReadProcStat(unrelated);
  ASSERT_TRUE(stat.ok());

  const std::string fake = InstanceDir("instance-1");
  fs::create_directories(fake);
  std::ofstream(fake + "/instance.json")
      << R"({"id": "instance-1", "tags": {"infrakit.group": "web"}, "properties": {"Pid": )"
      << unrelated << R"(, "StartTime": ")" << stat->start_time + 1 << R"("}})";
  const std::string broken = InstanceDir("instance-2");
  fs::create_directories(broken);
  std::ofstream(broken + "/instance.json") << "{not json";

  Restart();
  EXPECT_TRUE(DescribeAll().empty());
  EXPECT_FALSE(fs::exists(fake));
  EXPECT_FALSE(fs::exists(broken));
  // Left alone: neither adopted nor killed.
  EXPECT_FALSE(IsGone(unrelated));
  kill(unrelated, SIGKILL);
  waitpid(unrelated, nullptr, 0);
}

TEST_F(ProcessPluginTest, RestartDeletesAnInstanceOfAnotherBootWithoutSignallingIt) {
  // A record written before the machine's last boot: its pid and start time happen to name a
  // living process of this boot, leading its own process group. Neither is the instance's.
  const pid_t unrelated = fork();
  ASSERT_GE(unrelated, 0);
  if (unrelated == 0) {
    setsid();
    execl("/bin/sleep", "sleep", "1000", nullptr);
    _exit(127);
  }
  extra_groups_.push_back(unrelated);
  ASSERT_TRUE(WaitFor([&] { return ReadProcStat(unrelated).ok(); }, kDeadline));
  absl::StatusOr<ProcStat> stat = ReadProcStat(unrelated);
  ASSERT_TRUE(stat.ok());
  auto record = [&](const std::string& id, const std::string& boot) {
    const std::string dir = InstanceDir(id);
    fs::create_directories(dir);
    std::ofstream(dir + "/instance.json")
        << R"({"id": ")" << id << R"(", "properties": {"Pid": )" << unrelated
        << R"(, "StartTime": ")" << stat->start_time << R"(", "BootId": ")" << boot << R"("}})";
    return dir;
  };
  const std::string earlier = record("instance-1", "00000000-0000-0000-0000-000000000000");

  Restart();
  EXPECT_TRUE(DescribeAll().empty());
  EXPECT_FALSE(fs::exists(earlier));
  EXPECT_FALSE(IsGone(unrelated));

  // The same record of this boot is that process, adopted.
  absl::StatusOr<std::string> boot = ReadBootId();
  ASSERT_TRUE(boot.ok()) << boot.status();
  record("instance-2", *boot);
  Restart();
  std::vector<v1::Description> all = DescribeAll(true);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id(), "instance-2");
  // And the instances this plugin provisions record the boot.
  const std::string id = ProvisionOk(Spec("exec sleep 1000"));
  std::optional<v1::Description> d = Find(id);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->properties().fields().at("BootId").string_value(), *boot);
  EXPECT_TRUE(absl::StrContains(ReadFile(InstanceDir(id) + "/instance.json"), *boot));
  // TearDown kills both, the adopted process included.
}

// What a plugin killed between starting an instance's process and writing its instance.json
// leaves: the directory, the init script, and the process (with a child) running with the
// instance's environment. The restarted plugin kills them all and deletes the directory, so that
// nothing runs unmanaged beside the instance the group creates in its place.
TEST_F(ProcessPluginTest, RestartKillsTheProcessesOfAProvisionInterruptedBeforeItWasRecorded) {
  const std::string dir = InstanceDir("instance-5");
  fs::create_directories(dir);
  std::ofstream(dir + "/init.sh") << "sleep 1000 & wait\n";
  const std::string entry = absl::StrCat("INFRAKIT_INSTANCE_DIR=", dir);
  std::vector<char*> envp = {const_cast<char*>(entry.c_str()), nullptr};
  const std::string init = dir + "/init.sh";
  const pid_t orphan = fork();  // envp and init are built before: the child only execs.
  ASSERT_GE(orphan, 0);
  if (orphan == 0) {
    setsid();
    execle("/bin/sh", "sh", init.c_str(), nullptr, envp.data());
    _exit(127);
  }
  extra_groups_.push_back(orphan);
  ASSERT_TRUE(WaitFor([&] { return ProcessesWithEnvironmentEntry(entry).size() == 2; }, kDeadline));
  const std::vector<pid_t> processes = ProcessesWithEnvironmentEntry(entry);

  Restart();
  EXPECT_TRUE(DescribeAll().empty());
  EXPECT_FALSE(fs::exists(dir));
  for (pid_t pid : processes) {
    EXPECT_TRUE(WaitFor([&] { return IsGone(pid); }, kDeadline)) << "pid " << pid << " survived";
  }
  waitpid(orphan, nullptr, 0);
}

TEST_F(ProcessPluginTest, IdempotentProvisionAlsoAcrossRestart) {
  v1::Spec spec = Spec("exec sleep 1000");
  spec.set_idempotency_key("key-1");
  const std::string id = ProvisionOk(spec);
  absl::StatusOr<v1::ProvisionResponse> again = Provision(spec);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id(), id);
  EXPECT_FALSE(again->created());

  Restart();
  again = Provision(spec);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id(), id);
  EXPECT_FALSE(again->created());
  EXPECT_EQ(DescribeAll().size(), 1u);

  // Once its instance is destroyed, a key creates anew.
  ASSERT_TRUE(Destroy(id).ok());
  again = Provision(spec);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->id(), id);
  EXPECT_TRUE(again->created());
}

TEST_F(ProcessPluginTest, ConcurrentProvisionsWithOneKeyCreateOneInstance) {
  v1::Spec spec = Spec("exec sleep 1000");
  spec.set_idempotency_key("same");
  std::vector<absl::StatusOr<v1::ProvisionResponse>> results(8);
  std::vector<std::thread> threads;
  for (auto& result : results) {
    threads.emplace_back([&] { result = Provision(spec); });
  }
  for (std::thread& t : threads) t.join();
  int created = 0;
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->id(), results[0]->id());
    created += result->created() ? 1 : 0;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(DescribeAll().size(), 1u);
}

TEST_F(ProcessPluginTest, IdsAreUniqueUnderLoad) {
  // Instances with an empty init die at once: cheap to make by the hundred.
  constexpr int kThreads = 4;
  constexpr int kEach = 75;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<v1::ProvisionResponse> r = Provision(Spec(""));
        if (r.ok()) ids[t].push_back(r->id());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::flat_hash_set<std::string> unique;
  for (const auto& list : ids) {
    for (const std::string& id : list) {
      int64_t number;
      EXPECT_TRUE(absl::SimpleAtoi(absl::StripPrefix(id, "instance-"), &number)) << id;
      unique.insert(id);
    }
  }
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kEach));
  // All dead and cleaned up.
  EXPECT_TRUE(WaitFor([&] { return DescribeAll().empty(); }, kDeadline));
  EXPECT_TRUE(WaitFor([&] { return fs::is_empty(instances_dir_); }, kDeadline));
}

TEST_F(ProcessPluginTest, LabelMergesTagsPersistentlyAndFiltersSeeThem) {
  v1::Spec spec = Spec("exec sleep 1000");
  (*spec.mutable_tags())[spec::kGroupTag] = "web";
  const std::string a = ProvisionOk(spec);
  (*spec.mutable_tags())[spec::kGroupTag] = "db";
  const std::string b = ProvisionOk(spec);

  RecordingSink sink;
  v1::WatchRequest filter;
  (*filter.mutable_tags())["role"] = "leader";
  auto watch = plugin_->Watch(filter, &sink);
  ASSERT_TRUE(watch.ok());

  v1::LabelRequest label;
  label.set_id(a);
  (*label.mutable_labels())["role"] = "leader";
  (*label.mutable_labels())[spec::kGroupTag] = "web2";
  absl::StatusOr<v1::LabelResponse> labelled = plugin_->Label(label);
  ASSERT_TRUE(labelled.ok()) << labelled.status();
  EXPECT_EQ(labelled->instance().tags().at("role"), "leader");
  EXPECT_EQ(labelled->instance().tags().at(spec::kGroupTag), "web2");
  // Entering the watch's filter is an ADDED for it.
  ASSERT_TRUE(WaitFor([&] { return sink.Has(v1::EVENT_TYPE_ADDED, a); }, kDeadline));

  std::vector<v1::Description> web2 = DescribeAll(false, {{spec::kGroupTag, "web2"}});
  ASSERT_EQ(web2.size(), 1u);
  EXPECT_EQ(web2[0].id(), a);
  ASSERT_EQ(DescribeAll(false, {{spec::kGroupTag, "db"}}).size(), 1u);
  EXPECT_TRUE(DescribeAll(false, {{spec::kGroupTag, "web"}}).empty());

  Restart();
  std::optional<v1::Description> after = Find(a);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->tags().at("role"), "leader");
  EXPECT_EQ(after->spec().tags().at(spec::kGroupTag), "web");  // The spec is as provisioned.

  v1::LabelRequest unknown;
  unknown.set_id("instance-404");
  EXPECT_EQ(plugin_->Label(unknown).status().code(), absl::StatusCode::kNotFound);
  v1::LabelRequest empty_key;
  empty_key.set_id(a);
  (*empty_key.mutable_labels())[""] = "x";
  EXPECT_EQ(plugin_->Label(empty_key).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ProcessPluginTest, ValidateAndProvisionRejectBadProperties) {
  struct Case {
    const char* json;
    const char* field;
  };
  for (const Case& c : {Case{R"({"Bogus": 1})", "properties.Bogus"},
                        Case{R"({"Command": ["sleep"]})", "properties.Command"},
                        Case{R"({"Env": {"A": 1}})", "properties.Env.A"},
                        Case{R"({"StopSignal": "NOPE"})", "properties.StopSignal"},
                        Case{R"({"StopGraceSeconds": -3})", "properties.StopGraceSeconds"}}) {
    google::protobuf::Struct properties;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(c.json, &properties).ok());
    v1::ValidateRequest validate;
    *validate.mutable_properties() = properties;
    absl::Status status = plugin_->Validate(validate);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_TRUE(absl::StrContains(status.message(), c.field)) << status;

    v1::Spec spec;
    *spec.mutable_properties() = properties;
    status = Provision(spec).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_TRUE(absl::StrContains(status.message(), c.field)) << status;
  }
  v1::ValidateRequest good;
  (*good.mutable_properties()->mutable_fields())["Command"].set_string_value("exec sleep 1");
  EXPECT_TRUE(plugin_->Validate(good).ok());

  v1::Spec empty_tag = Spec("exec sleep 1000");
  (*empty_tag.mutable_tags())[""] = "x";
  absl::Status status = Provision(empty_tag).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "spec.tags")) << status;

  absl::Status missing_dir =
      Provision(Spec("exec sleep 1000", R"({"Dir": "/nonexistent/dir"})")).status();
  EXPECT_EQ(missing_dir.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(missing_dir.message(), "properties.Dir")) << missing_dir;
  // Nothing was created.
  EXPECT_TRUE(DescribeAll().empty());
  EXPECT_TRUE(fs::is_empty(instances_dir_));
}

TEST_F(ProcessPluginTest, WatchesSeeTheInitialSetThenEveryChange) {
  const std::string first = ProvisionOk(Spec("exec sleep 1000"));
  RecordingSink all, props;
  auto watch_all = plugin_->Watch(v1::WatchRequest(), &all);
  ASSERT_TRUE(watch_all.ok());
  v1::WatchRequest with_props;
  with_props.set_include_properties(true);
  auto watch_props = plugin_->Watch(with_props, &props);
  ASSERT_TRUE(watch_props.ok());

  ASSERT_TRUE(WaitFor([&] { return all.Has(v1::EVENT_TYPE_SYNCED, ""); }, kDeadline));
  EXPECT_EQ(all.Find(v1::EVENT_TYPE_ADDED, first), std::optional<size_t>(0));
  EXPECT_EQ(all.Find(v1::EVENT_TYPE_SYNCED, ""), std::optional<size_t>(1));

  const std::string second = ProvisionOk(Spec("exec sleep 1000"));
  ASSERT_TRUE(Destroy(first).ok());
  for (RecordingSink* sink : {&all, &props}) {
    ASSERT_TRUE(WaitFor([&] { return sink->Has(v1::EVENT_TYPE_REMOVED, first); }, kDeadline));
    EXPECT_TRUE(sink->Has(v1::EVENT_TYPE_ADDED, second));
    // Destroy shows the instance terminating before it goes.
    std::optional<size_t> terminating = sink->Find(v1::EVENT_TYPE_CHANGED, first);
    ASSERT_TRUE(terminating.has_value());
    EXPECT_EQ(sink->events()[*terminating].instance().state(), v1::LIFECYCLE_STATE_TERMINATING);
    EXPECT_LT(*terminating, *sink->Find(v1::EVENT_TYPE_REMOVED, first));
  }
  EXPECT_FALSE(all.events()[0].instance().has_properties());
  EXPECT_TRUE(props.events()[0].instance().properties().fields().contains("Pid"));

  // A cancelled watch hears nothing more; the other goes on.
  watch_all->reset();
  const size_t heard = all.events().size();
  const std::string third = ProvisionOk(Spec("exec sleep 1000"));
  ASSERT_TRUE(WaitFor([&] { return props.Has(v1::EVENT_TYPE_ADDED, third); }, kDeadline));
  EXPECT_EQ(all.events().size(), heard);

  // Watches still open when the plugin goes end with UNAVAILABLE.
  for (pid_t pid : LivePids()) extra_groups_.push_back(pid);
  plugin_.reset();
  ASSERT_TRUE(props.done().has_value());
  EXPECT_EQ(props.done()->code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(all.done().has_value());
}

}  // namespace
}  // namespace infrakit::plugins::instance::process
