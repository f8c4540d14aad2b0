#include "plugins/instance/terraform/terraform_plugin.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/atomic_file.h"
#include "glog/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "plugins/instance/terraform/properties.h"
#include "plugins/instance/terraform/terraform_output.h"
#include "plugins/instance/terraform/tf_file.h"
#include "services/group/real_clock.h"
#include "services/group/thread_pool_executor.h"

namespace infrakit::plugins::instance::terraform {

namespace fs = std::filesystem;

struct TerraformPlugin::Instance {
  // Serializes the writes and the removal of the instance's file, without holding mu_ meanwhile.
  absl::Mutex io_mu;

  // The fields below are guarded by TerraformPlugin::mu_.
  // The full description: spec, state and runtime properties.
  v1::Description desc;
  std::string type;
  // The file is there (not destroyed).
  bool has_file = true;
  // The resource is in Terraform's state, as the last `show` said.
  bool in_state = false;
  google::protobuf::Struct values;
  // Why the last run failed for it; "" when it did not.
  std::string error;
  // Out of the books.
  bool erased = false;
};

struct TerraformPlugin::RunOutcome {
  bool ok = true;
  // The resources by address, when `show` answered.
  std::optional<std::map<std::string, google::protobuf::Struct>> state;
  // Errors of a failed apply by address ("": naming none); `failure` is the whole text.
  std::map<std::string, std::string> errors;
  std::string failure;
};

namespace {

constexpr char kIdPrefix[] = "instance-";

// "instance-123" -> 123; 0 when not an instance ID.
int64_t IdNumber(absl::string_view id) {
  int64_t number = 0;
  if (!absl::ConsumePrefix(&id, kIdPrefix) || !absl::SimpleAtoi(id, &number)) return 0;
  return number;
}

// The end of a long text, for error messages.
std::string Tail(absl::string_view text, size_t max) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() <= max) return std::string(text);
  return absl::StrCat("...", text.substr(text.size() - max));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TerraformPlugin>> TerraformPlugin::Create(
    TerraformPluginOptions options) {
  if (options.runner == nullptr) return absl::InvalidArgumentError("no terraform runner");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", options.dir, ": ", ec.message()));
  const fs::path absolute = fs::absolute(options.dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("resolving ", options.dir, ": ", ec.message()));
  std::string dir = absolute.lexically_normal().string();
  if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  options.dir = dir;
  std::unique_ptr<TerraformPlugin> plugin(new TerraformPlugin(std::move(options)));
  if (absl::Status loaded = plugin->Load(); !loaded.ok()) return loaded;
  return plugin;
}

TerraformPlugin::TerraformPlugin(TerraformPluginOptions options)
    : options_(std::move(options)),
      dir_(options_.dir),
      fanout_(std::make_unique<WatchFanout>(WatchFanout::Delivery::kDispatcherThread)) {
  services::group::Clock* clock = options_.clock;
  if (clock == nullptr) {
    own_clock_ = std::make_unique<services::group::RealClock>();
    clock = own_clock_.get();
  }
  services::group::Executor* executor = options_.executor;
  if (executor == nullptr) {
    own_executor_ = std::make_unique<services::group::ThreadPoolExecutor>(1);
    executor = own_executor_.get();
  }
  loop_ = std::make_unique<ApplyLoop>(clock, executor, options_.loop, [this] { return Run(); });
}

TerraformPlugin::~TerraformPlugin() {
  stopping_ = true;
  options_.runner->Interrupt();
  loop_->Shutdown();
  // A run posted and not started is dropped (or does nothing) before the loop goes.
  own_executor_.reset();
  loop_.reset();
  own_clock_.reset();
  fanout_->Shutdown(absl::UnavailableError("instance-terraform plugin stopping"));
}

std::string TerraformPlugin::FilePath(const std::string& id) const {
  return absl::StrCat(dir_, "/", TfFileName(id));
}

std::string TerraformPlugin::NextIdLocked() {
  last_id_number_ = std::max(last_id_number_ + 1, absl::ToUnixMicros(absl::Now()));
  return absl::StrCat(kIdPrefix, last_id_number_);
}

absl::Status TerraformPlugin::Load() {
  std::error_code ec;
  std::vector<std::string> ids;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string id = IdOfTfFileName(it->path().filename().string());
    if (!id.empty()) ids.push_back(id);
  }
  if (ec) return absl::InternalError(absl::StrCat("reading ", dir_, ": ", ec.message()));
  std::sort(ids.begin(), ids.end());
  // Read before taking the lock: no file I/O under it.
  std::vector<InstancePtr> loaded;
  for (const std::string& id : ids) {
    absl::StatusOr<std::string> text = common::ReadFile(FilePath(id));
    absl::StatusOr<v1::Description> record =
        text.ok() ? DecodeTfFile(*text) : absl::StatusOr<v1::Description>(text.status());
    absl::StatusOr<TerraformProperties> properties =
        record.ok() ? ParseTerraformProperties(record->spec().properties())
                    : absl::StatusOr<TerraformProperties>(record.status());
    if (!properties.ok() || record->id() != id) {
      LOG(WARNING) << "instance-terraform: " << FilePath(id)
                   << " is not an instance of this plugin; left alone ("
                   << (properties.ok() ? "its record is of another ID"
                                       : properties.status().ToString())
                   << ")";
      continue;
    }
    auto instance = std::make_shared<Instance>();
    instance->desc = *std::move(record);
    instance->type = properties->type;
    loaded.push_back(std::move(instance));
  }
  const bool had_state = fs::exists(absl::StrCat(dir_, "/terraform.tfstate"), ec);
  absl::MutexLock lock(&mu_);
  for (const std::string& id : ids) last_id_number_ = std::max(last_id_number_, IdNumber(id));
  for (const InstancePtr& instance : loaded) {
    instances_[instance->desc.id()] = instance;
    const std::string& key = instance->desc.spec().idempotency_key();
    if (!key.empty()) ids_by_key_[key] = instance->desc.id();
    UpdateLocked(instance);
  }
  LOG(INFO) << "instance-terraform: " << instances_.size() << " instance(s) re-adopted in " << dir_;
  // Files (or a state) from before: bring Terraform in line with them.
  if (!instances_.empty() || had_state) {
    loop_->Notify();
  }
  return absl::OkStatus();
}

void TerraformPlugin::UpdateLocked(const InstancePtr& instance, const v1::Description* previous) {
  if (instance->erased) return;
  const v1::Description before = previous != nullptr ? *previous : instance->desc;
  v1::Description& desc = instance->desc;
  const std::string address = ResourceAddress(instance->type, desc.id());
  if (!instance->has_file && !instance->in_state) {
    instance->erased = true;
    instances_.erase(desc.id());
    const std::string& key = desc.spec().idempotency_key();
    auto key_it = ids_by_key_.find(key);
    if (!key.empty() && key_it != ids_by_key_.end() && key_it->second == desc.id()) {
      ids_by_key_.erase(key_it);
    }
    fanout_->Publish(&before, nullptr);
    return;
  }
  if (!instance->has_file) {
    desc.set_state(v1::LIFECYCLE_STATE_TERMINATING);
  } else if (instance->in_state) {
    desc.set_state(v1::LIFECYCLE_STATE_RUNNING);
  } else {
    desc.set_state(instance->error.empty() ? v1::LIFECYCLE_STATE_PENDING
                                           : v1::LIFECYCLE_STATE_FAILED);
  }
  auto& properties = *desc.mutable_properties()->mutable_fields();
  properties.clear();
  properties["Address"].set_string_value(address);
  if (instance->has_file) properties["File"].set_string_value(FilePath(desc.id()));
  if (!instance->error.empty()) properties["Error"].set_string_value(instance->error);
  if (instance->in_state) *properties["Values"].mutable_struct_value() = instance->values;
  if (before.state() == v1::LIFECYCLE_STATE_UNSPECIFIED) {
    fanout_->Publish(nullptr, &desc);  // New.
  } else if (!google::protobuf::util::MessageDifferencer::Equals(before, desc)) {
    fanout_->Publish(&before, &desc);
  }
}

absl::StatusOr<CommandResult> TerraformPlugin::RunCommand(const std::vector<std::string>& args,
                                                          std::string* failure) {
  const std::string command = absl::StrCat("terraform ", absl::StrJoin(args, " "));
  if (stopping_) {
    *failure = absl::StrCat(command, ": not run, the plugin is stopping");
    return absl::CancelledError(*failure);
  }
  absl::StatusOr<CommandResult> result = options_.runner->Run(args);
  if (!result.ok()) {
    *failure = absl::StrCat(command, ": ", result.status().message());
  } else if (result->exit_code != 0) {
    const std::string& text = result->err.empty() ? result->out : result->err;
    *failure =
        absl::StrCat(command, " failed (exit status ", result->exit_code, "): ", Tail(text, 4096));
  }
  if (!failure->empty()) LOG(WARNING) << "instance-terraform: " << *failure;
  return result;
}

bool TerraformPlugin::Run() {
  std::set<std::string> attempted;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, instance] : instances_) {
      if (instance->has_file) attempted.insert(id);
    }
  }
  RunOutcome outcome;
  if (!initialized_) {
    RunCommand({"init", "-input=false", "-no-color"}, &outcome.failure).IgnoreError();
    initialized_ = outcome.failure.empty();
  }
  if (initialized_) {
    absl::StatusOr<CommandResult> apply =
        RunCommand({"apply", "-auto-approve", "-input=false", "-no-color"}, &outcome.failure);
    if (apply.ok() && apply->exit_code != 0) outcome.errors = ParseApplyErrors(apply->err);
    // Whatever the apply did, even when it failed half-way (others applied), the state says.
    std::string show_failure;
    absl::StatusOr<CommandResult> show = RunCommand({"show", "-json", "-no-color"}, &show_failure);
    if (show_failure.empty()) {
      absl::StatusOr<std::map<std::string, google::protobuf::Struct>> state =
          ParseShowJson(show->out);
      if (state.ok()) {
        outcome.state = *std::move(state);
      } else {
        show_failure = std::string(state.status().message());
        LOG(WARNING) << "instance-terraform: " << show_failure;
      }
    }
    if (outcome.failure.empty()) outcome.failure = show_failure;
  }
  outcome.ok = outcome.failure.empty();
  Reconcile(attempted, outcome);
  return outcome.ok;
}

void TerraformPlugin::Reconcile(const std::set<std::string>& attempted, const RunOutcome& outcome) {
  std::string unnamed;  // The text for instances that no diagnostic names.
  auto it = outcome.errors.find("");
  unnamed = it != outcome.errors.end() ? it->second : outcome.failure;
  absl::MutexLock lock(&mu_);
  std::vector<InstancePtr> all;
  for (const auto& [id, instance] : instances_) all.push_back(instance);
  for (const InstancePtr& instance : all) {
    const std::string address = ResourceAddress(instance->type, instance->desc.id());
    if (outcome.state.has_value()) {
      auto resource = outcome.state->find(address);
      instance->in_state = resource != outcome.state->end();
      instance->values = instance->in_state ? resource->second : google::protobuf::Struct();
    }
    if (attempted.count(instance->desc.id()) == 0) {
      // Provisioned during the run: the run that follows says.
    } else if (outcome.ok) {
      instance->error.clear();
    } else if (auto named = outcome.errors.find(address); named != outcome.errors.end()) {
      instance->error = named->second;
    } else if (instance->has_file != instance->in_state || !outcome.state.has_value()) {
      // Not where the run should have put it, and no diagnostic names it.
      instance->error = unnamed;
    } else {
      instance->error.clear();
    }
    UpdateLocked(instance);
  }
}

absl::Status TerraformPlugin::WriteFile(const v1::Description& record) {
  absl::StatusOr<std::string> text = EncodeTfFile(record);
  if (!text.ok()) return text.status();
  absl::Status written = common::WriteFileAtomically(FilePath(record.id()), *text, 0600);
  if (!written.ok()) return absl::InternalError(written.message());
  return written;
}

absl::Status TerraformPlugin::Validate(const v1::ValidateRequest& request) {
  return ParseTerraformProperties(request.properties()).status();
}

absl::StatusOr<v1::ProvisionResponse> TerraformPlugin::Provision(
    const v1::ProvisionRequest& request) {
  const v1::Spec& spec = request.spec();
  absl::StatusOr<TerraformProperties> properties = ParseTerraformProperties(spec.properties());
  if (!properties.ok()) return properties.status();
  for (const auto& [key, value] : spec.tags()) {
    if (key.empty()) return absl::InvalidArgumentError("spec.tags: empty tag key");
  }
  const std::string& key = spec.idempotency_key();
  v1::Description record;
  {
    absl::MutexLock lock(&mu_);
    if (!key.empty()) {
      auto settled = [this, &key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !pending_keys_.contains(key);
      };
      mu_.Await(absl::Condition(&settled));
      if (auto existing = ids_by_key_.find(key); existing != ids_by_key_.end()) {
        v1::ProvisionResponse response;
        response.set_id(existing->second);
        response.set_created(false);
        return response;
      }
      pending_keys_.insert(key);
    }
    record.set_id(NextIdLocked());
  }
  record.set_logical_id(spec.logical_id());
  *record.mutable_tags() = spec.tags();
  *record.mutable_spec() = spec;
  // Written before the instance is in the books: a run that sees the file meanwhile creates the
  // resource, and the next run (this Provision's) reports it.
  absl::Status written = WriteFile(record);
  absl::MutexLock lock(&mu_);
  if (!key.empty()) pending_keys_.erase(key);
  if (!written.ok()) return written;
  auto instance = std::make_shared<Instance>();
  instance->desc = record;
  instance->type = properties->type;
  instances_[record.id()] = instance;
  if (!key.empty()) ids_by_key_[key] = record.id();
  UpdateLocked(instance);
  loop_->Notify();
  LOG(INFO) << "instance-terraform: provisioned " << record.id() << " ("
            << ResourceAddress(properties->type, record.id()) << ")";
  v1::ProvisionResponse response;
  response.set_id(record.id());
  response.set_created(true);
  return response;
}

absl::Status TerraformPlugin::Destroy(const v1::DestroyRequest& request) {
  const std::string& id = request.id();
  InstancePtr instance;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end()) return absl::NotFoundError(absl::StrCat("no instance ", id));
    instance = it->second;
    if (!instance->has_file) return absl::OkStatus();  // Being destroyed.
  }
  absl::MutexLock io_lock(&instance->io_mu);
  {
    absl::MutexLock lock(&mu_);
    if (instance->erased || !instance->has_file) return absl::OkStatus();
  }
  if (unlink(FilePath(id).c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(
        absl::StrCat("destroying ", id, ": removing ", FilePath(id), ": ", std::strerror(errno)));
  }
  LOG(INFO) << "instance-terraform: destroying " << id << " ("
            << v1::DestroyReason_Name(request.reason()) << ")";
  absl::MutexLock lock(&mu_);
  instance->has_file = false;
  instance->error.clear();
  UpdateLocked(instance);
  loop_->Notify();
  return absl::OkStatus();
}

absl::StatusOr<v1::DescribeResponse> TerraformPlugin::Describe(const v1::DescribeRequest& request) {
  v1::DescribeResponse response;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, instance] : instances_) {
    if (!TagsMatch(request.tags(), instance->desc.tags())) continue;
    *response.add_instances() = View(instance->desc, request.include_properties());
  }
  return response;
}

absl::StatusOr<v1::LabelResponse> TerraformPlugin::Label(const v1::LabelRequest& request) {
  for (const auto& [key, value] : request.labels()) {
    if (key.empty()) return absl::InvalidArgumentError("labels: empty tag key");
  }
  const std::string& id = request.id();
  InstancePtr instance;
  {
    absl::MutexLock lock(&mu_);
    auto it = instances_.find(id);
    if (it == instances_.end() || !it->second->has_file) {
      return absl::NotFoundError(absl::StrCat("no instance ", id));
    }
    instance = it->second;
  }
  // Labels of one instance are written one at a time, and never after its file is removed.
  absl::MutexLock io_lock(&instance->io_mu);
  v1::Description record;
  std::string type;
  {
    absl::MutexLock lock(&mu_);
    if (instance->erased || !instance->has_file) {
      return absl::NotFoundError(absl::StrCat("no instance ", id));
    }
    record = instance->desc;
    type = instance->type;
  }
  bool changed = false;
  for (const auto& [key, value] : request.labels()) {
    auto it = record.tags().find(key);
    if (it != record.tags().end() && it->second == value) continue;
    (*record.mutable_tags())[key] = value;
    changed = true;
  }
  if (changed) {
    if (absl::Status written = WriteFile(record); !written.ok()) return written;
  }
  v1::LabelResponse response;
  absl::MutexLock lock(&mu_);
  if (changed) {
    const v1::Description before = instance->desc;
    *instance->desc.mutable_tags() = record.tags();
    UpdateLocked(instance, &before);
    if (CarriesTags(type)) loop_->Notify();
  }
  *response.mutable_instance() = View(instance->desc, /*include_properties=*/false);
  return response;
}

absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> TerraformPlugin::Watch(
    const v1::WatchRequest& request, spi::instance::WatchSink* sink) {
  absl::MutexLock lock(&mu_);
  std::vector<const v1::Description*> current;
  current.reserve(instances_.size());
  for (const auto& [id, instance] : instances_) current.push_back(&instance->desc);
  return fanout_->Subscribe(request, sink, current);
}

}  // namespace infrakit::plugins::instance::terraform
