#include "plugins/instance/process/process_plugin.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/atomic_file.h"
#include "glog/logging.h"
#include "google/protobuf/util/json_util.h"
#include "plugins/instance/process/proc_stat.h"
#include "plugins/instance/process/properties.h"
#include "plugins/instance/process/simple_command.h"
#include "spec/tags.h"

extern char** environ;

namespace infrakit::plugins::instance::process {

namespace fs = std::filesystem;

struct ProcessPlugin::Instance {
  // Serializes writes of instance.json with the deletion of the directory, without holding
  // the plugin's lock during file I/O.
  absl::Mutex io_mu;

  // The fields below are guarded by ProcessPlugin::mu_.
  // The full description: spec and runtime properties included; state RUNNING or TERMINATING.
  v1::Description desc;
  ProcessIdentity process;
  int stop_signal = SIGTERM;
  absl::Duration stop_grace = absl::Seconds(10);
  // False while being started or adopted: not listed, not watchable, not destroyable yet.
  bool started = false;
  // A Destroy (or the cleanup of a death) owns the instance.
  bool destroying = false;
  // The process exited while !started or destroying; whoever owns it removes it.
  bool exited = false;
  ExitStatus exit_status;
  // Erased from the books; its directory is (being) deleted.
  bool removed = false;
};

namespace {

constexpr char kIdPrefix[] = "instance-";
constexpr char kStateFile[] = "instance.json";
constexpr char kInitFile[] = "init.sh";
constexpr char kLogFile[] = "output.log";
constexpr char kShell[] = "/bin/sh";
// How much of a dead instance's output goes to the plugin's log.
constexpr size_t kLogTailBytes = 2048;

std::string Errno() { return std::strerror(errno); }

// Publishes `content` as `path` whole or not at all, for readers and across the plugin's own
// crash: written to a temporary file in the same directory, then given its name (a link for a
// new record, never overwriting; a rename over the old one). Neither the file nor the directory
// is fsynced: an instance.json describes a running process, and a crash of the machine, the
// only thing an fsync would guard against, ends every such process; whatever the crash leaves
// of the file (the old version, none, a part, other bytes), the restarted plugin deletes the
// instance (see Load: no usable state, or the boot recorded is not this one). INTERNAL on
// failure; nothing is left behind.
absl::Status PublishFile(const std::string& path, const std::string& content, bool replace) {
  const size_t slash = path.find_last_of('/');
  common::TempFileWriter::Options options;
  options.mode = 0600;
  options.name_prefix = absl::StrCat(".", path.substr(slash + 1), ".tmp-");
  common::TempFileWriter writer(path.substr(0, slash), options);
  absl::StatusOr<common::TempFile> temp = writer.Write(content, /*sync=*/false, replace);
  if (!temp.ok()) return absl::InternalError(temp.status().message());
  const int error = replace ? temp->RenameOver(path) : temp->Link(path);
  if (error != 0) {
    return absl::InternalError(absl::StrCat(replace ? "renaming " : "linking ",
                                            temp->unnamed() ? "an unnamed file" : temp->path(),
                                            " to ", path, ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

// Writes `content` to `path`, a new file in a directory made by this Provision (so there is no
// older version to keep), without an fsync: the init script matters only to the process started
// from it right after, no process survives a crash of the machine, and a restarted plugin never
// runs init.sh again. INTERNAL on failure.
absl::Status WriteNewFile(const std::string& path, const std::string& content) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("creating ", path, ": ", Errno()));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string error = Errno();
      close(fd);
      return absl::InternalError(absl::StrCat("writing ", path, ": ", error));
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) return absl::InternalError(absl::StrCat("closing ", path, ": ", Errno()));
  return absl::OkStatus();
}

// The last bytes of a file, for the plugin's log.
std::string Tail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start =
      std::max<std::streamoff>(0, size - static_cast<std::streamoff>(bytes));
  in.seekg(start);
  std::string tail(static_cast<size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  return tail;
}

// Writes the instance's record, instance.json: a new one (`replace` false) or over the old.
absl::Status SaveState(const std::string& instance_dir, const v1::Description& desc, bool replace) {
  v1::Description record = desc;
  record.clear_state();  // Runtime only.
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (auto status = google::protobuf::util::MessageToJsonString(record, &json, options);
      !status.ok()) {
    return absl::InternalError(
        absl::StrCat("encoding the state of ", desc.id(), ": ", status.message().as_string()));
  }
  return PublishFile(absl::StrCat(instance_dir, "/", kStateFile), json, replace);
}

absl::StatusOr<v1::Description> LoadState(const std::string& instance_dir) {
  absl::StatusOr<std::string> json = common::ReadFile(absl::StrCat(instance_dir, "/", kStateFile));
  if (!json.ok()) return json.status();
  v1::Description desc;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (auto status = google::protobuf::util::JsonStringToMessage(*json, &desc, options);
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(instance_dir, "/", kStateFile, ": ", status.message().as_string()));
  }
  return desc;
}

// "infrakit.config_sha" -> "INFRAKIT_TAG_INFRAKIT_CONFIG_SHA".
std::string TagVariable(absl::string_view key) {
  std::string name = "INFRAKIT_TAG_";
  for (char c : key) name.push_back(absl::ascii_isalnum(c) ? absl::ascii_toupper(c) : '_');
  return name;
}

// Variables describing an instance; inherited ones would describe another (the plugin may
// itself run as an instance).
bool IsInstanceVariable(absl::string_view name) {
  return name == "INFRAKIT_INSTANCE_ID" || name == "INFRAKIT_LOGICAL_ID" ||
         name == "INFRAKIT_GROUP" || name == "INFRAKIT_INSTANCE_DIR" ||
         absl::StartsWith(name, "INFRAKIT_TAG_");
}

std::vector<std::string> BuildEnvironment(const std::string& id, const std::string& instance_dir,
                                          const std::string& working_dir, const v1::Spec& spec,
                                          const ProcessProperties& properties) {
  std::map<std::string, std::string> vars;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    absl::string_view var(*entry);
    const size_t eq = var.find('=');
    if (eq == absl::string_view::npos) continue;
    const std::string name(var.substr(0, eq));
    if (IsInstanceVariable(name)) continue;
    vars[name] = std::string(var.substr(eq + 1));
  }
  // Sorted, so that when two keys map to one name the result does not depend on map order.
  const std::map<std::string, std::string> tags(spec.tags().begin(), spec.tags().end());
  for (const auto& [key, value] : tags) vars[TagVariable(key)] = value;
  vars["INFRAKIT_INSTANCE_ID"] = id;
  vars["INFRAKIT_LOGICAL_ID"] = spec.logical_id();
  auto group = spec.tags().find(spec::kGroupTag);
  vars["INFRAKIT_GROUP"] = group == spec.tags().end() ? "" : group->second;
  vars["INFRAKIT_INSTANCE_DIR"] = instance_dir;
  // What a shell started there exports (dash replaces an inherited PWD that does not name its
  // working directory): the same whether or not a shell starts the instance.
  vars["PWD"] = working_dir;
  for (const auto& [name, value] : properties.env) vars[name] = value;
  std::vector<std::string> env;
  env.reserve(vars.size());
  for (const auto& [name, value] : vars) env.push_back(absl::StrCat(name, "=", value));
  return env;
}

// The program of an instance (see properties.h) and its arguments, into `launch` (whose env
// and working_dir are set).
void SetProgram(const std::string& init_path, const std::string& init,
                const ProcessProperties& properties, LaunchSpec* launch) {
  if (properties.command.empty()) {
    launch->argv = {kShell, init_path};
    return;
  }
  if (!absl::StripAsciiWhitespace(init).empty()) {
    // The init script first, in a child shell; on success this shell becomes the command, so
    // the instance's pid stays the same.
    launch->argv = {kShell,
                    "-c",
                    "/bin/sh \"$1\" || exit $?; exec /bin/sh -c \"$2\"",
                    "infrakit-instance",
                    init_path,
                    properties.command};
    return;
  }
  // An init script of blanks does nothing and succeeds: the command runs at once, without a
  // shell to run it first (a fork and two execs fewer per instance), and when the shell would
  // only look its program up and exec it, without a shell at all (simple_command.h). Should the
  // program then fail to start, the shell runs the command after all and says why.
  launch->argv = {kShell, "-c", properties.command};
  std::optional<std::vector<std::string>> words = SplitSimpleCommand(properties.command);
  if (!words.has_value()) return;
  absl::string_view path = kShellDefaultPath;
  for (const std::string& var : launch->env) {
    if (absl::StartsWith(var, "PATH=")) path = absl::string_view(var).substr(5);
  }
  std::optional<std::string> program = FindProgram(words->front(), path, launch->working_dir);
  if (!program.has_value()) return;
  launch->fallback_argv = std::move(launch->argv);
  launch->program = *std::move(program);
  launch->argv = *std::move(words);
}

void SetNumber(google::protobuf::Struct* s, const std::string& key, double value) {
  (*s->mutable_fields())[key].set_number_value(value);
}

void SetString(google::protobuf::Struct* s, const std::string& key, const std::string& value) {
  (*s->mutable_fields())[key].set_string_value(value);
}

// The identity recorded in a description's runtime properties; pid 0 when absent.
ProcessIdentity RecordedProcess(const v1::Description& desc) {
  ProcessIdentity process;
  const auto& fields = desc.properties().fields();
  auto pid = fields.find("Pid");
  auto start = fields.find("StartTime");
  if (pid == fields.end() || start == fields.end() ||
      pid->second.kind_case() != google::protobuf::Value::kNumberValue ||
      !absl::SimpleAtoi(start->second.string_value(), &process.start_time)) {
    return ProcessIdentity();
  }
  process.pid = static_cast<pid_t>(pid->second.number_value());
  return process;
}

// The boot recorded in a description's runtime properties; empty when absent (records of
// versions before it was recorded).
std::string RecordedBoot(const v1::Description& desc) {
  const auto& fields = desc.properties().fields();
  auto boot = fields.find("BootId");
  return boot == fields.end() ? "" : boot->second.string_value();
}

// "instance-123" -> 123; 0 when the name is not an instance ID.
int64_t IdNumber(absl::string_view name) {
  int64_t number = 0;
  if (!absl::ConsumePrefix(&name, kIdPrefix) || name.empty() ||
      !std::all_of(name.begin(), name.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(name, &number)) {
    return 0;
  }
  return number;
}

// The plugin killed after a Provision started the instance's process and before it recorded
// it in instance.json leaves that process running, named by no state: nothing would ever stop
// it, and the group would create its replacement beside it (a second process of a logical ID).
// Its environment names the instance's directory; it is killed with its process group (it leads
// one) and whatever else carries that environment (descendants that left the group).
void KillUnrecorded(const std::string& instance_dir) {
  for (pid_t pid :
       ProcessesWithEnvironmentEntry(absl::StrCat("INFRAKIT_INSTANCE_DIR=", instance_dir))) {
    LOG(WARNING) << "instance-process: killing pid " << pid << " of the unrecorded instance "
                 << instance_dir;
    absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
    if (stat.ok() && stat->pgrp == pid) kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
}

// How an instance's process starts (see process_plugin.h): its working directory checked, its
// init script written when it runs, its environment and program. INVALID_ARGUMENT for a Dir
// that is not a directory, INTERNAL when init.sh cannot be written.
absl::StatusOr<LaunchSpec> PrepareLaunch(const std::string& id, const std::string& instance_dir,
                                         const v1::Spec& spec,
                                         const ProcessProperties& properties) {
  std::string working_dir = instance_dir;
  if (!properties.dir.empty()) {
    working_dir = (fs::path(instance_dir) / properties.dir).string();  // Absolute Dir replaces.
    struct stat st;
    if (stat(working_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("properties.Dir: ", working_dir, " is not a directory"));
    }
  }
  const std::string init_path = absl::StrCat(instance_dir, "/", kInitFile);
  // With a Command, an init script of blanks is not run (SetProgram): no file for it.
  const bool runs_init =
      properties.command.empty() || !absl::StripAsciiWhitespace(spec.init()).empty();
  if (runs_init) {
    if (absl::Status written = WriteNewFile(init_path, spec.init()); !written.ok()) {
      return written;
    }
  }
  LaunchSpec launch;
  launch.env = BuildEnvironment(id, instance_dir, working_dir, spec, properties);
  launch.working_dir = working_dir;
  launch.log_path = absl::StrCat(instance_dir, "/", kLogFile);
  SetProgram(init_path, spec.init(), properties, &launch);
  return launch;
}

// The full description of an instance whose process started: spec, tags and the runtime
// properties (an empty `boot_id` is not recorded).
v1::Description StartedDescription(const std::string& id, const v1::Spec& spec,
                                   const ProcessIdentity& process, const std::string& instance_dir,
                                   const LaunchSpec& launch, const std::string& boot_id) {
  v1::Description desc;
  desc.set_id(id);
  desc.set_logical_id(spec.logical_id());
  *desc.mutable_tags() = spec.tags();
  desc.set_state(v1::LIFECYCLE_STATE_RUNNING);
  *desc.mutable_spec() = spec;
  google::protobuf::Struct* runtime = desc.mutable_properties();
  SetNumber(runtime, "Pid", process.pid);
  SetString(runtime, "StartTime", absl::StrCat(process.start_time));
  SetString(runtime, "InstanceDir", instance_dir);
  SetString(runtime, "LogFile", launch.log_path);
  SetString(runtime, "WorkingDir", launch.working_dir);
  if (!boot_id.empty()) SetString(runtime, "BootId", boot_id);
  return desc;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessPlugin>> ProcessPlugin::Create(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
  const fs::path absolute = fs::absolute(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("resolving ", dir, ": ", ec.message()));
  std::unique_ptr<ProcessPlugin> plugin(new ProcessPlugin(absolute.lexically_normal().string()));
  // Without it (no /proc/sys), records carry no boot and are checked by pid and start time only.
  absl::StatusOr<std::string> boot_id = ReadBootId();
  if (boot_id.ok()) {
    plugin->boot_id_ = *std::move(boot_id);
  } else {
    LOG(WARNING) << "instance-process: " << boot_id.status().message()
                 << "; instances are recorded without the boot they run in";
  }
  ProcessPlugin* self = plugin.get();
  absl::StatusOr<std::unique_ptr<Supervisor>> supervisor = Supervisor::Create(
      [self](const std::string& id, const ExitStatus& status) { self->OnExit(id, status); });
  if (!supervisor.ok()) return supervisor.status();
  plugin->supervisor_ = std::move(*supervisor);
  if (absl::Status loaded = plugin->Load(); !loaded.ok()) return loaded;
  return plugin;
}

ProcessPlugin::ProcessPlugin(std::string dir)
    : dir_(std::move(dir)),
      fanout_(std::make_unique<WatchFanout>(WatchFanout::Delivery::kDispatcherThread)) {
  // A trailing slash from lexically_normal ("/tmp/x/") would double in paths.
  if (dir_.size() > 1 && dir_.back() == '/') const_cast<std::string&>(dir_).pop_back();
}

ProcessPlugin::~ProcessPlugin() {
  // First no more exit callbacks (they use the supervisor, the fan-out and the books), then no
  // more watches. Shutdown, not reset: a callback under way may still call supervisor_.
  if (supervisor_ != nullptr) supervisor_->Shutdown();
  supervisor_.reset();
  fanout_->Shutdown(absl::UnavailableError("instance-process plugin stopping"));
  fanout_.reset();
}

std::string ProcessPlugin::InstanceDir(const std::string& id) const {
  return absl::StrCat(dir_, "/", id);
}

std::string ProcessPlugin::NextIdLocked() {
  last_id_number_ = std::max(last_id_number_ + 1, absl::ToUnixMicros(absl::Now()));
  return absl::StrCat(kIdPrefix, last_id_number_);
}

absl::Status ProcessPlugin::Load() {
  std::error_code ec;
  std::vector<std::string> ids;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (IdNumber(name) == 0 || !it->is_directory(type_ec)) continue;
    ids.push_back(name);
  }
  if (ec) return absl::InternalError(absl::StrCat("reading ", dir_, ": ", ec.message()));
  std::sort(ids.begin(), ids.end());
  int adopted = 0;
  for (const std::string& id : ids) {
    {
      absl::MutexLock lock(&mu_);
      last_id_number_ = std::max(last_id_number_, IdNumber(id));
    }
    const std::string instance_dir = InstanceDir(id);
    absl::StatusOr<v1::Description> desc = LoadState(instance_dir);
    const ProcessIdentity process = desc.ok() ? RecordedProcess(*desc) : ProcessIdentity();
    const std::string boot = desc.ok() ? RecordedBoot(*desc) : "";
    if (desc.ok() && desc->id() == id && !boot.empty() && !boot_id_.empty() && boot != boot_id_) {
      // Started before the machine last booted: the process is gone, and its pid and process
      // group id may be anything's now, so nothing is signalled.
      LOG(INFO) << "instance-process: instance " << id << " ran before the machine's last boot ("
                << boot << "); deleting it";
      fs::remove_all(instance_dir, ec);
      continue;
    }
    if (!desc.ok() || desc->id() != id || process.pid <= 0) {
      // A Provision interrupted before its process was recorded.
      LOG(WARNING) << "instance-process: " << instance_dir
                   << " holds no usable state; deleting it ("
                   << (desc.ok() ? "no process recorded" : desc.status().ToString()) << ")";
      KillUnrecorded(instance_dir);
      fs::remove_all(instance_dir, ec);
      continue;
    }
    auto instance = std::make_shared<Instance>();
    instance->desc = std::move(*desc);
    instance->desc.set_state(v1::LIFECYCLE_STATE_RUNNING);
    instance->process = process;
    // Checked when provisioned; an edited file falls back to the defaults.
    absl::StatusOr<ProcessProperties> properties =
        ParseProcessProperties(instance->desc.spec().properties());
    if (properties.ok()) {
      instance->stop_signal = properties->stop_signal;
      instance->stop_grace = properties->stop_grace;
    }
    {
      absl::MutexLock lock(&mu_);
      instances_[id] = instance;
    }
    absl::StatusOr<bool> alive = supervisor_->Adopt(id, process);
    if (!alive.ok()) return alive.status();
    if (!*alive) {
      LOG(INFO) << "instance-process: instance " << id << " (pid " << process.pid
                << ") died while the plugin was not running; deleting it";
      {
        absl::MutexLock lock(&mu_);
        instance->removed = true;
        instances_.erase(id);
      }
      fs::remove_all(instance_dir, ec);
      continue;
    }
    ++adopted;
    FinishStart(instance);
  }
  LOG(INFO) << "instance-process: " << adopted << " living instance(s) re-adopted in " << dir_;
  return absl::OkStatus();
}

void ProcessPlugin::FinishStart(const std::shared_ptr<Instance>& instance) {
  {
    absl::MutexLock lock(&mu_);
    instance->started = true;
    const std::string& key = instance->desc.spec().idempotency_key();
    if (!key.empty()) {
      ids_by_key_[key] = instance->desc.id();
      pending_keys_.erase(key);
    }
    fanout_->Publish(nullptr, &instance->desc);
    if (!instance->exited) return;
    // Died before anyone could see it: it lived, briefly; say so.
    instance->destroying = true;
    EraseLocked(instance);
  }
  LOG(WARNING) << "instance-process: instance " << instance->desc.id() << " "
               << instance->exit_status.ToString() << " at once";
  CleanUp(instance);
}

void ProcessPlugin::OnExit(const std::string& id, const ExitStatus& status) {
  std::shared_ptr<Instance> instance;
  std::string log_path;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return;
    instance = it->second;
    if (!instance->started || instance->destroying) {
      // Its Provision or Destroy finishes the job.
      instance->exited = true;
      instance->exit_status = status;
      return;
    }
    instance->destroying = true;
    EraseLocked(instance);
  }
  const std::string tail = Tail(absl::StrCat(InstanceDir(id), "/", kLogFile), kLogTailBytes);
  LOG(WARNING) << "instance-process: instance " << id << " (pid " << instance->process.pid << ") "
               << status.ToString() << "; removed. Last output:\n"
               << tail;
  CleanUp(instance);
}

void ProcessPlugin::EraseLocked(const std::shared_ptr<Instance>& instance) {
  const std::string& id = instance->desc.id();
  instance->removed = true;
  instances_.erase(id);
  const std::string& key = instance->desc.spec().idempotency_key();
  auto key_it = ids_by_key_.find(key);
  if (!key.empty() && key_it != ids_by_key_.end() && key_it->second == id) {
    ids_by_key_.erase(key_it);
  }
  fanout_->Publish(&instance->desc, nullptr);
}

void ProcessPlugin::CleanUp(const std::shared_ptr<Instance>& instance) {
  supervisor_->Release(instance->desc.id());
  absl::MutexLock io_lock(&instance->io_mu);
  std::error_code ec;
  fs::remove_all(InstanceDir(instance->desc.id()), ec);
  if (ec) {
    LOG(WARNING) << "instance-process: cannot delete " << InstanceDir(instance->desc.id()) << ": "
                 << ec.message();
  }
}

absl::Status ProcessPlugin::Validate(const v1::ValidateRequest& request) {
  return ParseProcessProperties(request.properties()).status();
}

std::optional<std::string> ProcessPlugin::ClaimKey(const std::string& key) {
  if (key.empty()) return std::nullopt;
  absl::MutexLock lock(&mu_);
  auto settled = [this, &key]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !pending_keys_.contains(key); };
  mu_.Await(absl::Condition(&settled));
  auto existing = ids_by_key_.find(key);
  if (existing != ids_by_key_.end()) return existing->second;
  pending_keys_.insert(key);
  return std::nullopt;
}

absl::StatusOr<std::string> ProcessPlugin::MakeInstanceDir() {
  for (;;) {
    std::string id;
    {
      absl::MutexLock lock(&mu_);
      id = NextIdLocked();
    }
    const std::string instance_dir = InstanceDir(id);
    if (mkdir(instance_dir.c_str(), 0700) == 0) return id;
    // EEXIST: a directory some other process made; take the next number.
    if (errno != EEXIST) {
      return absl::InternalError(absl::StrCat("creating ", instance_dir, ": ", Errno()));
    }
  }
}

absl::StatusOr<v1::ProvisionResponse> ProcessPlugin::Provision(
    const v1::ProvisionRequest& request) {
  const v1::Spec& spec = request.spec();
  absl::StatusOr<ProcessProperties> properties = ParseProcessProperties(spec.properties());
  if (!properties.ok()) return properties.status();
  for (const auto& [key, value] : spec.tags()) {
    if (key.empty()) return absl::InvalidArgumentError("spec.tags: empty tag key");
  }
  const std::string& key = spec.idempotency_key();
  if (std::optional<std::string> existing = ClaimKey(key); existing.has_value()) {
    v1::ProvisionResponse response;
    response.set_id(*existing);
    response.set_created(false);
    return response;
  }
  // From here on, a failure must release the key for the next attempt.
  auto fail = [this, &key](absl::Status status) {
    if (!key.empty()) {
      absl::MutexLock lock(&mu_);
      pending_keys_.erase(key);
    }
    return status;
  };

  absl::StatusOr<std::string> made = MakeInstanceDir();
  if (!made.ok()) return fail(made.status());
  const std::string id = *std::move(made);
  const std::string instance_dir = InstanceDir(id);
  std::error_code ec;
  auto remove_dir = [&instance_dir, &ec] { fs::remove_all(instance_dir, ec); };
  absl::StatusOr<LaunchSpec> launch = PrepareLaunch(id, instance_dir, spec, *properties);
  if (!launch.ok()) {
    remove_dir();
    return fail(launch.status());
  }

  auto instance = std::make_shared<Instance>();
  instance->stop_signal = properties->stop_signal;
  instance->stop_grace = properties->stop_grace;
  {
    absl::MutexLock lock(&mu_);
    instance->desc.set_id(id);
    instances_[id] = instance;  // Not started: invisible, but its exit can be recorded.
  }
  absl::StatusOr<ProcessIdentity> process = supervisor_->Start(id, *launch);
  if (!process.ok()) {
    {
      absl::MutexLock lock(&mu_);
      instances_.erase(id);
    }
    remove_dir();
    return fail(process.status());
  }

  v1::Description desc = StartedDescription(id, spec, *process, instance_dir, *launch, boot_id_);
  if (absl::Status saved = SaveState(instance_dir, desc, /*replace=*/false); !saved.ok()) {
    // Unrecorded, the process could not be re-adopted: it must not run.
    supervisor_->Stop(id, SIGKILL, absl::ZeroDuration()).IgnoreError();
    supervisor_->Release(id);
    {
      absl::MutexLock lock(&mu_);
      instances_.erase(id);
    }
    remove_dir();
    return fail(saved);
  }
  {
    absl::MutexLock lock(&mu_);
    instance->desc = std::move(desc);
    instance->process = *process;
  }
  LOG(INFO) << "instance-process: provisioned " << id << " (pid " << process->pid
            << (spec.logical_id().empty() ? "" : ", logical ID ") << spec.logical_id() << ")";
  FinishStart(instance);
  v1::ProvisionResponse response;
  response.set_id(id);
  response.set_created(true);
  return response;
}

absl::Status ProcessPlugin::Destroy(const v1::DestroyRequest& request) {
  const std::string& id = request.id();
  std::shared_ptr<Instance> instance;
  int stop_signal;
  absl::Duration stop_grace;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end() || !it->second->started) {
      return absl::NotFoundError(absl::StrCat("no instance ", id));
    }
    instance = it->second;
    while (instance->destroying) {
      Instance* raw = instance.get();
      auto settled = [raw]() { return raw->removed || !raw->destroying; };
      mu_.Await(absl::Condition(&settled));
      if (instance->removed) return absl::OkStatus();
    }
    instance->destroying = true;
    const v1::Description before = instance->desc;
    instance->desc.set_state(v1::LIFECYCLE_STATE_TERMINATING);
    fanout_->Publish(&before, &instance->desc);
    stop_signal = instance->stop_signal;
    stop_grace = instance->stop_grace;
  }
  LOG(INFO) << "instance-process: destroying " << id << " ("
            << v1::DestroyReason_Name(request.reason()) << ")";
  absl::Status stopped = supervisor_->Stop(id, stop_signal, stop_grace);
  {
    absl::MutexLock lock(&mu_);
    if (!stopped.ok() && !instance->exited) {
      // Still there: it stays, running as far as we can tell.
      instance->destroying = false;
      const v1::Description before = instance->desc;
      instance->desc.set_state(v1::LIFECYCLE_STATE_RUNNING);
      fanout_->Publish(&before, &instance->desc);
      return absl::Status(stopped.code(), absl::StrCat("destroying ", id, ": ", stopped.message()));
    }
    EraseLocked(instance);
  }
  CleanUp(instance);
  return absl::OkStatus();
}

absl::StatusOr<v1::DescribeResponse> ProcessPlugin::Describe(const v1::DescribeRequest& request) {
  v1::DescribeResponse response;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, instance] : instances_) {
    if (!instance->started || !TagsMatch(request.tags(), instance->desc.tags())) continue;
    *response.add_instances() = View(instance->desc, request.include_properties());
  }
  return response;
}

absl::StatusOr<v1::LabelResponse> ProcessPlugin::Label(const v1::LabelRequest& request) {
  for (const auto& [key, value] : request.labels()) {
    if (key.empty()) return absl::InvalidArgumentError("labels: empty tag key");
  }
  const std::string& id = request.id();
  std::shared_ptr<Instance> instance;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end() || !it->second->started) {
      return absl::NotFoundError(absl::StrCat("no instance ", id));
    }
    instance = it->second;
  }
  // Labels of one instance are saved one at a time, and never into a deleted directory.
  absl::MutexLock io_lock(&instance->io_mu);
  v1::Description updated;
  {
    absl::MutexLock lock(&mu_);
    if (instance->removed) return absl::NotFoundError(absl::StrCat("no instance ", id));
    updated = instance->desc;
  }
  bool changed = false;
  for (const auto& [key, value] : request.labels()) {
    auto it = updated.tags().find(key);
    if (it != updated.tags().end() && it->second == value) continue;
    (*updated.mutable_tags())[key] = value;
    changed = true;
  }
  if (changed) {
    if (absl::Status saved = SaveState(InstanceDir(id), updated, /*replace=*/true); !saved.ok()) {
      return saved;
    }
  }
  v1::LabelResponse response;
  {
    absl::MutexLock lock(&mu_);
    if (instance->removed) return absl::NotFoundError(absl::StrCat("no instance ", id));
    if (changed) {
      const v1::Description before = instance->desc;
      *instance->desc.mutable_tags() = updated.tags();
      fanout_->Publish(&before, &instance->desc);
    }
    *response.mutable_instance() = View(instance->desc, /*include_properties=*/false);
  }
  return response;
}

absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> ProcessPlugin::Watch(
    const v1::WatchRequest& request, spi::instance::WatchSink* sink) {
  absl::MutexLock lock(&mu_);
  std::vector<const v1::Description*> current;
  current.reserve(instances_.size());
  for (const auto& [id, instance] : instances_) {
    if (instance->started) current.push_back(&instance->desc);
  }
  return fanout_->Subscribe(request, sink, current);
}

}  // namespace infrakit::plugins::instance::process
