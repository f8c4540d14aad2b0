#include "plugins/instance/vagrant/vagrant_plugin.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/atomic_file.h"
#include "glog/logging.h"
#include "google/protobuf/util/json_util.h"
#include "plugins/instance/vagrant/properties.h"
#include "plugins/instance/vagrant/vagrantfile.h"
#include "spec/tags.h"
#include "spi/item_status.h"

namespace infrakit::plugins::instance::vagrant {

namespace fs = std::filesystem;

struct VagrantPlugin::Instance {
  // One vagrant command at a time in the directory: held while it runs.
  absl::Mutex action_mu;
  // Serializes writes of instance.json with the deletion of the directory.
  absl::Mutex io_mu;
  bool dir_deleted ABSL_GUARDED_BY(io_mu) = false;
  // Set before the instance is shared, then constant.
  std::string dir;
  std::string provider;
  // Its container is watched (docker provider, labelled by the Vagrantfile).
  bool watched = false;

  // The fields below are guarded by VagrantPlugin::mu_.
  // The full description: spec and runtime properties included.
  v1::Description desc;
  // False while being provisioned: not listed, not watchable, not destroyable yet.
  bool visible = false;
  // A Destroy or a failure owns the instance: no other action starts.
  bool destroying = false;
  // Erased from the books.
  bool removed = false;
  // Its container stopped or vanished while its `vagrant up` ran.
  bool gone = false;
  // When it became RUNNING: a container listing older than that proves nothing.
  absl::Time running_since = absl::InfiniteFuture();
};

namespace {

constexpr char kIdPrefix[] = "instance-";
constexpr char kStateFile[] = "instance.json";
constexpr char kInitFile[] = "init.sh";
constexpr char kVagrantfile[] = "Vagrantfile";
// Present while the instance's machine is being destroyed for good.
constexpr char kDestroyingMarker[] = "destroying";
// How much of vagrant's output an error carries.
constexpr size_t kErrorBytes = 1500;

absl::Status WriteFile(const std::string& path, const std::string& content) {
  absl::Status written = common::WriteFileAtomically(path, content, 0600, /*sync_directory=*/false);
  if (written.ok()) return written;
  return absl::InternalError(written.message());
}

absl::Status SaveState(const std::string& instance_dir, const v1::Description& desc) {
  v1::Description record = desc;
  record.clear_state();       // Runtime only,
  record.clear_properties();  // like the runtime properties.
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (auto status = google::protobuf::util::MessageToJsonString(record, &json, options);
      !status.ok()) {
    return absl::InternalError(
        absl::StrCat("encoding the state of ", desc.id(), ": ", status.message().as_string()));
  }
  return WriteFile(absl::StrCat(instance_dir, "/", kStateFile), json);
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

void SetString(v1::Description* desc, const std::string& key, const std::string& value) {
  auto* fields = desc->mutable_properties()->mutable_fields();
  if (value.empty()) {
    fields->erase(key);
  } else {
    (*fields)[key].set_string_value(value);
  }
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

// What went wrong, from a failed command: its last lines.
std::string ErrorText(const absl::StatusOr<CommandResult>& result) {
  if (!result.ok()) return std::string(result.status().message());
  std::vector<absl::string_view> lines;
  for (absl::string_view line : absl::StrSplit(result->output, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) lines.push_back(line);
  }
  std::string text = absl::StrCat("exit code ", result->exit_code, ": ");
  const size_t first = lines.size() > 12 ? lines.size() - 12 : 0;
  std::string tail = absl::StrJoin(lines.begin() + first, lines.end(), "\n");
  if (tail.size() > kErrorBytes) tail = tail.substr(tail.size() - kErrorBytes);
  return text + tail;
}

bool Succeeded(const absl::StatusOr<CommandResult>& result) {
  return result.ok() && result->exit_code == 0;
}

// The machine state in `vagrant status --machine-readable` output ("running", "not_created",
// ...), "" when there is none.
std::string MachineState(const std::string& output) {
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (fields.size() >= 4 && fields[2] == "state") {
      return std::string(absl::StripAsciiWhitespace(fields[3]));
    }
  }
  return "";
}

void WriteMarker(const std::string& dir) {
  absl::Status written = WriteFile(absl::StrCat(dir, "/", kDestroyingMarker), "");
  if (!written.ok()) LOG(WARNING) << "instance-vagrant: " << written;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VagrantPlugin>> VagrantPlugin::Create(Options options) {
  if (options.max_parallel < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_parallel must be at least 1, got ", options.max_parallel));
  }
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", options.dir, ": ", ec.message()));
  const fs::path absolute = fs::absolute(options.dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("resolving ", options.dir, ": ", ec.message()));
  options.dir = absolute.lexically_normal().string();
  // A trailing slash from lexically_normal ("/tmp/x/") would double in paths.
  if (options.dir.size() > 1 && options.dir.back() == '/') options.dir.pop_back();
  std::unique_ptr<VagrantPlugin> plugin(new VagrantPlugin(std::move(options)));
  if (absl::Status loaded = plugin->Load(); !loaded.ok()) return loaded;
  if (plugin->options_.watch_docker) {
    VagrantPlugin* self = plugin.get();
    DockerWatcher::Options watcher;
    watcher.docker = plugin->options_.docker;
    watcher.env = plugin->env_;
    plugin->watcher_ = std::make_unique<DockerWatcher>(
        watcher, [self](const std::string& id) { self->OnGone(id); },
        [self](const absl::flat_hash_set<std::string>& running, absl::Time taken_at) {
          self->OnListing(running, taken_at);
        });
    plugin->watcher_->Start();
  }
  return plugin;
}

VagrantPlugin::VagrantPlugin(Options options)
    : options_(std::move(options)),
      free_slots_(options_.max_parallel),
      fanout_(std::make_unique<WatchFanout>(WatchFanout::Delivery::kDispatcherThread)),
      workers_(std::make_unique<common::WorkerPool>(options_.max_parallel, 1 << 16)) {
  std::map<std::string, std::string> overrides = {{"VAGRANT_CHECKPOINT_DISABLE", "1"}};
  if (!options_.docker_host.empty()) overrides["DOCKER_HOST"] = options_.docker_host;
  env_ = EnvironmentWith(overrides);
}

VagrantPlugin::~VagrantPlugin() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // No more container events, then no more vagrant commands (the queued ones see stopping_),
  // then no more watches.
  watcher_.reset();
  workers_.reset();
  fanout_->Shutdown(absl::UnavailableError("instance-vagrant plugin stopping"));
  fanout_.reset();
}

std::string VagrantPlugin::InstanceDir(const std::string& id) const {
  return absl::StrCat(options_.dir, "/", id);
}

std::string VagrantPlugin::NextIdLocked() {
  last_id_number_ = std::max(last_id_number_ + 1, absl::ToUnixMicros(absl::Now()));
  return absl::StrCat(kIdPrefix, last_id_number_);
}

std::string VagrantPlugin::MachineId(const Instance& instance) const {
  absl::StatusOr<std::string> id = common::ReadFile(
      absl::StrCat(instance.dir, "/.vagrant/machines/default/", instance.provider, "/id"));
  if (!id.ok()) return "";
  return std::string(absl::StripAsciiWhitespace(*id));
}

void VagrantPlugin::Submit(std::function<void()> task) {
  workers_->SubmitAlways([this, task = std::move(task)] {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;  // Resumed by the next plugin over the directory.
    }
    task();
  });
}

absl::StatusOr<CommandResult> VagrantPlugin::RunVagrant(const Instance& instance,
                                                        std::vector<std::string> args) {
  {
    absl::MutexLock lock(&slots_mu_);
    auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(slots_mu_) { return free_slots_ > 0; };
    slots_mu_.Await(absl::Condition(&free));
    --free_slots_;
  }
  args.insert(args.begin(), options_.vagrant);
  args.push_back("--no-color");
  const absl::Time start = absl::Now();
  absl::StatusOr<CommandResult> result = RunCommand(args, instance.dir, env_);
  VLOG(1) << "instance-vagrant: " << absl::StrJoin(args, " ") << " in " << instance.dir << ": "
          << (result.ok() ? absl::StrCat("exit ", result->exit_code) : result.status().ToString())
          << " after " << absl::Now() - start;
  {
    absl::MutexLock lock(&slots_mu_);
    ++free_slots_;
  }
  return result;
}

absl::Status VagrantPlugin::Load() {
  std::error_code ec;
  std::vector<std::string> ids;
  for (fs::directory_iterator it(options_.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (IdNumber(name) == 0 || !it->is_directory(type_ec)) continue;
    ids.push_back(name);
  }
  if (ec) return absl::InternalError(absl::StrCat("reading ", options_.dir, ": ", ec.message()));
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) LoadOne(id);
  absl::MutexLock lock(&mu_);
  LOG(INFO) << "instance-vagrant: " << instances_.size() << " instance(s) re-adopted in "
            << options_.dir;
  return absl::OkStatus();
}

void VagrantPlugin::LoadOne(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    last_id_number_ = std::max(last_id_number_, IdNumber(id));
  }
  auto instance = std::make_shared<Instance>();
  instance->dir = InstanceDir(id);
  absl::StatusOr<v1::Description> desc = LoadState(instance->dir);
  std::error_code ec;
  if (!desc.ok() || desc->id() != id) {
    // A Provision interrupted before its state was written: no vagrant command ran there.
    LOG(WARNING) << "instance-vagrant: " << instance->dir << " holds no usable state; deleting it ("
                 << (desc.ok() ? "another ID" : desc.status().ToString()) << ")";
    fs::remove_all(instance->dir, ec);
    return;
  }
  absl::StatusOr<VagrantProperties> properties = ParseVagrantProperties(desc->spec().properties());
  instance->provider = properties.ok() ? properties->provider : "docker";
  instance->watched = properties.ok() && properties->provider == "docker" &&
                      (properties->template_text.empty() ||
                       absl::StrContains(properties->template_text, "{{.CreateArgs}}"));
  instance->desc = *std::move(desc);
  if (fs::exists(absl::StrCat(instance->dir, "/", kDestroyingMarker), ec)) {
    LOG(INFO) << "instance-vagrant: finishing the destruction of " << id;
    Submit([this, instance] { Reap(instance); });
    return;
  }
  const std::string machine = MachineId(*instance);
  const bool running = !machine.empty() && machine != "preparing";
  SetString(&instance->desc, "InstanceDir", instance->dir);
  SetString(&instance->desc, "Provider", instance->provider);
  if (running) SetString(&instance->desc, "ContainerID", machine);
  absl::MutexLock lock(&mu_);
  instance->running_since = running ? absl::Now() : absl::InfiniteFuture();
  instances_[id] = instance;
  const std::string& key = instance->desc.spec().idempotency_key();
  if (!key.empty()) ids_by_key_[key] = id;
  SetStateLocked(instance, running ? v1::LIFECYCLE_STATE_RUNNING : v1::LIFECYCLE_STATE_PENDING,
                 running ? "running" : "pending", "");
  instance->visible = true;
  fanout_->Publish(nullptr, &instance->desc);
  Submit([this, instance] { Adopt(instance); });
}

void VagrantPlugin::SetStateLocked(const InstancePtr& instance, v1::LifecycleState state,
                                   const std::string& vagrant_state, const std::string& error) {
  const v1::Description before = instance->desc;
  instance->desc.set_state(state);
  SetString(&instance->desc, "VagrantState", vagrant_state);
  SetString(&instance->desc, "Error", error);
  if (instance->visible) fanout_->Publish(&before, &instance->desc);
}

void VagrantPlugin::EraseLocked(const InstancePtr& instance) {
  const std::string& id = instance->desc.id();
  instance->removed = true;
  instances_.erase(id);
  const std::string& key = instance->desc.spec().idempotency_key();
  auto key_it = ids_by_key_.find(key);
  if (!key.empty() && key_it != ids_by_key_.end() && key_it->second == id) {
    ids_by_key_.erase(key_it);
  }
  if (instance->visible) fanout_->Publish(&instance->desc, nullptr);
}

absl::Status VagrantPlugin::DestroyMachine(const InstancePtr& instance) {
  std::error_code ec;
  // No vagrant command ever ran there (an instance destroyed before its `vagrant up`).
  if (fs::exists(absl::StrCat(instance->dir, "/.vagrant"), ec)) {
    absl::StatusOr<CommandResult> destroyed = RunVagrant(*instance, {"destroy", "-f"});
    if (!Succeeded(destroyed)) {
      return absl::InternalError(
          absl::StrCat("vagrant destroy -f in ", instance->dir, " failed, ", ErrorText(destroyed)));
    }
  }
  absl::MutexLock io_lock(&instance->io_mu);
  instance->dir_deleted = true;
  fs::remove_all(instance->dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("deleting ", instance->dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

void VagrantPlugin::Reap(const InstancePtr& instance) {
  absl::MutexLock action(&instance->action_mu);
  absl::Status destroyed = DestroyMachine(instance);
  if (!destroyed.ok()) {
    LOG(WARNING) << "instance-vagrant: " << destroyed << " (the next start retries)";
  }
}

void VagrantPlugin::Fail(const InstancePtr& instance, const std::string& error) {
  {
    absl::MutexLock lock(&mu_);
    if (instance->destroying || instance->removed) return;
    instance->destroying = true;
    SetStateLocked(instance, v1::LIFECYCLE_STATE_TERMINATING, "failed", error);
  }
  LOG(WARNING) << "instance-vagrant: instance " << instance->desc.id() << " failed: " << error;
  WriteMarker(instance->dir);
  absl::Status destroyed = DestroyMachine(instance);
  if (!destroyed.ok()) {
    LOG(WARNING) << "instance-vagrant: " << destroyed << " (the next start retries)";
  }
  absl::MutexLock lock(&mu_);
  EraseLocked(instance);
}

void VagrantPlugin::Up(const InstancePtr& instance) {
  absl::MutexLock action(&instance->action_mu);
  {
    absl::MutexLock lock(&mu_);
    if (instance->destroying || instance->removed) return;
  }
  absl::StatusOr<CommandResult> up =
      RunVagrant(*instance, {"up", absl::StrCat("--provider=", instance->provider)});
  const std::string machine = MachineId(*instance);
  std::string error;
  {
    absl::MutexLock lock(&mu_);
    if (instance->destroying || instance->removed) return;  // Its Destroy goes on.
    if (!Succeeded(up)) {
      error = absl::StrCat("vagrant up failed, ", ErrorText(up));
    } else if (instance->gone) {
      error = "its container stopped or was removed during vagrant up";
    } else {
      SetString(&instance->desc, "ContainerID", machine);
      instance->running_since = absl::Now();
      SetStateLocked(instance, v1::LIFECYCLE_STATE_RUNNING, "running", "");
      LOG(INFO) << "instance-vagrant: " << instance->desc.id() << " is running";
      return;
    }
  }
  Fail(instance, error);
}

void VagrantPlugin::Adopt(const InstancePtr& instance) {
  bool up = false;
  {
    absl::MutexLock action(&instance->action_mu);
    absl::StatusOr<CommandResult> status = RunVagrant(*instance, {"status", "--machine-readable"});
    const std::string state = Succeeded(status) ? MachineState(status->output) : "";
    if (state.empty()) {
      // Cannot tell: the instance stays as it is (a vagrant that cannot run destroys nothing).
      LOG(WARNING) << "instance-vagrant: vagrant status of " << instance->desc.id() << " failed, "
                   << ErrorText(status);
      return;
    }
    const std::string machine = MachineId(*instance);
    absl::MutexLock lock(&mu_);
    if (instance->destroying || instance->removed) return;
    const bool was_running = instance->desc.state() == v1::LIFECYCLE_STATE_RUNNING;
    if (state == "running") {
      if (!was_running) {
        SetString(&instance->desc, "ContainerID", machine);
        instance->running_since = absl::Now();
        SetStateLocked(instance, v1::LIFECYCLE_STATE_RUNNING, "running", "");
      }
      return;
    }
    up = !was_running && (state == "not_created" || state == "preparing");
  }
  if (up) {
    LOG(INFO) << "instance-vagrant: resuming the vagrant up of " << instance->desc.id();
    Up(instance);
    return;
  }
  absl::MutexLock action(&instance->action_mu);
  Fail(instance, "its machine stopped or vanished while the plugin was not running");
}

void VagrantPlugin::OnGone(const std::string& id) {
  InstancePtr instance;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return;
    instance = it->second;
    if (!instance->visible || instance->destroying || instance->removed) return;
    if (instance->desc.state() != v1::LIFECYCLE_STATE_RUNNING) {
      instance->gone = true;  // Its vagrant up reports it.
      return;
    }
    instance->destroying = true;
  }
  LOG(WARNING) << "instance-vagrant: the container of " << id
               << " stopped or was removed behind the plugin's back; removing the instance";
  WriteMarker(instance->dir);
  {
    absl::MutexLock lock(&mu_);
    SetString(&instance->desc, "Error", "its container stopped or was removed");
    EraseLocked(instance);
  }
  // The heal need not wait for this.
  Submit([this, instance] { Reap(instance); });
}

void VagrantPlugin::OnListing(const absl::flat_hash_set<std::string>& running,
                              absl::Time taken_at) {
  std::vector<std::string> gone;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, instance] : instances_) {
      if (instance->watched && instance->visible && !instance->destroying &&
          instance->desc.state() == v1::LIFECYCLE_STATE_RUNNING &&
          instance->running_since < taken_at && !running.contains(id)) {
        gone.push_back(id);
      }
    }
  }
  for (const std::string& id : gone) OnGone(id);
}

absl::Status VagrantPlugin::Validate(const v1::ValidateRequest& request) {
  return ParseVagrantProperties(request.properties()).status();
}

absl::StatusOr<v1::ProvisionResponse> VagrantPlugin::Provision(
    const v1::ProvisionRequest& request) {
  const v1::Spec& spec = request.spec();
  absl::StatusOr<VagrantProperties> properties = ParseVagrantProperties(spec.properties());
  if (!properties.ok()) return properties.status();
  for (const auto& [key, value] : spec.tags()) {
    if (key.empty()) return absl::InvalidArgumentError("spec.tags: empty tag key");
  }
  const std::string& key = spec.idempotency_key();
  std::string id;
  {
    absl::MutexLock lock(&mu_);
    if (!key.empty()) {
      auto settled = [this, &key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !pending_keys_.contains(key);
      };
      mu_.Await(absl::Condition(&settled));
      auto existing = ids_by_key_.find(key);
      if (existing != ids_by_key_.end()) {
        v1::ProvisionResponse response;
        response.set_id(existing->second);
        response.set_created(false);
        return response;
      }
      pending_keys_.insert(key);
    }
    id = NextIdLocked();
  }
  auto instance = std::make_shared<Instance>();
  instance->dir = InstanceDir(id);
  instance->provider = properties->provider;
  instance->watched = properties->provider == "docker" &&
                      (properties->template_text.empty() ||
                       absl::StrContains(properties->template_text, "{{.CreateArgs}}"));
  instance->desc.set_id(id);
  instance->desc.set_logical_id(spec.logical_id());
  *instance->desc.mutable_tags() = spec.tags();
  *instance->desc.mutable_spec() = spec;
  absl::Status written = WriteInstanceDir(*instance, *properties);
  absl::MutexLock lock(&mu_);
  if (!key.empty()) pending_keys_.erase(key);
  if (!written.ok()) {
    std::error_code ec;
    fs::remove_all(instance->dir, ec);
    return written;
  }
  SetString(&instance->desc, "InstanceDir", instance->dir);
  SetString(&instance->desc, "Provider", instance->provider);
  instances_[id] = instance;
  if (!key.empty()) ids_by_key_[key] = id;
  SetStateLocked(instance, v1::LIFECYCLE_STATE_PENDING, "pending", "");
  instance->visible = true;
  fanout_->Publish(nullptr, &instance->desc);
  Submit([this, instance] { Up(instance); });
  LOG(INFO) << "instance-vagrant: provisioning " << id
            << (spec.logical_id().empty() ? "" : " (logical ID ") << spec.logical_id()
            << (spec.logical_id().empty() ? "" : ")");
  v1::ProvisionResponse response;
  response.set_id(id);
  response.set_created(true);
  return response;
}

absl::Status VagrantPlugin::WriteInstanceDir(const Instance& instance,
                                             const VagrantProperties& properties) {
  if (mkdir(instance.dir.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("creating ", instance.dir, ": ", strerror(errno)));
  }
  const v1::Spec& spec = instance.desc.spec();
  VagrantfileParams params;
  params.template_text = properties.template_text;
  params.id = instance.desc.id();
  params.logical_id = spec.logical_id();
  auto group = spec.tags().find(spec::kGroupTag);
  params.group = group == spec.tags().end() ? "" : group->second;
  params.image = properties.image;
  params.init = spec.init();
  params.command = properties.command;
  params.env = properties.env;
  absl::StatusOr<std::string> vagrantfile = RenderVagrantfile(params);
  if (!vagrantfile.ok()) return vagrantfile.status();
  if (absl::Status s = WriteFile(absl::StrCat(instance.dir, "/", kVagrantfile), *vagrantfile);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFile(absl::StrCat(instance.dir, "/", kInitFile), spec.init());
      !s.ok()) {
    return s;
  }
  // Last: a directory with instance.json is a complete instance.
  return SaveState(instance.dir, instance.desc);
}

absl::StatusOr<v1::BatchDestroyResponse> VagrantPlugin::BatchDestroy(
    const v1::BatchDestroyRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.requests_size(), "requests"); !s.ok()) {
    return s;
  }
  const int n = request.requests_size();
  // Each run writes only its own slot; every thread is joined before the results are read.
  std::vector<absl::Status> results(n);
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      results[i] = Destroy(request.requests(i));
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min(n, options_.max_parallel); ++t) {
    try {
      threads.emplace_back(worker);
    } catch (const std::system_error& e) {
      LOG(WARNING) << "instance-vagrant: cannot start a destroy thread (" << e.what() << ")";
      break;
    }
  }
  worker();
  for (std::thread& thread : threads) thread.join();
  v1::BatchDestroyResponse response;
  for (const absl::Status& status : results) *response.add_results() = spi::ToItemStatus(status);
  return response;
}

absl::Status VagrantPlugin::Destroy(const v1::DestroyRequest& request) {
  const std::string& id = request.id();
  InstancePtr instance;
  v1::LifecycleState state_before;
  std::string vagrant_state_before;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end() || !it->second->visible) {
      return absl::NotFoundError(absl::StrCat("no instance ", id));
    }
    instance = it->second;
    if (instance->destroying) {
      Instance* raw = instance.get();
      auto settled = [raw]() { return raw->removed || !raw->destroying; };
      mu_.Await(absl::Condition(&settled));
      if (instance->removed) return absl::OkStatus();
    }
    instance->destroying = true;
    state_before = instance->desc.state();
    auto vagrant_state = instance->desc.properties().fields().find("VagrantState");
    if (vagrant_state != instance->desc.properties().fields().end()) {
      vagrant_state_before = vagrant_state->second.string_value();
    }
    SetStateLocked(instance, v1::LIFECYCLE_STATE_TERMINATING, "destroying", "");
  }
  LOG(INFO) << "instance-vagrant: destroying " << id << " ("
            << v1::DestroyReason_Name(request.reason()) << ")";
  WriteMarker(instance->dir);
  absl::Status destroyed;
  {
    // After the instance's vagrant up, if one runs.
    absl::MutexLock action(&instance->action_mu);
    destroyed = DestroyMachine(instance);
  }
  absl::MutexLock lock(&mu_);
  if (!destroyed.ok()) {
    std::error_code ec;
    fs::remove(absl::StrCat(instance->dir, "/", kDestroyingMarker), ec);
    instance->destroying = false;
    SetStateLocked(instance, state_before, vagrant_state_before, "");
    return absl::Status(destroyed.code(),
                        absl::StrCat("destroying ", id, ": ", destroyed.message()));
  }
  EraseLocked(instance);
  return absl::OkStatus();
}

absl::StatusOr<v1::DescribeResponse> VagrantPlugin::Describe(const v1::DescribeRequest& request) {
  v1::DescribeResponse response;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, instance] : instances_) {
    if (!instance->visible || !TagsMatch(request.tags(), instance->desc.tags())) continue;
    *response.add_instances() = View(instance->desc, request.include_properties());
  }
  return response;
}

absl::StatusOr<v1::LabelResponse> VagrantPlugin::Label(const v1::LabelRequest& request) {
  for (const auto& [key, value] : request.labels()) {
    if (key.empty()) return absl::InvalidArgumentError("labels: empty tag key");
  }
  const std::string& id = request.id();
  InstancePtr instance;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end() || !it->second->visible) {
      return absl::NotFoundError(absl::StrCat("no instance ", id));
    }
    instance = it->second;
  }
  // Labels of one instance are saved one at a time, and never into a deleted directory.
  absl::MutexLock io_lock(&instance->io_mu);
  v1::Description updated;
  {
    absl::MutexLock lock(&mu_);
    if (instance->removed || instance->dir_deleted) {
      return absl::NotFoundError(absl::StrCat("no instance ", id));
    }
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
    if (absl::Status saved = SaveState(instance->dir, updated); !saved.ok()) return saved;
  }
  v1::LabelResponse response;
  absl::MutexLock lock(&mu_);
  if (instance->removed) return absl::NotFoundError(absl::StrCat("no instance ", id));
  if (changed) {
    const v1::Description before = instance->desc;
    *instance->desc.mutable_tags() = updated.tags();
    fanout_->Publish(&before, &instance->desc);
  }
  *response.mutable_instance() = View(instance->desc, /*include_properties=*/false);
  return response;
}

absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> VagrantPlugin::Watch(
    const v1::WatchRequest& request, spi::instance::WatchSink* sink) {
  absl::MutexLock lock(&mu_);
  std::vector<const v1::Description*> current;
  current.reserve(instances_.size());
  for (const auto& [id, instance] : instances_) {
    if (instance->visible) current.push_back(&instance->desc);
  }
  return fanout_->Subscribe(request, sink, current);
}

}  // namespace infrakit::plugins::instance::vagrant
